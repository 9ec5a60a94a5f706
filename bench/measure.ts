/**
 * The measuring tools every phase shares: a Meter that times each measured window and notes how
 * much CPU the rig and other work took during it, a PhaseClock for the run's progress lines,
 * `runLoad` (one load-generator process per load), waiting for the bot to finish or go quiet,
 * and the arithmetic that turns a burst's rounds into one set of figures (their medians).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './loadgen.js';
import { cpuAccount, otherCpuShare, ownCpuShare, setNice, spawnNode } from './procs.js';
import { fmt } from './report.js';
import type { Rig } from './rig.js';

export type Log = (line: string) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** Times measured windows by label, and what the machine's CPU did meanwhile. */
export class Meter {
  /** Share of the machine's CPU other work (not this benchmark) took during each measured window. */
  readonly interference: Record<string, number> = {};
  /** Share of the machine's CPU the benchmark's own processes (bot, emulators, fake Slack, load generator) took during each measured window. */
  readonly rigLoad: Record<string, number> = {};
  /** When each measured window ran (performance.now()), to find it in a CPU profile. */
  readonly windows: Record<string, [number, number]> = {};

  constructor(private readonly log: Log) {}

  /** Runs a measured window; `restart` moves its start to now (after a warm-up). */
  async measure<T>(label: string, run: (restart: () => void) => Promise<T>): Promise<T> {
    let before = cpuAccount();
    let t = performance.now();
    const out = await run(() => {
      before = cpuAccount();
      t = performance.now();
    });
    this.windows[label] = [t, performance.now()];
    const after = cpuAccount();
    const other = otherCpuShare(before, after, performance.now() - t);
    this.interference[label] = other;
    this.rigLoad[label] = ownCpuShare(before, after, performance.now() - t);
    if (other > 0.1) this.log(`  ! other work on this machine took ${fmt(other * 100, 0)}% of its CPU during ${label}`);
    return out;
  }
}

/** How long each step of the run took, logged as it ends. */
export class PhaseClock {
  readonly seconds: Record<string, number> = {};
  private readonly startedAt = performance.now();
  private stepStartedAt = this.startedAt;

  constructor(private readonly log: Log) {}

  done(label: string): void {
    const now = performance.now();
    this.seconds[label] = (now - this.stepStartedAt) / 1000;
    this.log(`[${fmt((now - this.startedAt) / 1000, 1)} s] ${label}: ${fmt((now - this.stepStartedAt) / 1000, 1)} s`);
    this.stepStartedAt = now;
  }

  totalSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}

/** Runs the load generator on `spec`; after its warm-up (if any), `onWarm` runs before the measured part starts. */
export async function runLoad(
  where: { logDir: string; log: Log; settings: { nice: boolean } },
  label: string,
  spec: LoadSpec,
  onWarm: () => void = () => undefined,
): Promise<LoadResult> {
  const specFile = join(where.logDir, `load-${label.replace(/\W+/g, '-')}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const child = spawnNode('bench/loadgen.ts', { env: {}, args: [specFile], stdin: true });
  // It shares its CPU with the emulators, fake Slack and proxies: its clock must not wait for them.
  if (where.settings.nice) setNice(child.pid, -10);
  let out = '';
  let err = '';
  child.child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (out.startsWith('{"warm":true}\n')) {
      out = out.slice(out.indexOf('\n') + 1);
      onWarm();
      child.child.stdin?.end('go\n');
    }
  });
  child.child.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
  });
  await child.exited;
  const line = out.trim().split('\n').pop() ?? '';
  if (child.child.exitCode !== 0 || !line.startsWith('{')) throw new Error(`load generator for ${label} failed (code ${child.child.exitCode}): ${err}`);
  const result = JSON.parse(line) as LoadResult;
  if (spec.amount && result.bodiesUsed > spec.bodies.length)
    where.log(`  ! ${label}: ${result.bodiesUsed} bodies prepared for ${spec.bodies.length}: some were sent twice`);
  where.log(
    `  ${label}: ${result.requests} requests in ${fmt(result.durationSec, 2)} s, ${fmt(result.rps, 0)}/s 2xx, p50 ${fmt(result.latency.p50, 2)} ms, p99 ${fmt(result.latency.p99, 2)} ms, status ${JSON.stringify(result.statusCounts)}${result.errors ? `, ${result.errors} errors` : ''}`,
  );
  return result;
}

/** Waits until `done()` or the time is up; true if done. */
export async function waitFor(done: () => boolean, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(50);
  }
  return done();
}

/** Waits until the bot's Slack, IAM and DynamoDB traffic has been still for `quietMs`. */
export async function settle(rig: Rig, quietMs = 500, maxSeconds = 30): Promise<void> {
  const activity = () => rig.slack.calls().length + rig.slack.responses().length + rig.iamCalls() + sum(Object.values(rig.dynamoProxy.snapshot().ops));
  let last = activity();
  let stillSince = Date.now();
  const deadline = Date.now() + maxSeconds * 1000;
  while (Date.now() - stillSince < quietMs && Date.now() < deadline) {
    await sleep(50);
    const now = activity();
    if (now !== last) {
      last = now;
      stillSince = Date.now();
    }
  }
}

/** Splits `items` into `n` nearly equal consecutive parts. */
export function rounds<T>(items: T[], n: number): T[][] {
  const size = Math.ceil(items.length / n);
  return Array.from({ length: n }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((r) => r.length > 0);
}

/** The p50, p90, p99 and largest of `values` (NaN when empty), and how many there were. */
export function quantiles(values: number[]): { p50: number; p90: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number) : Number.NaN;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN, n: sorted.length };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A burst run in rounds: every round's result, and their medians as the burst's figures. */
export type BurstResult = LoadResult & { rounds: LoadResult[] };

export function ofRounds(results: LoadResult[]): BurstResult {
  const sumOf = (pick: (r: LoadResult) => number) => results.reduce((a, r) => a + pick(r), 0);
  const statusCounts: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  return {
    requests: sumOf((r) => r.requests),
    ok2xx: sumOf((r) => r.ok2xx),
    statusCounts,
    errors: sumOf((r) => r.errors),
    timeouts: sumOf((r) => r.timeouts),
    durationSec: sumOf((r) => r.durationSec),
    rps: median(results.map((r) => r.rps)),
    latency: {
      p50: median(results.map((r) => r.latency.p50)),
      p90: median(results.map((r) => r.latency.p90)),
      p99: median(results.map((r) => r.latency.p99)),
      max: Math.max(...results.map((r) => r.latency.max)),
      mean: median(results.map((r) => r.latency.mean)),
    },
    autocannon: results[0]?.autocannon ?? { p50: Number.NaN, p99: Number.NaN, requestsPerSecAverage: Number.NaN, durationSec: Number.NaN },
    bodiesUsed: sumOf((r) => r.bodiesUsed),
    slowest: results
      .flatMap((r) => r.slowest)
      .sort((a, b) => b.latency_ms - a.latency_ms)
      .slice(0, 5),
    rounds: results,
  };
}

/** Each count divided by `n` (NaN when `n` is 0). */
export const perMap = (map: Record<string, number>, n: number) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, n ? v / n : Number.NaN]));
