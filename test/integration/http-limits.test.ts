/**
 * Unauthenticated HTTP traffic cannot exhaust the bot's memory: bodies are capped before the
 * signature check, slow clients are cut off, and held connections are bounded. Driven over raw
 * sockets, since an HTTP client library would neither dribble nor hold a request half-sent.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, MAX_CONNECTIONS } from '../../src/http-limits.js';
import { buildCommand } from '../../testkit/slack-payloads.js';
import { signSlackRequest } from '../../testkit/slack-signing.js';
import { type Harness, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';
import { useHarness } from '../support/scenario-helpers.js';

const employee = PEOPLE.employee.id;
const REQUEST_TEXT = 'read-only 7d month-end close for October';
/** The size that grew the process by hundreds of MB when 100 connections each held one. */
const FOUR_MB = 4 * 1024 * 1024;
/** Far longer than any limit should take to act; only reached when a limit is missing. */
const BOUND_MS = 20_000;
const SLOW_TEST_MS = 60_000;

/** Every connection a test opened; destroyed after it, so a failing test cannot hold the bot's stop. */
const opened = new Set<RawConnection>();

/** Registered after useHarness: after-hooks run in reverse, so connections go before the bot stops. */
function useConnections(): void {
  afterEach(() => {
    for (const conn of opened) conn.destroy();
    opened.clear();
  });
}

/** One raw HTTP/1.1 connection to the bot: what it answered, and whether it was closed. */
class RawConnection {
  private received = '';
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    // A reset or a write after the bot cut the connection off: the outcome is read from `closed`.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        const conn = new RawConnection(socket);
        opened.add(conn);
        resolve(conn);
      });
      socket.once('error', reject);
    });
  }

  write(data: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  /** The status of the bot's answer, once its status line has arrived. */
  get status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(this.received);
    return match ? Number(match[1]) : undefined;
  }

  get answered(): boolean {
    return this.received.length > 0;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function waitUntil(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`still waiting, after ${BOUND_MS} ms, for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes `unit` every 200 ms until the connection is closed; returns a stopper. */
function dribble(conn: RawConnection, unit: string): () => void {
  const timer = setInterval(() => {
    if (conn.closed) clearInterval(timer);
    else conn.write(unit);
  }, 200);
  return () => clearInterval(timer);
}

/** The head of a slash-command POST signed for `body`, as Slack would send it. */
function signedHead(body: string, framing: { contentLength: number } | 'chunked'): string {
  const signed = signSlackRequest(SIGNING_SECRET, body);
  const length = framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${framing.contentLength}`;
  return [
    'POST /slack/events HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/x-www-form-urlencoded',
    `X-Slack-Request-Timestamp: ${signed['x-slack-request-timestamp']}`,
    `X-Slack-Signature: ${signed['x-slack-signature']}`,
    length,
    '',
    '',
  ].join('\r\n');
}

/** A genuine request for billing access (signedHead signs it), padded to `size` bytes. */
function paddedRequest(h: Harness, size: number): string {
  const command = `${buildCommand({ user_id: employee, text: REQUEST_TEXT, team_id: TEAM, response_url: h.slack.responseUrl('padded') })}&pad=`;
  return command + 'x'.repeat(size - command.length);
}

/** The bot still answers /healthz and a signed slash command, once the held connections are gone. */
async function expectStillServing(h: Harness): Promise<void> {
  const healthy = () =>
    fetch(`http://127.0.0.1:${h.bot.port}/healthz`).then(
      async (res) => {
        await res.text();
        return res.status === 200;
      },
      () => false,
    );
  await waitUntil(healthy, 'GET /healthz to answer 200');
  const res = await h.command(employee, 'help');
  expect(res.status).toBe(200);
}

describe('HTTP limits: body size', () => {
  const harness = useHarness();
  useConnections();

  it(
    'a declared 4 MB body is answered 413 before any of it is sent, and the connection is closed',
    async () => {
      const h = harness();
      const body = paddedRequest(h, FOUR_MB);
      const conn = await RawConnection.open(h.bot.port);
      conn.write(signedHead(body, { contentLength: FOUR_MB }));

      await waitUntil(() => conn.status !== undefined && conn.closed, 'a 413 and the connection closed');
      expect(conn.status).toBe(413);
      await h.idle();
      expect(await h.requestsOf(employee)).toEqual([]);
      await expectStillServing(h);
    },
    SLOW_TEST_MS,
  );

  it(
    'a chunked body is refused as soon as it passes the cap, without waiting for its end',
    async () => {
      const h = harness();
      const body = paddedRequest(h, MAX_BODY_BYTES + 64 * 1024);
      const conn = await RawConnection.open(h.bot.port);
      conn.write(signedHead(body, 'chunked'));
      // Every byte past the cap, in 16 KiB chunks, and never the terminating chunk.
      for (let at = 0; at < body.length; at += 16 * 1024) {
        const chunk = body.slice(at, at + 16 * 1024);
        conn.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      }

      await waitUntil(() => conn.status !== undefined || conn.closed, 'an answer or the connection closed');
      // Either Bolt's 413 arrived, or the connection was cut before it could be read; never a timeout's 408.
      if (conn.status !== undefined) expect(conn.status).toBe(413);
      await waitUntil(() => conn.closed, 'the connection closed after the 413');
      await h.idle();
      expect(await h.requestsOf(employee)).toEqual([]);
      await expectStillServing(h);
    },
    SLOW_TEST_MS,
  );

  it(
    '100 held connections that each declare 4 MB are all refused, nothing is stored, and a real request still works',
    async () => {
      const h = harness();
      const body = paddedRequest(h, FOUR_MB);
      const head = signedHead(body, { contentLength: FOUR_MB });
      const conns = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(h.bot.port)));
      for (const conn of conns) conn.write(head);

      await waitUntil(() => conns.every((c) => c.status !== undefined), 'all 100 answers');
      expect(conns.map((c) => c.status)).toEqual(conns.map(() => 413));
      for (const conn of conns) conn.destroy();
      await h.idle();
      expect(await h.bot.deps.store.listByStatus('PENDING')).toEqual([]);
      expect(h.adminMessages()).toEqual([]);

      await expectStillServing(h);
      const request = await h.requestByText(employee, REQUEST_TEXT);
      expect(request.status).toBe('PENDING');
      expect(await h.bot.deps.store.listByStatus('PENDING')).toHaveLength(1);
    },
    SLOW_TEST_MS,
  );
});

