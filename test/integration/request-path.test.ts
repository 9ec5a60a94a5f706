import { AddUserToGroupCommand, CreateGroupCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { FIELD, VIEW } from '../../src/slack/ids.js';
import { type Harness, PEOPLE } from '../support/harness.js';
import { buttonLabels, commandAnswers, messageContent, responseBodies, useHarness, waitForAnswer } from '../support/scenario-helpers.js';

const employee = PEOPLE.employee.id;

/** Nothing stored for the employee's IAM user, and no admin message posted. */
async function expectNothingStored(h: Harness, userId = employee, iamUserName = 'jane.doe') {
  await h.idle();
  expect(await h.requestsOf(userId)).toEqual([]);
  expect(await h.bot.deps.store.listByIamUser(iamUserName)).toEqual([]);
  expect(h.adminMessages()).toEqual([]);
  expect(h.slack.calls('chat.postMessage')).toEqual([]);
}

describe('request path', () => {
  const harness = useHarness();

  it('a text request posts one admin message with everything an admin needs, and confirms ephemerally with the id', async () => {
    const h = harness();
    const res = await h.command(employee, 'read-only 7d month-end close for October');
    expect(res.status).toBe(200);
    await h.slack.waitFor(() => h.adminMessages().length === 1 && h.replies(res.key).length > 0);
    await h.idle();

    const [request] = await h.requestsOf(employee);
    expect(request).toBeDefined();
    if (!request) return;
    expect(request.status).toBe('PENDING');
    expect(request.level).toBe('read-only');
    expect(request.groupName).toBe('BillingReadOnly');
    expect(request.durationDays).toBe(7);
    expect(request.justification).toBe('month-end close for October');

    const messages = h.adminMessages();
    expect(messages).toHaveLength(1);
    const posted = messages[0];
    const content = messageContent(posted);
    expect(content).toContain(`<@${employee}>`);
    expect(content).toContain('jane.doe');
    expect(content).toContain('read-only');
    expect(content).toContain('BillingReadOnly');
    expect(content).toMatch(/7 days/);
    expect(content).toContain('month-end close for October');
    expect(content).toMatch(/MFA device present/);
    expect(JSON.stringify(posted?.blocks)).toMatch(/Current IAM groups\*\\nnone/);
    expect(content).toContain(request.id);
    expect(buttonLabels(posted)).toEqual(['Approve', 'Deny']);
    expect(posted?.text).toContain(`<@${employee}>`);
    expect(posted?.text).toContain('read-only');

    const bodies = responseBodies(h, res.key);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.response_type).toBe('ephemeral');
    expect(String(bodies[0]?.text)).toContain(request.id);
    // The admin message went to the admin channel only: nothing about it in the general channel.
    expect(h.slack.messages('C0GENERAL')).toEqual([]);
  });

  it('shows the current IAM groups of the requester on the admin message', async () => {
    const h = harness();
    await h.iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingFull' }));
    await h.requestByText(employee, 'read-only 7d month-end close for October');
    expect(JSON.stringify(h.adminMessages()[0]?.blocks)).toMatch(/Current IAM groups\*\\n`BillingFull`/);
  });

  it('/request-billing with no text opens the modal with the first level preselected; submitting it stores a PENDING request and DMs a confirmation', async () => {
    const h = harness();
    const res = await h.command(employee, '');
    expect(res.status).toBe(200);
    await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
    const [call] = h.slack.calls('views.open');
    expect(call?.ok).toBe(true);
    const [opened] = h.slack.openedViews();
    const view = opened?.view as {
      callback_id?: string;
      blocks?: { block_id?: string; element?: { initial_option?: { value?: string }; options?: { value: string }[] } }[];
    };
    expect(view.callback_id).toBe(VIEW.request);
    const levelBlock = view.blocks?.find((b) => b.block_id === FIELD.level.block);
    expect(levelBlock?.element?.options?.map((o) => o.value)).toEqual(['read-only', 'full']);
    expect(levelBlock?.element?.initial_option?.value).toBe('read-only');
    expect(await h.requestsOf(employee)).toEqual([]);

    const submit = await h.submitRequestModal(employee, { level: 'read-only', duration: '7', justification: 'quarterly cost review for the platform team' });
    expect(submit.status).toBe(200);
    expect(submit.json === undefined || (submit.json as { response_action?: string }).response_action === undefined).toBe(true);

    const dm = await h.slack.waitFor(() => h.dms(employee)[0]);
    await h.idle();
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    expect(request?.level).toBe('read-only');
    expect(request?.durationDays).toBe(7);
    expect(request?.justification).toBe('quarterly cost review for the platform team');
    expect(dm.text).toContain(request?.id ?? 'missing');
    expect(h.adminMessages()).toHaveLength(1);
  });

  it('a modal submission with a 5-character justification answers with errors on the justification field and stores nothing', async () => {
    const h = harness();
    const res = await h.submitRequestModal(employee, { level: 'read-only', duration: '7', justification: 'short' });
    expect(res.status).toBe(200);
    const body = res.json as { response_action?: string; errors?: Record<string, string> };
    expect(body.response_action).toBe('errors');
    expect(Object.keys(body.errors ?? {})).toEqual([FIELD.justification.block]);
    expect(body.errors?.[FIELD.justification.block]).toMatch(/at least 10 characters/);
    await expectNothingStored(h);
    expect(h.dms(employee)).toEqual([]);
  });

  it('an unknown level is refused with a clear ephemeral naming the levels, and nothing is stored', async () => {
    const h = harness();
    const res = await h.command(employee, 'bogus 7d some justification here');
    expect(res.status).toBe(200);
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain('bogus');
    expect(answer).toMatch(/Unknown access level/);
    expect(answer).toContain('read-only');
    expect(answer).toContain('full');
    const ephemeral = (res.json as { response_type?: string } | undefined)?.response_type ?? responseBodies(h, res.key)[0]?.response_type;
    expect(ephemeral).toBe('ephemeral');
    await expectNothingStored(h);
  });

  it('a 501-character justification is refused with the limit, and nothing is stored', async () => {
    const h = harness();
    const res = await h.command(employee, `read-only 7d ${'x'.repeat(501)}`);
    expect(res.status).toBe(200);
    const answer = await waitForAnswer(h, res);
    expect(answer).toMatch(/501/);
    expect(answer).toMatch(/500/);
    await expectNothingStored(h);
  });

  it('a second pending request for the same level is refused and leaves the first alone', async () => {
    const h = harness();
    const first = await h.requestByText(employee, 'read-only 7d month-end close for October');
    const res = await h.command(employee, 'read-only 30d another reason for the same level');
    const answer = await waitForAnswer(h, res);
    expect(answer).toMatch(/already have a pending read-only request/);
    expect(answer).toContain(first.id);
    await h.idle();
    const mine = await h.requestsOf(employee);
    expect(mine.map((r) => r.id)).toEqual([first.id]);
    expect(h.adminMessages()).toHaveLength(1);
    expect((await h.bot.deps.store.get(first.id))?.status).toBe('PENDING');
  });

  it("status lists the caller's requests", async () => {
    const h = harness();
    const readOnly = await h.requestByText(employee, 'read-only 7d month-end close for October');
    const full = await h.requestByText(employee, 'full 1d update the payment method');
    const res = await h.command(employee, 'status');
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain(readOnly.id);
    expect(answer).toContain(full.id);
    expect(answer).toContain('PENDING');
    expect(answer).toContain('read-only');
    expect(answer).toContain('full');
  });

  it('status with no requests says so', async () => {
    const h = harness();
    const res = await h.command(employee, 'status');
    const answer = await waitForAnswer(h, res);
    expect(answer).toMatch(/no billing access requests/);
  });

  it("cancel <id> cancels one's own pending request and updates the admin message", async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');
    const res = await h.command(employee, `cancel ${request.id}`);
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain(request.id);
    expect(answer).toMatch(/cancelled/);
    const cancelled = await h.waitForStatus(request.id, 'CANCELLED');
    expect(cancelled.decidedBy).toBe(employee);
    await h.slack.waitFor(() => h.slack.calls('chat.update').length > 0);
    await h.idle();
    const updated = h.adminMessages()[0];
    expect(h.adminMessages()).toHaveLength(1);
    expect(messageContent(updated)).toMatch(/Cancelled by the requester/);
    expect(updated?.text).toMatch(/Cancelled/);
    expect(buttonLabels(updated)).toEqual([]);
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'CANCELLED']);

    // With the pending request gone, the same level may be requested again.
    const again = await h.requestByText(employee, 'read-only 7d month-end close for October');
    expect(again.id).not.toBe(request.id);
  });

  it('help answers with the usage', async () => {
    const h = harness();
    const res = await h.command(employee, 'help');
    expect(res.status).toBe(200);
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain('/request-billing');
    expect(answer).toContain('read-only');
    expect(answer).toContain('full');
    expect(answer).toMatch(/status/);
    expect(answer).toMatch(/cancel/);
    expect(answer).toMatch(/IAM user and role access to Billing information/);
    expect(commandAnswers(h, res)).toHaveLength(1);
    await h.idle();
    expect(await h.requestsOf(employee)).toEqual([]);
  });
  it('answers help in the ack with no Slack Web API call on the ack path', async () => {
    const h = harness();
    const before = h.slack.calls().length;
    const res = await h.command(employee, 'help');
    expect(res.status).toBe(200);
    expect(commandAnswers(h, res)).toHaveLength(1);
    await h.idle();
    // `help` is answered entirely in the ack: the bot needs nothing from Slack for it.
    expect(
      h.slack
        .calls()
        .slice(before)
        .map((c) => c.method),
    ).toEqual([]);
  });
});

