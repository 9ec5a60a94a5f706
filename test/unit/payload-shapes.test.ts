/**
 * src/payload-shapes.ts against Bolt itself: every body the shapes let through is routed by a
 * real Bolt App, to the bot's real listeners, without throwing (a throw there is Bolt's HTTP 500);
 * the bodies that made Bolt throw are refused with a reason naming the part. In process: the
 * listeners' services refuse everything, and the Slack Web API and response_url calls go to a
 * loopback server that answers ok.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Receiver } from '@slack/bolt';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerDeps } from '../../handlers/deps.js';
import { registerHandlers } from '../../handlers/index.js';
import { loadConfig } from '../../src/config.js';
import { payloadProblem } from '../../src/payload-shapes.js';
import { ACTION, FIELD, VIEW } from '../../src/slack/ids.js';
import { buildBlockAction, buildCommand, buildViewSubmission } from '../../testkit/slack-payloads.js';
import { slackShapedPayload } from '../support/hostile.js';

const TEAM = 'T0001';
const USER = 'U0EMPLOYEE';
const CHANNEL = 'C0ADMINS';

let server: Server;
let base = '';
let app: App;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const receiver: Receiver = { init: () => undefined, start: async () => undefined, stop: async () => undefined };
  app = new App({
    token: 'xoxb-1111-2222-abcdef',
    receiver,
    tokenVerificationEnabled: false,
    botId: 'B0BOT',
    botUserId: 'U0BOT',
    convoStore: false,
    clientOptions: { slackApiUrl: `${base}/api/`, retryConfig: { retries: 0 } },
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      setLevel: () => undefined,
      getLevel: () => 'error' as never,
      setName: () => undefined,
    },
  });
  const deps: HandlerDeps = {
    config: loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
      SLACK_SIGNING_SECRET: 'signing-secret-value',
      ADMIN_CHANNEL_ID: CHANNEL,
      ADMIN_USER_IDS: 'U0ADMIN',
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
    }),
    log: pino({ level: 'silent' }),
    notifier: new Proxy({}, { get: () => () => Promise.resolve() }) as HandlerDeps['notifier'],
    // Post-ack work is not run here: only what happens before and at the ack. What a handler hands
    // on must reach the work thread as it is: structured cloning throws on anything else.
    jobs: {
      submit: (job) => {
        expect(structuredClone(job)).toEqual(job);
        return true;
      },
    },
    commandRate: { perMinute: 0, take: async () => ({ allowed: true }) } as unknown as HandlerDeps['commandRate'],
    dryRun: false,
  };
  registerHandlers(app, deps);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Routes a parsed body through Bolt as its HTTP receiver would; resolves unless Bolt or a listener throws. */
function route(body: Record<string, unknown>): Promise<void> {
  return app.processEvent({ body, ack: async () => undefined, retryNum: undefined, retryReason: undefined, customProperties: {} });
}

/** The parsed body of a form body from the testkit builders, as Bolt parses it. */
function parsed(form: string): Record<string, unknown> {
  const fields = new URLSearchParams(form);
  const payload = fields.get('payload');
  return payload === null ? Object.fromEntries(fields) : (JSON.parse(payload) as Record<string, unknown>);
}