describe('HTTP limits: slow clients and held connections', () => {
  const harness = useHarness();
  useConnections();

  it(
    'a client dribbling its headers is cut off',
    async () => {
      const h = harness();
      const conn = await RawConnection.open(h.bot.port);
      conn.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const stop = dribble(conn, 'X-Slow: a\r\n');
      try {
        await waitUntil(() => conn.closed, 'the connection closed');
      } finally {
        stop();
      }
      if (conn.status !== undefined) expect(conn.status).toBe(408);
      await expectStillServing(h);
    },
    SLOW_TEST_MS,
  );

  it(
    'a client dribbling its body is cut off',
    async () => {
      const h = harness();
      const body = paddedRequest(h, 4 * 1024);
      const conn = await RawConnection.open(h.bot.port);
      conn.write(signedHead(body, { contentLength: body.length }));
      const stop = dribble(conn, 'x');
      try {
        await waitUntil(() => conn.closed, 'the connection closed');
      } finally {
        stop();
      }
      if (conn.status !== undefined) expect(conn.status).toBe(408);
      await h.idle();
      expect(await h.requestsOf(employee)).toEqual([]);
      await expectStillServing(h);
    },
    SLOW_TEST_MS,
  );

  it(
    `past ${MAX_CONNECTIONS} open connections, a new one is closed at once without an answer`,
    async () => {
      const h = harness();
      const held: RawConnection[] = [];
      for (let i = 0; i < MAX_CONNECTIONS; i += 1) held.push(await RawConnection.open(h.bot.port));
      const extra = await RawConnection.open(h.bot.port);
      await waitUntil(() => extra.closed, 'the connection past the limit to be closed');
      expect(extra.answered).toBe(false);
      for (const conn of held) conn.destroy();
      await expectStillServing(h);
    },
    SLOW_TEST_MS,
  );
});
