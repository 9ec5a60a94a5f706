/**
 * The load generator, in its own process so the fake Slack and the proxies in the benchmark
 * process never delay it: autocannon on loopback against one URL, rotating through pre-signed
 * bodies. Reads a LoadSpec (JSON file named in argv[2]) and prints one LoadResult as JSON.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface SignedBody {
  body: string;
  headers: Record<string, string>;
}

export interface LoadSpec {
  url: string;
  connections: number;
  /** Upper bound on the run's length. */
  durationSec: number;
  /** When set, exactly this many requests (each body used at most once if the pool is larger). */
  amount?: number;
  bodies: SignedBody[];
  /** Sent first, from the same process and not measured: warms the load generator and the server. */
  warmup?: { durationSec: number; bodies: SignedBody[] };
}

export interface LoadResult {
  requests: number;
  ok2xx: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** From the first request sent to the last answer, in seconds. */
  durationSec: number;
  /** 2xx responses per second over that time. */
  rps: number;
  /** Milliseconds, from every 2xx response's own time (not the 1 ms histogram). */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** autocannon's own figures, for comparison. */
  autocannon: { p50: number; p99: number; requestsPerSecAverage: number; durationSec: number };
  bodiesUsed: number;
  /** The five slowest answers: when they came (ms after the first request) and how long they took. */
  slowest: { answered_at_ms: number; latency_ms: number }[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** One autocannon run over `bodies` (in order, each once when `amount` is their number). */
async function run(url: string, connections: number, durationSec: number, amount: number | undefined, bodies: SignedBody[]): Promise<LoadResult> {
  if (bodies.length === 0) throw new Error('no bodies');
  let next = 0;
  // Own clock: autocannon notices the end of a count-bounded run only at its next 1 s sample.
  let firstSentAt: number | undefined;
  let lastAnsweredAt = 0;
  const latencies: number[] = [];
  /** [answered at (ms since the first request), latency (ms)] of every answer, for the slowest. */
  const answered: [number, number][] = [];
  const statusCounts: Record<string, number> = {};
  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url,
      connections: Math.min(connections, amount ?? connections),
      duration: durationSec,
      ...(amount ? { amount } : {}),
      pipelining: 1,
      timeout: 10,
      method: 'POST',
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            firstSentAt ??= performance.now();
            const signed = bodies[next % bodies.length] as SignedBody;
            next += 1;
            return { ...request, method: 'POST', body: signed.body, headers: { ...signed.headers, 'content-type': 'application/x-www-form-urlencoded' } };
          },
        },
      ],
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    lastAnsweredAt = performance.now();
    answered.push([lastAnsweredAt - (firstSentAt ?? lastAnsweredAt), responseTime]);
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await done;
  latencies.sort((a, b) => a - b);
  const total = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const seconds = firstSentAt === undefined ? result.duration : (lastAnsweredAt - firstSentAt) / 1000;
  return {
    requests: total,
    ok2xx: latencies.length,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: seconds,
    rps: latencies.length / seconds,
    latency: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    },
    autocannon: { p50: result.latency.p50, p99: result.latency.p99, requestsPerSecAverage: result.requests.average, durationSec: result.duration },
    bodiesUsed: next,
    slowest: answered
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([at, ms]) => ({ answered_at_ms: Math.round(at), latency_ms: Math.round(ms) })),
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
  // The warm-up runs in this same process first, so the measured run starts with a warm load generator;
  // then it says so and waits for a line on stdin (the parent takes its readings in between).
  if (spec.warmup) {
    await run(spec.url, spec.connections, spec.warmup.durationSec, undefined, spec.warmup.bodies);
    process.stdout.write(`${JSON.stringify({ warm: true })}\n`);
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  }
  const out = await run(spec.url, spec.connections, spec.durationSec, spec.amount, spec.bodies);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`loadgen failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
