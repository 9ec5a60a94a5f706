/**
 * The run's results as bench/results.json holds them: the PRODUCT §6 figures at the top level
 * (NaN or empty where a phase did not run), and under `extras` every phase's full result, the
 * machine, the CPU shares per measured window, what each figure means, and the run's timings.
 * Written to bench/results.json after a complete run, to the run's temp folder otherwise.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Meter, PhaseClock } from './measure.js';
import type { PeriodResult } from './period.js';
import type { ApproveResult } from './phases/approve.js';
import type { BaselineResult } from './phases/baseline.js';
import type { BotFigures } from './phases/bot.js';
import type { BundledResult } from './phases/bundled.js';
import type { EmbeddedResult } from './phases/embedded.js';
import type { HelpResult } from './phases/help.js';
import type { LifecycleResult } from './phases/lifecycle.js';
import type { RequestsResult } from './phases/requests.js';
import { placement, ROOT } from './procs.js';
import type { Settings } from './settings.js';

/** Each phase's result; absent when the phase did not run. */
export interface PhaseResults {
  baseline?: BaselineResult;
  help?: HelpResult;
  lifecycle?: LifecycleResult;
  requests?: RequestsResult;
  approve?: ApproveResult;
  bundled?: BundledResult;
  embedded?: EmbeddedResult;
  period?: PeriodResult;
}

export interface RunRecord {
  settings: Settings;
  phases: PhaseResults;
  bot: BotFigures;
  meter: Meter;
  clock: PhaseClock;
  loadAverageAtStart: number[];
  cpuProfileDir: string | undefined;
}

const NOTES = {
  command_ack:
    'signed `/request-billing <level> 7d …` (a real request: acked at once, IAM and Slack calls after the ack), each from its own employee and level, all valid and unique, 50 connections, count-bounded, in rounds (each from a fresh load generator on a quiet bot); rps from the first request sent to the last answer; p50, p99 and rps are the medians of the rounds (each in extras.command_ack_burst.rounds)',
  command_ack_help:
    'signed `/request-billing help` from 2,000 rotating bodies (acked with the help text; no I/O), 50 connections, 10 s after a 2 s warm-up: the same bodies and load as the baseline',
  baseline:
    'bare Bolt app acking the same help bodies for 10 s after a warm-up; request_burst: the same real-request bodies as the bot bursts, in the same rounds (medians)',
  approve_ack:
    'signed Approve clicks, each on its own pending request made by the request bursts; count-bounded (one click per request), in rounds like command_ack (medians)',
  cpu_pinning:
    'the process under test (bare Bolt, then the bot) alone on CPU 0; emulators, fake Slack, proxies and load generator on the others (BENCH_PIN=0: off)',
  capacity: 'table only (neither emulator reports index capacity); counts calls the bot sent without ReturnConsumedCapacity too (the proxy added TOTAL)',
  startup_ms: 'spawn of `node --import tsx src/main.ts` (no tsx CLI wrapper) to the first 200 from GET /healthz',
  peak_rss_mb: 'VmHWM of the bot process (the node process running src/main.ts), read at the end of the run',
  lifecycle: 'request → confirmation → Approve click → requester told the grant is active; verified afterwards in IAM (GetGroup) and the table (ACTIVE)',
};

export function buildResults(run: RunRecord) {
  const { baseline, help, lifecycle, requests, approve, bundled, embedded, period } = run.phases;
  const nan = Number.NaN;
  const connections = run.settings.connections;
  return {
    baseline: { ack_rps: baseline?.rps ?? nan, ack_p50_ms: baseline?.latency.p50 ?? nan, ack_p99_ms: baseline?.latency.p99 ?? nan },
    command_ack: { rps: requests?.rps ?? nan, p50_ms: requests?.latency.p50 ?? nan, p99_ms: requests?.latency.p99 ?? nan, concurrency: connections },
    approve_ack: { rps: approve?.rps ?? nan, p50_ms: approve?.latency.p50 ?? nan, p99_ms: approve?.latency.p99 ?? nan, concurrency: connections },
    lifecycle: lifecycle?.contract ?? {},
    period_query: period?.period_query ?? {},
    summary: period?.summary ?? {},
    startup_ms: run.bot.startupMs,
    peak_rss_mb: run.bot.memory.peak,
    extras: {
      quick: run.settings.quick,
      phases_run: [...run.settings.phases],
      machine: {
        cores: cpus().length,
        node: process.version,
        load_average_at_start: run.loadAverageAtStart,
        cpu_pinning: placement.underTest ? { under_test: placement.underTest, rest: placement.rest } : null,
      },
      other_cpu_share_during: run.meter.interference,
      rig_cpu_share_during: run.meter.rigLoad,
      notes: NOTES,
      baseline: baseline ?? null,
      command_ack_burst: requests ?? null,
      command_ack_help: help ? { ...help, vs_baseline: baseline ? help.rps / baseline.rps : null } : null,
      approve_burst: approve ?? null,
      lifecycle: lifecycle?.extras ?? null,
      bundled_bot: bundled ?? null,
      embedded_store_bot: embedded ?? null,
      bot: botExtras(run),
      period: period ? { seed: period.seed, week: period.week, runs_ms: period.runs } : null,
      phases_s: run.clock.seconds,
      total_s: run.clock.totalSeconds(),
    },
  };
}

export type BenchResults = ReturnType<typeof buildResults>;

function botExtras(run: RunRecord) {
  const { bot } = run;
  return {
    startup_ms: bot.startupMs,
    own_startup_ms: bot.ownStartupMs ?? null,
    vm_rss_mb_at_end: bot.memory.rss,
    max_rss_mb_by_phase: bot.maxRssByPhase,
    cpu_ms_total: bot.cpuMsTotal,
    log_warnings: bot.logProblems,
    // Each measured phase, in ms since the bot was spawned (a CPU profile's clock starts about there).
    phase_windows_ms: Object.fromEntries(
      Object.entries(run.meter.windows)
        .filter(([, [from]]) => from >= bot.spawnedAt)
        .map(([k, [from, to]]) => [k, [Math.round(from - bot.spawnedAt), Math.round(to - bot.spawnedAt)]]),
    ),
    ...(run.cpuProfileDir ? { cpu_profile_dir: run.cpuProfileDir } : {}),
  };
}

/** Writes the results: to bench/results.json after a complete run (formatted as the project's formatter wants), else to the run's folder. Returns the file. */
export function writeResults(results: BenchResults, complete: boolean, logDir: string): string {
  const file = complete ? join(ROOT, 'bench', 'results.json') : join(logDir, 'results.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  // In the shape the project's formatter wants, so `npm run lint` stays clean after a run.
  if (complete) spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', file], { cwd: ROOT, stdio: 'ignore' });
  return file;
}
