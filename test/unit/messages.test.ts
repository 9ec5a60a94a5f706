/**
 * One file: apart from the short escapeMrkdwn section, every section builds src/slack/messages.ts
 * messages from the makeRequest/active fixtures and reads them with the buttons/blockTexts/expectValid
 * helpers below, so the escaping, per-state and Slack-limit cases check the same messages side by side.
 */
import { describe, expect, it } from 'vitest';
import { type AccessRequest, REQUEST_STATUSES } from '../../src/domain/request.js';
import { escapeMrkdwn, mention, truncate } from '../../src/slack/escape.js';
import { ACTION } from '../../src/slack/ids.js';
import { adminRequestMessage, markDryRun, plain, requestConfirmation, requesterMessage, type SlackMessage, statusReply } from '../../src/slack/messages.js';
import { validateBlocks } from '../support/fake-slack.js';

const ID = '01HZY3K4M5N6P7Q8R9S0T1V2W3';
const GRANT_ID = '01HZY2A4M5N6P7Q8R9S0T1V2W3';
const REQUESTER = 'U0EMPLOYEE';
const ADMIN_A = 'U0ADMINA';
const ADMIN_B = 'U0ADMINB';
const CREATED = '2025-10-01T09:00:00.000Z';
const DECIDED = '2025-10-01T10:00:00.000Z';
const EXPIRES = '2025-10-08T10:00:00.000Z';

function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: ID,
    status: 'PENDING',
    requesterId: REQUESTER,
    requesterTeamId: 'T0001',
    requesterEmail: 'employee@corp.com',
    iamUserName: 'employee',
    level: 'read-only',
    groupName: 'BillingReadOnly',
    durationDays: 7,
    justification: 'month-end close for October',
    createdAt: CREATED,
    approvals: [],
    approverIds: [],
    approvalsRequired: 1,
    dryRun: false,
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: ['Developers'], warnings: [] },
    version: 1,
    updatedAt: CREATED,
    ...overrides,
  };
}

function active(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return makeRequest({
    status: 'ACTIVE',
    approvals: [{ by: ADMIN_A, at: DECIDED }],
    approverIds: [ADMIN_A],
    decidedBy: ADMIN_A,
    decidedAt: DECIDED,
    expiresAt: EXPIRES,
    ...overrides,
  });
}

interface Button {
  type: 'button';
  text: { type: string; text: string };
  action_id: string;
  value?: string;
}

/** Every button in the message's blocks. */
function buttons(message: SlackMessage): Button[] {
  const out: Button[] = [];
  for (const block of message.blocks) {
    if (block.type === 'actions') for (const el of block.elements) if (el.type === 'button') out.push(el as unknown as Button);
    if (block.type === 'section' && block.accessory?.type === 'button') out.push(block.accessory as unknown as Button);
  }
  return out;
}

