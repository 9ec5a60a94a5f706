/**
 * The playground page's own endpoints (/ui/) against requests a foreign page could make: any site
 * a developer visits can send requests to 127.0.0.1. Only same-origin JSON carrying the token of
 * the run, which only the served page has, is accepted. The page's HTTP side runs here with the
 * Slack stand-in and a stub in place of the bot, which records what would have reached it; with
 * it, what the Home tab sends the bot (the app_home_opened event, clicks from the view) is checked too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackStandIn } from '../../playground/slack-standin.js';
import { PlaygroundUi, TOKEN_HEADER } from '../../playground/ui.js';
import { ADMIN_CHANNEL, BOT_USER_ID, CHANNELS, generateSecrets, PEOPLE, TEAM_ID } from '../../playground/workspace.js';

const JANE = 'U0JANE';
const COMMAND = JSON.stringify({ user: JANE, channel: ADMIN_CHANNEL, text: '/request-billing help' });
/** What the page sends to each endpoint. */
const BODY: Record<string, string> = {
  '/ui/command': COMMAND,
  '/ui/action': JSON.stringify({
    user: JANE,
    channel: ADMIN_CHANNEL,
    messageTs: '1700000000.000001',
    actionId: 'approve',
    blockId: 'b',
    value: 'r',
    label: 'Approve',
  }),
  '/ui/view/close': JSON.stringify({ user: JANE, viewId: 'V0001' }),
  '/ui/home': JSON.stringify({ user: JANE }),
};

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Rig {
  slack: SlackStandIn;
  botToken: string;
  /** `127.0.0.1:<port>`: the playground's own host. */
  host: string;
  origin: string;
  /** What reached the stand-in bot: one body (form-encoded, or JSON for an event) per request. */
  botBodies: string[];
  /** The headers of each of those requests. */
  botHeaders: IncomingHttpHeaders[];
  signingSecret: string;
  /** How many times the page was told that something changed. */
  changes: () => number;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The stand-in with the page's routes, and a bot that acks every request with an ephemeral reply. */
async function startRig(): Promise<Rig> {
  const secrets = generateSecrets();
  let slack: SlackStandIn | undefined;
  const ui = new PlaygroundUi(() => slack as SlackStandIn, secrets);
  slack = await SlackStandIn.start({
    botToken: secrets.botToken,
    teamId: TEAM_ID,
    botUserId: BOT_USER_ID,
    channels: CHANNELS,
    users: PEOPLE,
    routes: ui.route,
  });
  const botBodies: string[] = [];
  const botHeaders: IncomingHttpHeaders[] = [];
  const bot = createServer((req, res) => {
    botHeaders.push(req.headers);
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      botBodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: 'Usage: /request-billing <level> <duration> <why>' }));
    });
  });
  ui.botUrl = `http://127.0.0.1:${await listen(bot)}/slack/events`;
  let changes = 0;
  slack.changes.on('change', () => {
    changes += 1;
  });
  const stand = slack;
  return {
    slack: stand,
    botToken: secrets.botToken,
    host: new URL(stand.baseUrl).host,
    origin: stand.baseUrl,
    botBodies,
    botHeaders,
    signingSecret: secrets.signingSecret,
    changes: () => changes,
    async stop() {
      bot.closeAllConnections();
      await new Promise<void>((resolve) => bot.close(() => resolve()));
      await stand.stop();
    },
  };
}

