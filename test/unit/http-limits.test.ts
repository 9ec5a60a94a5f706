/**
 * The request guard of src/http-limits.ts in front of a real Bolt HTTPReceiver, over loopback
 * HTTP: a body's shape is looked at only once its signature holds (an unsigned, stale or
 * wrongly signed body gets Bolt's bare 401, whatever it holds); a signed body Bolt could not
 * route gets 400 with a short plain reason; Slack's own bodies pass to the listener.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedReceiver } from '../../src/http-limits.js';
import { buildCommand } from '../../testkit/slack-payloads.js';
import { signSlackRequest } from '../../testkit/slack-signing.js';

const SECRET = 'guard-test-signing-secret';
const FORM = 'application/x-www-form-urlencoded';

let server: Server;
let url = '';
const heard: unknown[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (...args: unknown[]) => void warnings.push(args.join(' ')),
    error: (...args: unknown[]) => void warnings.push(args.join(' ')),
    setLevel: () => undefined,
    getLevel: () => 'info' as never,
    setName: () => undefined,
  };
  const receiver = guardedReceiver({
    signingSecret: SECRET,
    endpoints: '/slack/events',
    logger,
    unhandledRequestTimeoutMillis: 200,
  });
  const app = new App({
    token: 'xoxb-1111-2222-abcdef',
    receiver,
    tokenVerificationEnabled: false,
    botId: 'B0BOT',
    botUserId: 'U0BOT',
    convoStore: false,
    logger,
  });
  app.command('/request-billing', async ({ ack, command }) => {
    heard.push(command);
    await ack('heard');
  });
  server = (await receiver.start(0)) as Server;
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface Sent {
  status: number;
  text: string;
  type: string | null;
}

async function send(body: string, headers: Record<string, string> = {}, contentType = FORM): Promise<Sent> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

const signed = (body: string, at?: number) => signSlackRequest(SECRET, body, at) as unknown as Record<string, string>;

const payload = (value: unknown) => `payload=${encodeURIComponent(JSON.stringify(value))}`;

/** Bodies Bolt could not take: not JSON, not an object, or missing what its routing reads. */
const MALFORMED: [string, string][] = [
  ['a payload that is not JSON', 'payload=not-json'],
  ['payload=null', 'payload=null'],
  ['a payload that is an array', payload([1])],
  ['a click with no actions', payload({ type: 'block_actions', user: { id: 'U1' }, actions: [] })],
  ['a submission without its view', payload({ type: 'view_submission', user: { id: 'U1' } })],
  ['a click from a null user', payload({ type: 'block_actions', user: null, actions: [{ action_id: 'a' }] })],
  ['two payload fields', 'payload=%7B%7D&payload=%7B%7D'],
  ['form fields of no kind', 'text=hi'],
  ['a command without its response_url', buildCommand({ text: 'help' }).replace(/&response_url=[^&]*/, '')],
];

describe('guardedReceiver', () => {
  it.each(MALFORMED)('answers %s, unsigned, stale or signed with another secret, with a bare 401 as Bolt answers any forgery', async (_name, body) => {
    for (const headers of [{}, signSlackRequest('another-secret', body), signed(body, Math.floor(Date.now() / 1000) - 6 * 60)]) {
      const res = await send(body, headers as Record<string, string>);
      expect(res.status).toBe(401);
      expect(res.text).toBe('');
    }
  });

  it.each(MALFORMED)('answers %s, signed, with 400 and a short plain reason', async (_name, body) => {
    const res = await send(body, signed(body));
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.text.length).toBeGreaterThan(10);
    expect(res.text.length).toBeLessThan(120);
  });

  it('says what is wrong without quoting the body', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: '<!channel>' }, actions: [], secret: 'marker-42' }))}`;
    const res = await send(body, signed(body));
    expect(res.text).toBe('Malformed action payload: "actions" is missing or not of the expected shape.');
    const junk = 'payload=%7B%22marker-42';
    expect((await send(junk, signed(junk))).text).toBe('The payload field is not JSON.');
    expect((await send('{"a":', signed('{"a":'), 'application/json')).text).toBe('The body is not JSON.');
  });

  it("passes Slack's own bodies on: a signed command, the same as JSON, and an unsigned ssl_check", async () => {
    heard.length = 0;
    const form = buildCommand({ text: 'help', response_url: 'https://hooks.example/r' });
    expect(await send(form, signed(form))).toMatchObject({ status: 200, text: 'heard' });
    const json = JSON.stringify(Object.fromEntries(new URLSearchParams(form)));
    expect(await send(json, signed(json), 'application/json')).toMatchObject({ status: 200, text: 'heard' });
    expect(heard).toHaveLength(2);
    expect((await send('ssl_check=1')).status).toBe(200);
  });

  it('checks the signature itself: a forged command never reaches a listener, a well-signed one does', async () => {
    heard.length = 0;
    const body = buildCommand({ text: 'help' });
    for (const headers of [{}, signSlackRequest('another-secret', body), signed(body, Math.floor(Date.now() / 1000) - 6 * 60)]) {
      expect((await send(body, headers as Record<string, string>)).status).toBe(401);
    }
    expect(heard).toEqual([]);
    expect((await send(body, signed(body))).status).toBe(200);
    expect(heard).toHaveLength(1);
  });

  it('answers an unsigned ssl_check (form only) and dispatches nothing, even with a command beside it', async () => {
    heard.length = 0;
    const smuggled = `ssl_check=1&${buildCommand({ text: 'help' })}`;
    expect((await send(smuggled)).status).toBe(200);
    expect((await send('ssl_check=1', {}, 'application/json')).status).toBe(401);
    expect(heard).toEqual([]);
  });

  it('still refuses a timestamp from the future with 401, signed or not', async () => {
    const body = buildCommand({ text: 'help' });
    const ahead = Math.floor(Date.now() / 1000) + 6 * 60;
    expect((await send(body, signed(body, ahead))).status).toBe(401);
    expect((await send('payload=null', signed('payload=null', ahead))).status).toBe(401);
  });

  it('logs no unhandled error for any of it', () => {
    expect(warnings.filter((w) => /unhandled|unexpected/i.test(w))).toEqual([]);
  });
});
