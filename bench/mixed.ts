/**
 * Runs the mixed-load generator (bench/mixed-load.ts) in its own process, like runLoad does
 * autocannon: the spec goes through a file, `onWarm` runs between its warm-up and the measured
 * part, and its answer is one MixedResult with every request's record.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './measure.js';
import type { KindResult, MixedResult, MixedSpec, RequestRecord } from './mixed-spec.js';
import { setNice, spawnNode } from './procs.js';
import { fmt } from './report.js';

export async function runMixed(
  where: { logDir: string; log: Log; settings: { nice: boolean } },
  label: string,
  spec: MixedSpec,
  onWarm: () => void = () => undefined,
): Promise<MixedResult> {
  const specFile = join(where.logDir, `mixed-${label.replace(/\W+/g, '-')}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const child = spawnNode('bench/mixed-load.ts', { env: {}, args: [specFile], stdin: true });
  if (where.settings.nice) setNice(child.pid, -10);
  let out = '';
  let err = '';
  let warm = !spec.warmup;
  child.child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (!warm && out.startsWith('{"warm":true}\n')) {
      warm = true;
      out = out.slice(out.indexOf('\n') + 1);
      onWarm();
      child.child.stdin?.end('go\n');
    }
  });
  if (!spec.warmup) onWarm();
  child.child.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
  });
  await child.exited;
  const line = out.trim().split('\n').pop() ?? '';
  if (child.child.exitCode !== 0 || !line.startsWith('{')) throw new Error(`mixed load generator for ${label} failed (code ${child.child.exitCode}): ${err}`);
  const result = JSON.parse(line) as MixedResult;
  const parts = Object.entries(result.kinds).map(([kind, k]) => `${kind} ${describe(k)}`);
  where.log(`  ${label}: ${fmt((result.endedAt - result.startedAt) / 1000, 2)} s; ${parts.join('; ')}`);
  return result;
}

function describe(k: KindResult): string {
  const errors = k.errors ? `, ${k.errors} errors` : '';
  const lag = k.sendLag ? `, send lag p99 ${fmt(k.sendLag.p99, 1)} ms` : '';
  return `${k.sent} sent, ${fmt(k.rps, 0)}/s 2xx, p50 ${fmt(k.latency.p50, 2)} ms, p99 ${fmt(k.latency.p99, 2)} ms, status ${JSON.stringify(k.statusCounts)}${errors}${lag}`;
}

/** The records of one kind (by its index in the spec). */
export function recordsOf(result: MixedResult, kindIndex: number): RequestRecord[] {
  return result.records.filter((r) => r[0] === kindIndex);
}

export const isOk = (r: RequestRecord) => r[4] >= 200 && r[4] < 300;

/** Acked, and the ack itself refused it as busy (nothing was taken). */
export const isBusyAck = (r: RequestRecord) => isOk(r) && r[5] === 1;