/** A raw request, every header as given (node:http, so Host and Origin can be anything a browser might send). */
function send(rig: Rig, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${rig.origin}${path}`, { method, headers: { host: rig.host, ...headers } }, (res) => {
      // The event stream stays open: its status and headers are the answer.
      if (res.headers['content-type'] === 'text/event-stream') {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
        res.destroy();
        return;
      }
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The token as the page gets it: from the served index.html. */
async function pageToken(rig: Rig): Promise<string> {
  const page = await send(rig, 'GET', '/');
  expect(page.status).toBe(200);
  const token = /<meta name="playground-token" content="([^"]+)">/.exec(page.body)?.[1];
  expect(token, 'token in the served page').toBeTruthy();
  return token ?? '';
}

/** Headers the real page's fetch sends from Chromium for a POST. */
function pageHeaders(rig: Rig, token: string): Record<string, string> {
  return { 'content-type': 'application/json', origin: rig.origin, 'sec-fetch-site': 'same-origin', [TOKEN_HEADER]: token };
}

async function stateOf(rig: Rig, token: string, user = JANE): Promise<{ messages: unknown[]; ephemerals: { text: string }[]; views: unknown[] }> {
  const reply = await send(rig, 'GET', `/ui/state?user=${user}`, { [TOKEN_HEADER]: token });
  expect(reply.status).toBe(200);
  return JSON.parse(reply.body) as { messages: unknown[]; ephemerals: { text: string }[]; views: unknown[] };
}

let rig: Rig;

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  await rig.stop();
});

describe('playground page endpoints', () => {
  it('the served page carries a token made for this run, and cannot be framed by another site', async () => {
    const token = await pageToken(rig);
    expect(token.length).toBeGreaterThanOrEqual(40);
    const other = await startRig();
    try {
      expect(await pageToken(other)).not.toBe(token);
    } finally {
      await other.stop();
    }
    const page = await send(rig, 'GET', '/');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['cache-control']).toBe('no-store');
    // The page's other files and the Web API the bot calls are as before: no token, no Origin rules.
    expect((await send(rig, 'GET', '/app.js')).status).toBe(200);
    const api = await send(rig, 'POST', '/api/auth.test', { authorization: `Bearer ${rig.botToken}`, 'content-type': 'application/x-www-form-urlencoded' });
    expect(JSON.parse(api.body)).toMatchObject({ ok: true, team_id: TEAM_ID });
  });

  type Case = [name: string, path: string, status: number, headers: (rig: Rig, token: string) => Record<string, string>, body?: string];
  const refused: Case[] = [
    ['a command without the token', '/ui/command', 403, (r) => ({ 'content-type': 'application/json', origin: r.origin })],
    ['a command with a wrong token', '/ui/command', 403, (r) => ({ ...pageHeaders(r, ''), [TOKEN_HEADER]: randomBytes(32).toString('base64url') })],
    ['a command with the token cut short', '/ui/command', 403, (r, token) => ({ ...pageHeaders(r, token), [TOKEN_HEADER]: token.slice(0, -1) })],
    [
      'a command as an HTML form posts it (urlencoded)',
      '/ui/command',
      415,
      (r, token) => ({ ...pageHeaders(r, token), 'content-type': 'application/x-www-form-urlencoded' }),
      new URLSearchParams({ user: JANE, channel: ADMIN_CHANNEL, text: '/request-billing help' }).toString(),
    ],
    // <form enctype="text/plain"> with a field named `{"user":…,"x":"` makes a body that parses as JSON.
    [
      'a command as a text/plain form or no-cors fetch sends JSON',
      '/ui/command',
      415,
      (r, token) => ({ ...pageHeaders(r, token), 'content-type': 'text/plain;charset=UTF-8' }),
      `${COMMAND.slice(0, -1)},"x":"="}\r\n`,
    ],
    ['a command from a foreign Origin', '/ui/command', 403, (r, token) => ({ ...pageHeaders(r, token), origin: 'http://evil.example' })],
    ['a command from another port on this host', '/ui/command', 403, (r, token) => ({ ...pageHeaders(r, token), origin: 'http://127.0.0.1:1' })],
    ['a command from an opaque origin (sandboxed frame, file:)', '/ui/command', 403, (r, token) => ({ ...pageHeaders(r, token), origin: 'null' })],
    [
      'a command marked Sec-Fetch-Site: cross-site',
      '/ui/command',
      403,
      (r, token) => {
        const { origin: _origin, ...headers } = pageHeaders(r, token);
        return { ...headers, 'sec-fetch-site': 'cross-site' };
      },
    ],
    // A DNS-rebound name is same-origin to the browser; only the Host header tells.
    [
      'a command sent to another host name',
      '/ui/command',
      403,
      (r, token) => ({ ...pageHeaders(r, token), host: 'evil.example', origin: 'http://evil.example' }),
    ],
    ['a button click without the token', '/ui/action', 403, (r) => ({ 'content-type': 'application/json', origin: r.origin })],
    ['closing a modal without the token', '/ui/view/close', 403, (r) => ({ 'content-type': 'application/json', origin: r.origin })],
    ['opening the Home tab without the token', '/ui/home', 403, (r) => ({ 'content-type': 'application/json', origin: r.origin })],
    ['opening the Home tab from a foreign Origin', '/ui/home', 403, (r, token) => ({ ...pageHeaders(r, token), origin: 'http://evil.example' })],
  ];

  it.each(refused)('refuses %s and changes nothing', async (_name, path, status, headers, body) => {
    const token = await pageToken(rig);
    const reply = await send(rig, 'POST', path, headers(rig, token), body ?? BODY[path]);
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: expect.any(String) });
    expect(rig.botBodies, 'requests that reached the bot').toEqual([]);
    expect(rig.changes(), 'updates pushed to open pages').toBe(0);
    expect(await stateOf(rig, token)).toMatchObject({ messages: [], ephemerals: [], views: [] });

    // The same request as the page makes it goes through, so the refusal above is the check's doing.
    const page = await send(rig, 'POST', path, pageHeaders(rig, token), BODY[path]);
    expect(page.status).toBe(200);
    if (path === '/ui/view/close') expect(rig.changes()).toBe(1);
    else expect(rig.botBodies).toHaveLength(1);
    if (path === '/ui/command') expect((await stateOf(rig, token)).ephemerals.map((e) => e.text)).toEqual(['Usage: /request-billing <level> <duration> <why>']);
  });

  it('refuses to show state without the token, with a wrong one, or to another host name', async () => {
    const token = await pageToken(rig);
    await send(rig, 'POST', '/ui/command', pageHeaders(rig, token), COMMAND);
    const asPage = await stateOf(rig, token);
    expect(asPage.ephemerals).toHaveLength(1);

    const wrong: Record<string, string>[] = [{}, { [TOKEN_HEADER]: randomBytes(32).toString('base64url') }, { [TOKEN_HEADER]: token, host: 'evil.example' }];
    for (const headers of wrong) {
      const reply = await send(rig, 'GET', `/ui/state?user=${JANE}`, headers);
      expect(reply.status).toBe(403);
      expect(reply.body).not.toContain('Usage');
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false });
    }
    // The token goes in a header for state; a URL is more easily copied or logged.
    expect((await send(rig, 'GET', `/ui/state?user=${JANE}&token=${encodeURIComponent(token)}`)).status).toBe(403);
  });

  it('opens the event stream only with the token, given in the URL as EventSource cannot set headers', async () => {
    const token = await pageToken(rig);
    expect((await send(rig, 'GET', '/ui/events')).status).toBe(403);
    expect((await send(rig, 'GET', `/ui/events?token=${randomBytes(32).toString('base64url')}`)).status).toBe(403);
    expect((await send(rig, 'GET', `/ui/events?token=${encodeURIComponent(token)}`, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const stream = await send(rig, 'GET', `/ui/events?token=${encodeURIComponent(token)}`, { 'sec-fetch-site': 'same-origin' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
  });

  it('does not hand the page, with its token, to another host name', async () => {
    const reply = await send(rig, 'GET', '/', { host: 'evil.example' });
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain('playground-token');
    // The page is served under either loopback name of this port.
    const port = new URL(rig.origin).port;
    expect((await send(rig, 'GET', '/', { host: `localhost:${port}` })).status).toBe(200);
  });
});

/** The Web API as the bot calls it, with the bot's token. */
async function callApi(rig: Rig, method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await send(
    rig,
    'POST',
    `/api/${method}`,
    { authorization: `Bearer ${rig.botToken}`, 'content-type': 'application/json' },
    JSON.stringify(args),
  );
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/** True when a request to the bot carries Slack's signature of its body under the run's signing secret. */
function signedBySlack(rig: Rig, headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = String(headers['x-slack-request-timestamp'] ?? '');
  const expected = `v0=${createHmac('sha256', rig.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return timestamp !== '' && headers['x-slack-signature'] === expected;
}

const HOME_VIEW = {
  type: 'home',
  blocks: [
    { type: 'section', block_id: 'grant_REQ1', text: { type: 'mrkdwn', text: '*read-only* until Friday' } },
    { type: 'actions', block_id: 'home_actions', elements: [{ type: 'button', action_id: 'home_request', text: { type: 'plain_text', text: 'Request' } }] },
  ],
};

describe('the Home tab', () => {
  it('opening it sends the bot a signed app_home_opened event as Events API JSON', async () => {
    const token = await pageToken(rig);
    const reply = await send(rig, 'POST', '/ui/home', pageHeaders(rig, token), JSON.stringify({ user: JANE }));
    expect(reply.status).toBe(200);
    expect(rig.botBodies).toHaveLength(1);
    const [body = '', headers = {}] = [rig.botBodies[0], rig.botHeaders[0]];
    expect(headers['content-type']).toBe('application/json');
    expect(signedBySlack(rig, headers, body)).toBe(true);
    const envelope = JSON.parse(body) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      type: 'event_callback',
      team_id: TEAM_ID,
      api_app_id: expect.any(String),
      event_id: expect.stringMatching(/^Ev/),
      event_time: expect.any(Number),
      event: { type: 'app_home_opened', user: JANE, channel: `D${JANE}`, tab: 'home', event_ts: expect.stringMatching(/^\d+\.\d+$/) },
    });
    // Nothing published yet: the event carries no view, and the page has no Home to show.
    expect((envelope.event as Record<string, unknown>).view).toBeUndefined();
    expect(await stateOf(rig, token)).toMatchObject({ home: null });
  });

  it('shows the Home the bot published for each person only to that person, and a click in it goes back as block_actions from the view', async () => {
    const token = await pageToken(rig);
    expect(await callApi(rig, 'views.publish', { user_id: JANE, view: HOME_VIEW })).toMatchObject({ ok: true });
    const jane = (await stateOf(rig, token)) as unknown as { home: { viewId: string; view: typeof HOME_VIEW } };
    expect(jane.home.view.blocks).toEqual(HOME_VIEW.blocks);
    expect(jane.home.viewId).toEqual(expect.any(String));
    expect(await stateOf(rig, token, 'U0ALICE')).toMatchObject({ home: null });

    // Opened again, the event carries the Home as it now is.
    await send(rig, 'POST', '/ui/home', pageHeaders(rig, token), JSON.stringify({ user: JANE }));
    const opened = JSON.parse(rig.botBodies.at(-1) ?? '{}') as { event: { view?: Record<string, unknown> } };
    expect(opened.event.view).toMatchObject({ id: jane.home.viewId, type: 'home', blocks: HOME_VIEW.blocks });

    const click = { user: JANE, viewId: jane.home.viewId, actionId: 'home_request', blockId: 'home_actions', value: '', label: 'Request' };
    const reply = await send(rig, 'POST', '/ui/action', pageHeaders(rig, token), JSON.stringify(click));
    expect(JSON.parse(reply.body)).toMatchObject({ ok: true });
    const sent = rig.botBodies.at(-1) ?? '';
    expect(rig.botHeaders.at(-1)?.['content-type']).toBe('application/x-www-form-urlencoded');
    expect(signedBySlack(rig, rig.botHeaders.at(-1) ?? {}, sent)).toBe(true);
    const payload = JSON.parse(new URLSearchParams(sent).get('payload') ?? '{}') as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: JANE },
      container: { type: 'view', view_id: jane.home.viewId },
      trigger_id: expect.any(String),
      view: { id: jane.home.viewId, type: 'home', blocks: HOME_VIEW.blocks },
      actions: [{ type: 'button', action_id: 'home_request', block_id: 'home_actions', value: '' }],
    });
    // A Home is no channel: Slack sends neither a channel, a message nor a response_url.
    for (const absent of ['channel', 'message', 'response_url']) expect(payload).not.toHaveProperty(absent);
  });

  it('refuses a click naming a Home the person does not see, and sends the bot nothing', async () => {
    const token = await pageToken(rig);
    await callApi(rig, 'views.publish', { user_id: JANE, view: HOME_VIEW });
    const { home } = (await stateOf(rig, token)) as unknown as { home: { viewId: string } };
    for (const [user, viewId] of [
      ['U0ALICE', home.viewId],
      [JANE, 'V0NOTSHOWN'],
    ]) {
      const click = { user, viewId, actionId: 'home_request', blockId: 'home_actions', value: '', label: 'Request' };
      const reply = await send(rig, 'POST', '/ui/action', pageHeaders(rig, token), JSON.stringify(click));
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: expect.stringContaining('Home') });
    }
    expect(rig.botBodies).toEqual([]);
  });
});