describe('payloadProblem', () => {
  it("passes Slack's own bodies: a command, a click, a modal submission, ssl_check and url_verification", async () => {
    const bodies = [
      parsed(buildCommand({ text: 'help', response_url: `${base}/response` })),
      parsed(buildCommand({ text: '', response_url: `${base}/response` })),
      parsed(buildBlockAction({ userId: USER, channelId: CHANNEL, actionId: ACTION.approve, value: '01ARZ3NDEKTSV4RRFFQ69G5FAV', responseUrl: `${base}/r` })),
      parsed(
        buildViewSubmission({
          userId: USER,
          callbackId: VIEW.request,
          values: {
            [FIELD.level.block]: { [FIELD.level.action]: { type: 'static_select', selected_option: { value: 'read-only' } } },
            [FIELD.duration.block]: { [FIELD.duration.action]: { type: 'static_select', selected_option: { value: '7' } } },
            [FIELD.justification.block]: { [FIELD.justification.action]: { type: 'plain_text_input' } },
          },
        }),
      ),
      { ssl_check: '1', token: 'x' },
      { type: 'url_verification', challenge: 'abc' },
    ];
    for (const body of bodies) {
      expect(payloadProblem(body), JSON.stringify(body).slice(0, 200)).toBeUndefined();
      await route(body);
    }
  });

  // Each of these made Bolt throw while it routed the body (HTTP 500, an unhandled error in the log).
  it.each<[string, Record<string, unknown>, string]>([
    ['a click with no actions', { type: 'block_actions', user: { id: USER }, team: { id: TEAM }, actions: [] }, 'actions'],
    ['a click whose actions are a string', { type: 'block_actions', user: { id: USER }, team: { id: TEAM }, actions: 'approve' }, 'actions'],
    ['a click whose action is null', { type: 'block_actions', user: { id: USER }, team: { id: TEAM }, actions: [null] }, 'actions'],
    ['a click from a null user', { type: 'block_actions', user: null, team: { id: TEAM }, actions: [{ action_id: ACTION.approve, value: 'x' }] }, 'user'],
    [
      'a click in a null channel',
      { type: 'block_actions', user: { id: USER }, channel: null, actions: [{ action_id: ACTION.approve, value: 'x' }] },
      'channel',
    ],
    ['a submission without its view', { type: 'view_submission', user: { id: USER }, team: { id: TEAM } }, 'view'],
    ['a submission with a null state', { type: 'view_submission', user: { id: USER }, view: { callback_id: VIEW.request, state: null } }, 'view'],
    ['a submission with null values', { type: 'view_submission', user: { id: USER }, view: { callback_id: VIEW.deny, state: { values: null } } }, 'view'],
    ['a closed view from a null user', { type: 'view_closed', user: null, view: { callback_id: VIEW.request } }, 'user'],
    ['a message shortcut in a null channel', { type: 'message_action', user: { id: USER }, channel: null }, 'channel'],
    ['an options request with no user', { type: 'block_suggestion', team: { id: TEAM } }, 'user'],
    ['an event of null', { type: 'event_callback', event: null }, 'event'],
    ['an event by a null user', { type: 'event_callback', event: { type: 'message', user: null } }, 'event'],
    ['an event with a null authorization', { type: 'event_callback', event: { type: 'message' }, authorizations: [null] }, 'authorizations'],
    ['a command without its response_url', { command: '/request-billing', text: '', user_id: USER, channel_id: CHANNEL, team_id: TEAM }, 'response_url'],
  ])('refuses %s, naming the part', (_name, body, part) => {
    expect(payloadProblem(body)).toBe(`Malformed ${routeName(body)} payload: "${part}" is missing or not of the expected shape.`);
  });

  it('refuses a body Bolt cannot route at all, in words that quote nothing of it', () => {
    for (const body of [{}, { type: '<!channel>' }, { text: 'hi' }, []]) expect(payloadProblem(body)).toBe('Not a Slack payload this app can route.');
  });

  it('every body it passes is routed by Bolt to the bot’s listeners without a throw (property)', async () => {
    const shaped = slackShapedPayload({
      userIds: [USER, 'U0ADMIN'],
      channelIds: [CHANNEL, 'C0GENERAL'],
      teamId: TEAM,
      actionIds: Object.values(ACTION),
      callbackIds: Object.values(VIEW),
      fields: Object.values(FIELD),
      responseUrl: `${base}/response`,
    }).map((p) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>);
    let passed = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(shaped, async (body) => {
        const problem = payloadProblem(body);
        if (problem !== undefined) {
          refused += 1;
          expect(problem.length).toBeLessThan(120);
          return;
        }
        passed += 1;
        await route(body);
      }),
      { numRuns: 2000, seed: 20261202 },
    );
    // Both sides are exercised.
    expect(passed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  }, 60_000);
});

/** The route name payloadProblem gives the example bodies above. */
function routeName(body: Record<string, unknown>): string {
  if (body.event !== undefined) return 'event';
  if (body.command !== undefined) return 'slash command';
  if (body.type === 'block_suggestion') return 'options request';
  if (body.actions !== undefined) return 'action';
  if (body.type === 'message_action') return 'shortcut';
  return body.type === 'view_closed' ? 'view closed' : 'view submission';
}
