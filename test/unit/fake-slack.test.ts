import { createHmac } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBlockAction, buildCommand, buildViewSubmission } from '../../testkit/slack-payloads.js';
import { signSlackRequest } from '../../testkit/slack-signing.js';
import { FakeSlack, validateBlocks, validateView } from '../support/fake-slack.js';

const TOKEN = 'xoxb-test-token';

let fake: FakeSlack;

async function call(method: string, args: Record<string, unknown>, token: string | null = TOKEN) {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    form.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${fake.apiUrl}${method}`, { method: 'POST', headers, body: form.toString() });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown> & { ok: boolean; error?: string };
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

beforeAll(async () => {
  fake = await FakeSlack.start({
    botToken: TOKEN,
    channels: [
      { id: 'C0GENERAL', name: 'general' },
      { id: 'C0ADMINS', name: 'billing-admins', members: ['U0ADMIN', 'UBOT'] },
    ],
    users: [
      { id: 'U0EMPLOYEE', name: 'employee', email: 'employee@example.com' },
      { id: 'U0ADMIN', name: 'admin', realName: 'Ada Admin' },
    ],
    usergroups: { S0ADMINS: ['U0ADMIN'] },
  });
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => {
  fake.reset();
});

describe('FakeSlack Web API', () => {
  it('serves the API under /api/', () => {
    expect(fake.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('refuses a message with 51 blocks as invalid_blocks', async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => section(`line ${i}`));
    const res = await call('chat.postMessage', { channel: 'C0GENERAL', text: 'hi', blocks });
    expect(res).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(fake.messages()).toHaveLength(0);
    expect(fake.calls('chat.postMessage')).toMatchObject([{ ok: false, error: 'invalid_blocks' }]);
  });

  it('accepts exactly 50 blocks', async () => {
    const blocks = Array.from({ length: 50 }, (_, i) => section(`line ${i}`));
    const res = await call('chat.postMessage', { channel: 'C0GENERAL', text: 'hi', blocks });
    expect(res.ok).toBe(true);
  });

  it('refuses a message without text or blocks', async () => {
    const res = await call('chat.postMessage', { channel: 'C0GENERAL' });
    expect(res).toMatchObject({ ok: false, error: 'no_text' });
  });

  it('refuses an unknown channel', async () => {
    const res = await call('chat.postMessage', { channel: 'C0NOPE', text: 'hi' });
    expect(res).toMatchObject({ ok: false, error: 'channel_not_found' });
  });

  it('refuses a missing or wrong token', async () => {
    expect(await call('auth.test', {}, null)).toMatchObject({ ok: false, error: 'not_authed' });
    expect(await call('auth.test', {}, 'xoxb-wrong')).toMatchObject({ ok: false, error: 'invalid_auth' });
    expect(await call('chat.postMessage', { channel: 'C0GENERAL', text: 'hi' }, 'xoxb-wrong')).toMatchObject({
      ok: false,
      error: 'invalid_auth',
    });
    expect(fake.messages()).toHaveLength(0);
    expect(fake.calls().map((c) => c.error)).toEqual(['not_authed', 'invalid_auth', 'invalid_auth']);
  });

  it('answers auth.test with the bot identity', async () => {
    const res = await call('auth.test', {});
    expect(res).toMatchObject({ ok: true, team_id: 'T0001', user_id: 'UBOT' });
    expect(typeof res.bot_id).toBe('string');
  });

  it('replaces a message on chat.update and marks it edited', async () => {
    const posted = await call('chat.postMessage', {
      channel: 'C0GENERAL',
      text: 'pending',
      blocks: [section('pending')],
    });
    expect(posted.ok).toBe(true);
    const ts = posted.ts as string;
    const updated = await call('chat.update', {
      channel: 'C0GENERAL',
      ts,
      text: 'approved',
      blocks: [section('approved')],
    });
    expect(updated).toMatchObject({ ok: true, channel: 'C0GENERAL', ts });
    expect(fake.messages('C0GENERAL')).toEqual([{ channel: 'C0GENERAL', ts, text: 'approved', blocks: [section('approved')], user: 'UBOT', edited: true }]);
  });

  it('refuses chat.update of an unknown ts', async () => {
    const res = await call('chat.update', { channel: 'C0GENERAL', ts: '1.000001', text: 'x' });
    expect(res).toMatchObject({ ok: false, error: 'message_not_found' });
  });

  it('stores a DM to a user id under D<user>', async () => {
    const res = await call('chat.postMessage', { channel: 'U0EMPLOYEE', text: 'your access was granted' });
    expect(res).toMatchObject({ ok: true, channel: 'DU0EMPLOYEE' });
    expect(fake.messages('DU0EMPLOYEE')).toMatchObject([{ text: 'your access was granted' }]);
    expect(await call('conversations.open', { users: 'U0EMPLOYEE' })).toMatchObject({
      ok: true,
      channel: { id: 'DU0EMPLOYEE' },
    });
  });

  it('issues unique increasing ts values and checks thread_ts', async () => {
    const a = await call('chat.postMessage', { channel: 'C0GENERAL', text: 'a' });
    const b = await call('chat.postMessage', { channel: 'C0GENERAL', text: 'b', thread_ts: a.ts });
    expect(b.ok).toBe(true);
    expect(Number(b.ts)).toBeGreaterThan(Number(a.ts));
    expect(a.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(await call('chat.postMessage', { channel: 'C0GENERAL', text: 'c', thread_ts: '1.000009' })).toMatchObject({
      ok: false,
      error: 'thread_not_found',
    });
  });

  it('enforces channel membership for ephemeral messages', async () => {
    expect(await call('chat.postEphemeral', { channel: 'C0ADMINS', user: 'U0EMPLOYEE', text: 'x' })).toMatchObject({
      ok: false,
      error: 'user_not_in_channel',
    });
    const res = await call('chat.postEphemeral', { channel: 'C0ADMINS', user: 'U0ADMIN', text: 'only you' });
    expect(res.ok).toBe(true);
    expect(fake.messages('C0ADMINS')).toMatchObject([{ text: 'only you', ephemeralTo: 'U0ADMIN', ts: res.message_ts }]);
  });

  it('opens and updates modals, validating them', async () => {
    const view = {
      type: 'modal',
      callback_id: 'req',
      title: { type: 'plain_text', text: 'Request access' },
      blocks: [],
    };
    const opened = await call('views.open', { trigger_id: '1.2.abc', view });
    expect(opened.ok).toBe(true);
    const viewId = (opened.view as { id: string }).id;
    expect(fake.openedViews()).toEqual([{ triggerId: '1.2.abc', view, viewId }]);

    const tooLong = { ...view, title: { type: 'plain_text', text: 'x'.repeat(25) } };
    expect(await call('views.open', { trigger_id: '1.2.def', view: tooLong })).toMatchObject({ ok: false });
    expect(await call('views.update', { view_id: 'V_NOPE', view })).toMatchObject({ ok: false, error: 'not_found' });
    const updated = await call('views.update', { view_id: viewId, view: { ...view, callback_id: 'req2' } });
    expect(updated.ok).toBe(true);
    expect(fake.openedViews()[0]?.view.callback_id).toBe('req2');
  });

  it('answers users.info, usergroups.users.list and conversations.info', async () => {
    expect(await call('users.info', { user: 'U0ADMIN' })).toMatchObject({
      ok: true,
      user: { id: 'U0ADMIN', real_name: 'Ada Admin', is_restricted: false, profile: { real_name: 'Ada Admin' } },
    });
    expect(await call('users.info', { user: 'U0NOPE' })).toMatchObject({ ok: false, error: 'user_not_found' });
    expect(await call('usergroups.users.list', { usergroup: 'S0ADMINS' })).toMatchObject({
      ok: true,
      users: ['U0ADMIN'],
    });
    expect(await call('usergroups.users.list', { usergroup: 'S0NOPE' })).toMatchObject({ error: 'no_such_subteam' });
    expect(await call('conversations.info', { channel: 'C0ADMINS' })).toMatchObject({ channel: { is_member: true } });
    expect(await call('conversations.info', { channel: 'C0GENERAL' })).toMatchObject({ channel: { is_member: true } });
    expect(await call('does.not.exist', {})).toMatchObject({ ok: false, error: 'unknown_method' });
  });

  it('forces failures with setFailure until cleared', async () => {
    fake.setFailure('chat.postMessage', 'ratelimited');
    expect(await call('chat.postMessage', { channel: 'C0GENERAL', text: 'x' })).toMatchObject({ error: 'ratelimited' });
    fake.setFailure('chat.postMessage', null);
    expect((await call('chat.postMessage', { channel: 'C0GENERAL', text: 'x' })).ok).toBe(true);
  });

  it('records JSON bodies posted to a response_url', async () => {
    const res = await fetch(fake.responseUrl('cmd-1'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'done' }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(fake.responses('cmd-1')).toEqual([{ key: 'cmd-1', body: { replace_original: true, text: 'done' } }]);
  });

  it('waitFor resolves once the probe is satisfied and rejects clearly on timeout', async () => {
    setTimeout(() => void call('chat.postMessage', { channel: 'C0GENERAL', text: 'later' }), 50);
    const message = await fake.waitFor(() => fake.messages('C0GENERAL').find((m) => m.text === 'later'));
    expect(message.text).toBe('later');
    await expect(fake.waitFor(() => false, 100)).rejects.toThrow(/within 100ms/);
  });
});

describe('WebClient against the fake', () => {
  it('posts a message with blocks through @slack/web-api', async () => {
    const client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Billing access request' } },
      section('*employee* asks for 4h'),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'approve',
            text: { type: 'plain_text', text: 'Approve' },
            style: 'primary',
            value: 'r1',
          },
          {
            type: 'button',
            action_id: 'deny',
            text: { type: 'plain_text', text: 'Deny' },
            style: 'danger',
            value: 'r1',
          },
        ],
      },
    ];
    const res = await client.chat.postMessage({ channel: 'C0ADMINS', text: 'Billing access request', blocks });
    expect(res.ok).toBe(true);
    expect(fake.messages('C0ADMINS')).toMatchObject([{ ts: res.ts, text: 'Billing access request', blocks }]);
    expect(fake.calls('chat.postMessage')[0]?.args).toMatchObject({ channel: 'C0ADMINS', blocks });
    expect(fake.calls('chat.postMessage')[0]?.args).not.toHaveProperty('token');
  });

  it('surfaces platform errors as WebAPIPlatformError', async () => {
    const client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
      data: { ok: false, error: 'channel_not_found' },
    });
  });
});

describe('validateBlocks', () => {
  it('accepts an empty list and ordinary blocks', () => {
    expect(validateBlocks([])).toBeNull();
    expect(validateBlocks([{ type: 'divider' }, section('x'), { type: 'context', elements: [{ type: 'mrkdwn', text: 'y' }] }])).toBeNull();
  });

  it.each([
    ['section text over 3000', [section('x'.repeat(3001))]],
    ['empty section text', [section('')]],
    ['11 fields', [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }]],
    ['field over 2000', [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }]],
    ['header over 150', [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }]],
    ['mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }]],
    [
      '26 actions',
      [
        {
          type: 'actions',
          elements: Array.from({ length: 26 }, (_, i) => ({
            type: 'button',
            action_id: `a${i}`,
            text: { type: 'plain_text', text: 'b' },
          })),
        },
      ],
    ],
    ['11 context elements', [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }]],
    ['button text over 75', [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'b'.repeat(76) } }] }]],
    [
      'action_id over 255',
      [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'a'.repeat(256), text: { type: 'plain_text', text: 'b' } }],
        },
      ],
    ],
    [
      'value over 2000',
      [
        {
          type: 'actions',
          elements: [{ type: 'button', value: 'v'.repeat(2001), text: { type: 'plain_text', text: 'b' } }],
        },
      ],
    ],
    ['block_id over 255', [{ type: 'divider', block_id: 'b'.repeat(256) }]],
    [
      'duplicate block_id',
      [
        { type: 'divider', block_id: 'x' },
        { type: 'divider', block_id: 'x' },
      ],
    ],
    ['unknown block type', [{ type: 'table' }]],
    ['not an array', { type: 'divider' }],
  ])('rejects %s', (_name, blocks) => {
    expect(validateBlocks(blocks)).toMatch(/json-pointer/);
  });

  it('validates modals', () => {
    const modal = { type: 'modal', title: { type: 'plain_text', text: 'Request' }, blocks: [] };
    expect(validateView(modal)).toBeNull();
    expect(validateView({ ...modal, submit: { type: 'plain_text', text: 's'.repeat(25) } })).not.toBeNull();
    expect(validateView({ ...modal, private_metadata: 'm'.repeat(3001) })).not.toBeNull();
    expect(validateView({ ...modal, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) })).not.toBeNull();
    expect(validateView({ ...modal, blocks: Array.from({ length: 100 }, () => ({ type: 'divider' })) })).toBeNull();
  });
});

describe('signing and payload builders', () => {
  it('signSlackRequest matches an independently computed signature', () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070';
    const ts = 1531420618;
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(signSlackRequest(secret, body, ts)).toEqual({
      'x-slack-signature': expected,
      'x-slack-request-timestamp': '1531420618',
    });
    expect(signSlackRequest(secret, `${body}x`, ts)['x-slack-signature']).not.toBe(expected);
  });

  it('builds slash command and interaction bodies Slack-style', () => {
    const cmd = new URLSearchParams(buildCommand({ text: 'billing 4h', response_url: fake.responseUrl('c') }));
    expect(cmd.get('command')).toBe('/request-billing');
    expect(cmd.get('text')).toBe('billing 4h');
    expect(cmd.get('user_id')).toBe('U0EMPLOYEE');
    expect(cmd.get('trigger_id')).toMatch(/^1234\.5678\.[0-9a-f]+$/);

    const action = JSON.parse(
      new URLSearchParams(buildBlockAction({ userId: 'U0ADMIN', channelId: 'C0ADMINS', actionId: 'approve', value: 'r1' })).get('payload') ?? '',
    );
    expect(action).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ADMIN' },
      container: { type: 'message', channel_id: 'C0ADMINS' },
      actions: [{ type: 'button', action_id: 'approve', value: 'r1', block_id: 'b' }],
    });

    const submission = JSON.parse(
      new URLSearchParams(
        buildViewSubmission({
          userId: 'U0EMPLOYEE',
          callbackId: 'request_modal',
          values: {
            duration: { pick: { type: 'static_select', selected_option: { value: '4h' } } },
            reason: { text: { type: 'plain_text_input' } },
          },
        }),
      ).get('payload') ?? '',
    );
    expect(submission).toMatchObject({
      type: 'view_submission',
      view: {
        callback_id: 'request_modal',
        state: {
          values: { duration: { pick: { selected_option: { value: '4h' } } }, reason: { text: { value: null } } },
        },
      },
    });
  });
});
