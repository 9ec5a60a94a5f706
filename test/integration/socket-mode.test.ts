/**
 * Socket Mode, the manifest's default: the bot opens its connection through SLACK_API_URL (the
 * Slack stand-in's apps.connections.open and WebSocket, not slack.com), and its only HTTP server,
 * GET /healthz, is bound to HOST and PORT as HTTP mode's is (PRODUCT §5: HOST is the address the
 * HTTP server binds). Over loopback: a server bound to 127.0.0.1 refuses 127.0.0.2, one bound to
 * every address accepts it.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/scenario-helpers.js';

const APP_TOKEN = 'xapp-1-A0STANDIN-1-test';

/** Whether a TCP connection to host:port is accepted ('connected') or the error code it meets. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('Socket Mode (HOST=127.0.0.1, PORT=0)', () => {
  const harness = useHarness({ slackAppToken: APP_TOKEN });

  it('connects with the app-level token through SLACK_API_URL, and says which port PORT=0 picked', async () => {
    const h = harness();
    const opened = h.slack.calls('apps.connections.open');
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(opened.every((call) => call.ok)).toBe(true);
    expect(h.slack.socketMode.accepted).toBeGreaterThanOrEqual(1);
    expect(h.bot.port).toBeGreaterThan(0);
  });

  it('answers GET /healthz on HOST at that port, and nothing else: events come over the WebSocket', async () => {
    const base = `http://127.0.0.1:${harness().bot.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    expect((await fetch(`${base}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(404);
  });

  it('binds HOST only: another local address is refused', async () => {
    const { port } = harness().bot;
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
  });

  it('stopping the bot closes its port', async () => {
    const h = harness();
    const { port } = h.bot;
    await h.bot.stop();
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  });
});