describe('request path: requester without MFA, REQUIRE_MFA=block (default)', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe', mfa: false }] });

  it('REQUIRE_MFA=block: a requester without an MFA device is refused with how to add one, and nothing is stored', async () => {
    const h = harness();
    const res = await h.command(employee, 'read-only 7d month-end close for October');
    const answer = await waitForAnswer(h, res);
    expect(answer).toMatch(/no MFA device/);
    expect(answer).toMatch(/Assign MFA device/);
    expect(answer).toContain('jane.doe');
    await expectNothingStored(h);
  });
});

describe('request path: requester without MFA, REQUIRE_MFA=warn', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe', mfa: false }], env: { REQUIRE_MFA: 'warn' } });

  it('REQUIRE_MFA=warn: the request is stored and the admin message carries the missing-MFA warning', async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');
    expect(request.status).toBe('PENDING');
    expect(request.iam.mfa).toBe('missing');
    const content = messageContent(h.adminMessages()[0]);
    expect(content).toMatch(/no MFA device/);
    expect(content).toMatch(/:warning:/);
    expect(buttonLabels(h.adminMessages()[0])).toEqual(['Approve', 'Deny']);
  });
});

describe("request path: requester at the account's groups-per-user limit", () => {
  const harness = useHarness();

  it('a requester already in as many groups as IAM allows a user (10 on moto, read with GetAccountSummary) is refused, and nothing is stored', async () => {
    const h = harness();
    for (let i = 1; i <= 10; i += 1) {
      await h.iam.send(new CreateGroupCommand({ GroupName: `team-${i}` }));
      await h.iam.send(new AddUserToGroupCommand({ GroupName: `team-${i}`, UserName: 'jane.doe' }));
    }
    const res = await h.command(employee, 'read-only 7d month-end close for October');
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain('jane.doe');
    expect(answer).toMatch(/already in 10 groups, the account's limit per user \(10\)/);
    await expectNothingStored(h);
  });
});

describe('request path: no IAM user for the requester', () => {
  const harness = useHarness({ users: [] });

  it('a missing IAM user is refused naming the IAM user, and nothing is stored', async () => {
    const h = harness();
    const res = await h.command(employee, 'read-only 7d month-end close for October');
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain('jane.doe');
    expect(answer).toMatch(/no IAM user/i);
    await expectNothingStored(h);
  });
});

describe('request path: cancel by someone else', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe' }, { name: 'mallory' }] });

  it("cancel of someone else's request is refused and changes nothing", async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');
    const res = await h.command(PEOPLE.outsider.id, `cancel ${request.id}`);
    const answer = await waitForAnswer(h, res);
    expect(answer).toContain(request.id);
    await h.idle();
    expect((await h.bot.deps.store.get(request.id))?.status).toBe('PENDING');
    expect(h.slack.calls('chat.update')).toEqual([]);
  });
});