/** Every text string in the blocks (section text and fields, context elements, button labels). */
function blockTexts(message: SlackMessage): string[] {
  const out: string[] = [];
  const visit = (value: unknown, key?: string): void => {
    if (typeof value === 'string') {
      if (key === 'text') out.push(value);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(message.blocks);
  return out;
}

function blocksText(message: SlackMessage): string {
  return blockTexts(message).join('\n');
}

function expectValid(message: SlackMessage): void {
  expect(validateBlocks(message.blocks)).toBeNull();
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(40_000);
}

/** Any `&` that does not start one of the three entities escapeMrkdwn produces. */
const RAW_AMPERSAND = /&(?!amp;|lt;|gt;)/;

describe('escapeMrkdwn', () => {
  it('escapes &, < and >', () => {
    expect(escapeMrkdwn('<!channel> & <@U123> <https://evil.example|click>')).toBe('&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil.example|click&gt;');
  });

  it('escapes & first, so existing entities are shown, not interpreted', () => {
    expect(escapeMrkdwn('&lt;!here&gt;')).toBe('&amp;lt;!here&amp;gt;');
  });

  it('leaves ordinary text alone', () => {
    expect(escapeMrkdwn('month-end close for *October* _now_')).toBe('month-end close for *October* _now_');
  });

  it('truncate bounds a string and marks the cut', () => {
    expect(truncate('abcdef', 10)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 4)).toHaveLength(4);
    expect(mention('U1')).toBe('<@U1>');
  });
});

describe('adminRequestMessage escapes user text', () => {
  const hostile = 'ping <!channel> and <@U123> via <https://evil.example|click> & more';
  const escaped = 'ping &lt;!channel&gt; and &lt;@U123&gt; via &lt;https://evil.example|click&gt; &amp; more';

  it.each(['PENDING', 'ACTIVE', 'DENIED', 'FAILED'] as const)('shows the justification only escaped (%s)', (status) => {
    const message = adminRequestMessage(
      status === 'PENDING'
        ? makeRequest({ justification: hostile })
        : active({ status, justification: hostile, failure: { name: 'AccessDenied', message: 'no', at: DECIDED } }),
    );
    const json = JSON.stringify(message);
    expect(blocksText(message)).toContain(escaped);
    for (const raw of ['<!channel>', '<@U123>', '<https://evil.example', 'click>', '& more']) expect(json).not.toContain(raw);
    for (const text of blockTexts(message)) expect(text).not.toMatch(RAW_AMPERSAND);
    expectValid(message);
  });

  it('escapes a multi-line justification and keeps it quoted', () => {
    const message = adminRequestMessage(makeRequest({ justification: 'line one <!here>\nline two & three' }));
    expect(blocksText(message)).toContain('>line one &lt;!here&gt;\n>line two &amp; three');
    expectValid(message);
  });

  it('escapes IAM-derived text (user name, groups, warnings)', () => {
    const message = adminRequestMessage(
      makeRequest({
        iamUserName: 'a&b',
        iam: { mfa: 'missing', hasConsolePassword: false, currentGroups: ['G<1>'], warnings: ['not checked: <!everyone>'] },
      }),
    );
    const text = blocksText(message);
    expect(text).toContain('a&amp;b');
    expect(text).toContain('G&lt;1&gt;');
    expect(text).toContain('not checked: &lt;!everyone&gt;');
    expect(JSON.stringify(message)).not.toContain('<!everyone>');
    expectValid(message);
  });
});

describe('adminRequestMessage by state', () => {
  it('PENDING has exactly Approve and Deny buttons carrying the request id', () => {
    const message = adminRequestMessage(makeRequest());
    const found = buttons(message);
    expect(found.map((b) => b.text.text)).toEqual(['Approve', 'Deny']);
    for (const b of found) {
      expect(b.value).toBe(ID);
      expect(b.text.type).toBe('plain_text');
    }
    expect(found.map((b) => b.action_id)).toEqual([ACTION.approve, ACTION.deny]);
    expect(message.text).toContain(`<@${REQUESTER}>`);
    expect(message.text).toContain('read-only');
    expectValid(message);
  });

  it('PENDING shows who, the IAM user, level and group, duration, MFA and current groups', () => {
    const message = adminRequestMessage(makeRequest({ iam: { mfa: 'missing', hasConsolePassword: true, currentGroups: [], warnings: [] } }));
    const text = blocksText(message);
    expect(text).toContain(`<@${REQUESTER}>`);
    expect(text).toContain('`employee`');
    expect(text).toContain('read-only (`BillingReadOnly`)');
    expect(text).toContain('7 days');
    expect(text).toContain('no MFA device');
    expect(text).toContain(ID);
    expectValid(message);
  });

  it('ACTIVE says Approved by the admin in text and blocks, keeps the expiry, and has no Approve/Deny button', () => {
    const message = adminRequestMessage(active());
    expect(message.text).toContain(`Approved by <@${ADMIN_A}>`);
    expect(blocksText(message)).toContain(`Approved by <@${ADMIN_A}>`);
    expect(message.text).toContain(EXPIRES);
    expect(message.text).toContain(`<@${REQUESTER}>`);
    expect(message.text).toContain('read-only');
    const labels = buttons(message).map((b) => b.text.text);
    expect(labels).not.toContain('Approve');
    expect(labels).not.toContain('Deny');
    expectValid(message);
  });

  it('ACTIVE offers a Revoke button carrying the request id', () => {
    const found = buttons(adminRequestMessage(active()));
    expect(found.map((b) => b.text.text)).toEqual(['Revoke']);
    expect(found[0]?.value).toBe(ID);
  });

  it('DENIED says Denied by the admin with the escaped reason, in text and blocks, without buttons', () => {
    const reason = 'not needed <!here> & <@U999> for now';
    const message = adminRequestMessage(makeRequest({ status: 'DENIED', decidedBy: ADMIN_B, decidedAt: DECIDED, denyReason: reason }));
    const escapedReason = 'not needed &lt;!here&gt; &amp; &lt;@U999&gt; for now';
    expect(message.text).toContain(`Denied by <@${ADMIN_B}>`);
    expect(message.text).toContain(escapedReason);
    expect(blocksText(message)).toContain(`Denied by <@${ADMIN_B}>`);
    expect(blocksText(message)).toContain(escapedReason);
    expect(JSON.stringify(message)).not.toContain('<!here>');
    expect(JSON.stringify(message)).not.toContain('<@U999>');
    expect(message.text).not.toMatch(RAW_AMPERSAND);
    expect(buttons(message)).toEqual([]);
    expectValid(message);
  });

  it('DENIED without a reason still says who denied', () => {
    const message = adminRequestMessage(makeRequest({ status: 'DENIED', decidedBy: ADMIN_B, decidedAt: DECIDED }));
    expect(message.text).toContain(`Denied by <@${ADMIN_B}>`);
    expect(blocksText(message)).toContain(`Denied by <@${ADMIN_B}>`);
    expectValid(message);
  });

  it('lists every approver, in order, when a level needs more than one', () => {
    const two = active({
      approvalsRequired: 2,
      approvals: [
        { by: ADMIN_B, at: DECIDED },
        { by: ADMIN_A, at: EXPIRES },
      ],
      approverIds: [ADMIN_B, ADMIN_A],
      decidedBy: ADMIN_A,
    });
    const message = adminRequestMessage(two);
    expect(message.text).toContain(`Approved by <@${ADMIN_B}>, <@${ADMIN_A}>`);
    expect(blocksText(message)).toContain(`Approved by <@${ADMIN_B}>, <@${ADMIN_A}>`);
    expectValid(message);
  });

  it('shows a partial approval while the request is still pending', () => {
    const message = adminRequestMessage(makeRequest({ approvalsRequired: 2, approvals: [{ by: ADMIN_A, at: DECIDED }], approverIds: [ADMIN_A] }));
    expect(blocksText(message)).toContain(`1 of 2 approvals (<@${ADMIN_A}>)`);
    expect(buttons(message).map((b) => b.text.text)).toEqual(['Approve', 'Deny']);
    expectValid(message);
  });

  it('says "extension" for an extension request, in text and blocks', () => {
    const message = adminRequestMessage(makeRequest({ extendsRequestId: GRANT_ID }), { extension: { currentExpiresAt: EXPIRES } });
    expect(message.text).toContain('extension');
    expect(blocksText(message)).toContain('extension');
    expect(blocksText(message)).toContain(GRANT_ID);
    expectValid(message);
  });

  it('an ordinary request does not say extension', () => {
    const message = adminRequestMessage(makeRequest());
    expect(message.text).not.toContain('extension');
    expect(blocksText(message)).not.toContain('extension');
  });

  it('FAILED shows a Retry button and the error name', () => {
    const message = adminRequestMessage(
      active({
        status: 'FAILED',
        expiresAt: undefined,
        failure: { name: 'AccessDenied', message: 'User is not authorized to perform iam:AddUserToGroup', at: DECIDED },
      }),
    );
    const found = buttons(message);
    expect(found.map((b) => b.text.text)).toEqual(['Retry']);
    expect(found[0]?.value).toBe(ID);
    expect(found[0]?.action_id).toBe(ACTION.retry);
    expect(message.text).toContain('AccessDenied');
    expect(blocksText(message)).toContain('AccessDenied');
    expect(blocksText(message)).toContain('iam:AddUserToGroup');
    expect(message.text).toContain(`Approved by <@${ADMIN_A}>`);
    expectValid(message);
  });

  it.each(REQUEST_STATUSES)('builds a valid message for %s', (status) => {
    const message = adminRequestMessage(
      active({ status, endedBy: ADMIN_B, endedAt: EXPIRES, denyReason: 'no', failure: { name: 'Throttling', message: 'Rate exceeded', at: DECIDED } }),
    );
    expectValid(message);
    const labels = buttons(message).map((b) => b.text.text);
    if (status !== 'PENDING') expect(labels).not.toContain('Approve');
  });
});

describe('markDryRun', () => {
  it('puts [dry-run] in the fallback text and the first block', () => {
    const message = markDryRun(adminRequestMessage(active({ dryRun: true })), true);
    expect(message.text).toContain('[dry-run]');
    const first = message.blocks[0];
    expect(first).toBeDefined();
    expect(JSON.stringify(first)).toContain('[dry-run]');
    expect(message.text).toContain(`Approved by <@${ADMIN_A}>`);
    expectValid(message);
  });

  it('changes nothing outside dry-run', () => {
    const original = adminRequestMessage(active());
    expect(markDryRun(original, false)).toEqual(original);
    expect(original.text).not.toContain('[dry-run]');
  });

  it('marks plain messages too', () => {
    const message = markDryRun(plain('hello'), true);
    expect(message.text).toBe('[dry-run] hello');
    expect(JSON.stringify(message.blocks[0])).toContain('[dry-run]');
    expectValid(message);
  });
});

describe('messages stay within Slack limits at the bounds', () => {
  const ampersands = '&'.repeat(500);

  it('a 500-character justification of & (5x after escaping) is still valid and complete', () => {
    const request = makeRequest({ justification: ampersands });
    for (const message of [adminRequestMessage(request), adminRequestMessage(active({ justification: ampersands }))]) {
      expect(validateBlocks(message.blocks)).toBeNull();
      expect(blocksText(message)).toContain('&amp;'.repeat(500));
      for (const text of blockTexts(message)) expect(text).not.toMatch(RAW_AMPERSAND);
    }
  });

  it('a 500-character justification of < is still valid', () => {
    const message = adminRequestMessage(makeRequest({ justification: '<'.repeat(500) }));
    expect(validateBlocks(message.blocks)).toBeNull();
    expect(JSON.stringify(message)).not.toContain('<<');
  });

  it('a 500-character deny reason of & is still valid, in admin and requester messages', () => {
    const denied = makeRequest({ status: 'DENIED', decidedBy: ADMIN_B, decidedAt: DECIDED, denyReason: ampersands, justification: ampersands });
    const admin = adminRequestMessage(denied);
    expectValid(admin);
    expect(admin.text).not.toMatch(RAW_AMPERSAND);
    for (const text of blockTexts(admin)) expect(text).not.toMatch(RAW_AMPERSAND);
    const dm = requesterMessage(denied);
    expectValid(dm);
    for (const text of blockTexts(dm)) expect(text).not.toMatch(RAW_AMPERSAND);
  });

  it('a long IAM failure message, warnings and a dry-run mark are still valid', () => {
    const failed = active({
      status: 'FAILED',
      justification: ampersands,
      failure: { name: 'AccessDenied', message: '<&>'.repeat(333), at: DECIDED },
      iam: { mfa: 'not-checked', hasConsolePassword: null, currentGroups: null, warnings: Array.from({ length: 20 }, () => '&'.repeat(100)) },
    });
    const message = markDryRun(adminRequestMessage(failed, { extension: { currentExpiresAt: EXPIRES } }), true);
    expectValid(message);
  });

  it('a maximal extension request with many approvers is still valid', () => {
    const approvals = Array.from({ length: 5 }, (_, i) => ({ by: `U0ADMIN${i}`, at: DECIDED }));
    const request = active({
      extendsRequestId: GRANT_ID,
      justification: ampersands,
      approvals,
      approverIds: approvals.map((a) => a.by),
      approvalsRequired: 5,
      iam: { mfa: 'present', hasConsolePassword: true, currentGroups: Array.from({ length: 300 }, (_, i) => `Group-${i}-with-a-long-name`), warnings: [] },
    });
    expectValid(markDryRun(adminRequestMessage(request, { extension: { currentExpiresAt: EXPIRES } }), true));
  });
});

describe('requester messages', () => {
  it.each(REQUEST_STATUSES)('builds a valid DM for %s', (status) => {
    const message = requesterMessage(
      active({ status, endedBy: ADMIN_B, endedAt: EXPIRES, denyReason: 'not now', failure: { name: 'AccessDenied', message: 'x', at: DECIDED } }),
    );
    expectValid(message);
    expect(blocksText(message)).toContain(ID);
  });

  it('ACTIVE names the approver, the expiry and the console steps', () => {
    const message = requesterMessage(active());
    expect(message.text).toContain(`<@${ADMIN_A}>`);
    expect(message.text).toContain(EXPIRES);
    expect(blocksText(message)).toContain('BillingReadOnly');
    expect(blocksText(message)).toContain('IAM user and role access to Billing information');
  });

  it('DENIED escapes the reason', () => {
    const message = requesterMessage(makeRequest({ status: 'DENIED', decidedBy: ADMIN_B, denyReason: 'nope <!channel>' }));
    expect(message.text).toContain('nope &lt;!channel&gt;');
    expect(JSON.stringify(message)).not.toContain('<!channel>');
  });

  it('the confirmation and status reply carry the id and escape IAM text', () => {
    const request = makeRequest({
      iamUserName: 'a<b',
      iam: { mfa: 'present', hasConsolePassword: false, currentGroups: [], warnings: ['no console <password>'] },
    });
    const confirmation = requestConfirmation(request);
    expect(confirmation).toContain(ID);
    expect(confirmation).toContain('a&lt;b');
    expect(confirmation).toContain('no console &lt;password&gt;');
    expect(requestConfirmation(request, { currentExpiresAt: EXPIRES })).toContain('Extension');
    expect(statusReply([request, active({ id: GRANT_ID })])).toContain(GRANT_ID);
    expect(statusReply([])).toContain('no billing access requests');
  });
});
