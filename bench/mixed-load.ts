/**
 * The mixed-load generator, in its own process like bench/loadgen.ts: several kinds of signed
 * Slack requests (commands, clicks) against one URL at once, each kind either at a fixed rate
 * (open loop: sent on a schedule whatever the answers, so a slow server cannot slow the load
 * down) or as fast as its connections allow (closed loop). Reads a MixedSpec (JSON file named in
 * argv[2]) and prints one MixedResult as JSON, with a record of every request.
 *
 * Why not autocannon here: its rate limit lets each connection send its share of a second's
 * requests back to back at the start of each second, then wait; at 150/s on 50 connections that
 * is a burst of 150 requests every second, not a steady load.
 *
 * Bodies are signed as they are sent (fresh timestamps however long the run); PASS_MARK in a body
 * becomes the pass number (see mixed-spec.ts).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { BUSY_PREFIX } from '../handlers/reply.js';
import { signSlackRequest } from '../testkit/slack-signing.js';
import { type KindResult, type KindSpec, type Latency, type MixedResult, type MixedSpec, PASS_MARK, type RequestRecord } from './mixed-spec.js';

function percentiles(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number) : Number.NaN;
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
  };
}

const epochNow = () => performance.timeOrigin + performance.now();

/** Sends one signed body; resolves with its status (0: no answer), latency, and whether the answer refused it as busy. */
function send(url: URL, agent: Agent, secret: string, body: string): Promise<{ status: number; ms: number; sentAt: number; busy: boolean }> {
  const signed = signSlackRequest(secret, body);
  const sentAt = epochNow();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let answer = '';
    const done = (status: number) => {
      if (settled) return;
      settled = true;
      resolve({ status, ms: performance.now() - t0, sentAt, busy: answer.includes(BUSY_PREFIX) });
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-signature': signed['x-slack-signature'],
          'x-slack-request-timestamp': signed['x-slack-request-timestamp'],
        },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          answer += chunk;
        });
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', () => done(0));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(body);
  });
}

function bodyAt(bodies: string[], i: number): string {
  const body = bodies[i % bodies.length] as string;
  return body.includes(PASS_MARK) ? body.replaceAll(PASS_MARK, String(Math.floor(i / bodies.length))) : body;
}

class KindRun {
  next = 0;
  readonly latencies: number[] = [];
  readonly lags: number[] = [];
  readonly statusCounts: Record<string, number> = {};
  errors = 0;
  lastAnsweredAt = 0;

  constructor(
    readonly index: number,
    readonly spec: KindSpec,
    readonly agent: Agent,
  ) {}

  async one(url: URL, secret: string, records: RequestRecord[], lagMs?: number): Promise<void> {
    const i = this.next++;
    if (lagMs !== undefined) this.lags.push(lagMs);
    const r = await send(url, this.agent, secret, bodyAt(this.spec.bodies, i));
    records.push([this.index, i, Math.round(r.sentAt * 10) / 10, Math.round(r.ms * 100) / 100, r.status, r.busy ? 1 : 0]);
    this.lastAnsweredAt = epochNow();
    if (r.status === 0) this.errors += 1;
    else this.statusCounts[r.status] = (this.statusCounts[r.status] ?? 0) + 1;
    if (r.status >= 200 && r.status < 300) this.latencies.push(r.ms);
  }

  result(startedAt: number): KindResult {
    const ok = this.latencies.length;
    return {
      sent: this.next,
      ok2xx: ok,
      statusCounts: this.statusCounts,
      errors: this.errors,
      latency: percentiles(this.latencies),
      sendLag: this.spec.rate ? percentiles(this.lags) : null,
      rps: ok / Math.max(0.001, (this.lastAnsweredAt - startedAt) / 1000),
      passes: Math.ceil(this.next / Math.max(1, this.spec.bodies.length)),
    };
  }
}

/** Fixed rate: request n of the kind goes at start + offset + n / rate, whether or not earlier ones were answered. */
async function paced(run: KindRun, url: URL, secret: string, records: RequestRecord[], start: number, end: number): Promise<void> {
  const interval = 1000 / (run.spec.rate as number);
  const offset = run.spec.offsetMs ?? 0;
  const inFlight: Promise<void>[] = [];
  let n = 0;
  for (;;) {
    const due = start + offset + n * interval;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(run.one(url, secret, records, performance.now() - due));
    n += 1;
  }
  await Promise.all(inFlight);
}

/** Closed loop: each connection sends its next request when its last one is answered, until `end`. */
async function closedLoop(run: KindRun, url: URL, secret: string, records: RequestRecord[], end: number): Promise<void> {
  await Promise.all(
    Array.from({ length: run.spec.connections }, async () => {
      while (performance.now() < end) await run.one(url, secret, records);
    }),
  );
}

async function warmUp(url: URL, secret: string, agents: Agent[], connections: number[], warmup: { seconds: number; bodies: string[] }): Promise<void> {
  const end = performance.now() + warmup.seconds * 1000;
  let i = 0;
  await Promise.all(
    agents.flatMap((agent, a) =>
      Array.from({ length: connections[a] as number }, async () => {
        while (performance.now() < end) await send(url, agent, secret, warmup.bodies[i++ % warmup.bodies.length] as string);
      }),
    ),
  );
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as MixedSpec;
  const url = new URL(spec.url);
  const shared = new Agent({ keepAlive: true, maxSockets: spec.sharedConnections });
  const runs = spec.kinds.map((k, i) => new KindRun(i, k, k.rate ? shared : new Agent({ keepAlive: true, maxSockets: k.connections })));
  const agents = [shared, ...runs.filter((r) => !r.spec.rate).map((r) => r.agent)];
  if (spec.warmup) {
    await warmUp(url, spec.signingSecret, agents, [spec.sharedConnections, ...runs.filter((r) => !r.spec.rate).map((r) => r.spec.connections)], spec.warmup);
    process.stdout.write(`${JSON.stringify({ warm: true })}\n`);
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  }
  const records: RequestRecord[] = [];
  const start = performance.now() + 5;
  const end = start + spec.seconds * 1000;
  const startedAt = performance.timeOrigin + start;
  await Promise.all(
    runs.map((r) => (r.spec.rate ? paced(r, url, spec.signingSecret, records, start, end) : closedLoop(r, url, spec.signingSecret, records, end))),
  );
  const out: MixedResult = {
    kinds: Object.fromEntries(runs.map((r) => [r.spec.kind, r.result(startedAt)])),
    startedAt,
    sendingEndedAt: performance.timeOrigin + end,
    endedAt: epochNow(),
    records,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  shared.destroy();
  for (const r of runs) r.agent.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`mixed load failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
