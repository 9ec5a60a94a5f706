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
import type { EmbeddedResult } from './phases/embedded.js';
import type { HelpResult } from './phases/help.js';
import type { LifecycleResult } from './phases/lifecycle.js';
import type { WorkQueueVariantResult } from './phases/load-phases.js';
import type { RequestsResult } from './phases/requests.js';
import type { SaturationResult } from './phases/saturation.js';
import type { FromSourceResult } from './phases/source.js';
import type { SustainedResult } from './phases/sustained.js';
import { placement, ROOT } from './procs.js';
import type { Settings } from './settings.js';

/** Each phase's result; absent when the phase did not run. */
export interface PhaseResults {
  baseline?: BaselineResult;
  help?: HelpResult;
  lifecycle?: LifecycleResult;
  requests?: RequestsResult;
  approve?: ApproveResult;
  fromSource?: FromSourceResult;
  embedded?: EmbeddedResult;
  period?: PeriodResult;
  sustained?: SustainedResult;
  saturation?: SaturationResult;
  /** The load phases again on a bot whose work queue is set otherwise (absent with BENCH_WORK_QUEUE=off). */
  queueVariant?: WorkQueueVariantResult;
  identityScale?: IdentityScaleFigures;
  reviewScale?: ReviewScaleFigures;
}

/** The identity lookup with thousands of IAM users (bench/phases/identity-scale.ts): its contract fields, and any more. */
export interface IdentityScaleFigures {
  iam_users: number;
  iam_calls_per_lookup: number;
  [more: string]: unknown;
}

/** The access review with hundreds of group members (bench/phases/review-scale.ts): its contract fields, and any more. */
export interface ReviewScaleFigures {
  members: number;
  iam_calls: number;
  ms: number;
  [more: string]: unknown;
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

/** What each figure means, with the run's own durations. */
function notes(settings: Settings) {
  const load = `${settings.loadSeconds} s after a ${settings.warmupSeconds} s warm-up`;
  return {
    command_ack:
      'signed `/request-billing <level> 7d …` (a real request: acked at once, IAM and Slack calls after the ack), each from its own employee and level, all valid and unique, 50 connections, count-bounded, in rounds (each from a fresh load generator on a quiet bot); rps from the first request sent to the last answer; p50, p99 and rps are the medians of the rounds (each in extras.command_ack_burst.rounds)',
    command_ack_help: `signed \`/request-billing help\` from 2,000 rotating bodies (acked with the help text; no I/O), 50 connections, ${load}: the same bodies and load as the baseline`,
    baseline: `bare Bolt app acking the same help bodies for ${load}; request_burst: the same real-request bodies as the bot bursts, in the same rounds (medians); cpu_ms_per_request: its CPU over the help load only, per help request`,
    approve_ack:
      'signed Approve clicks, each on its own pending request made by the request bursts; count-bounded (one click per request), in rounds like command_ack (medians)',
    sustained: `per total rate (${settings.sustainedRates.join(', ')}/s), ${settings.sustainedRounds} round(s) of ${settings.sustainedSeconds} s: real requests (each from its own employee and level) and Approve clicks (each on its own pending request), half the rate each, taking turns on one fixed schedule (open loop: sent on time whatever the answers; bench/mixed-load.ts, up to 50 keep-alive connections), after a 1 s help warm-up, while the post-ack work runs; p50/p99 of each kind's acks (2xx) over all its rounds pooled, from handing the request to the connection pool to the end of the answer; bare: the bare Bolt app under the same loads in the same run, its rounds taking turns with the bot's (bare, bot, bare, bot), each side idle while the other is measured; details (each round's own acks, click → grant, drain, busy, lost, the load generator's own lateness) in extras.sustained`,
    saturation: `the mixed flood: real requests and Approve clicks as fast as the load generator can (closed loop, 25 connections each) for ${settings.saturationSeconds} s; acked: 2xx answers; busy: refused as busy (commands through response_url, clicks as ephemerals); p99_ms: all acks; drain_ms: from the last answer to every acked command answered and every acked click ended; lost: accepted (not busy) commands and clicks not where they should be, over both floods (commands request by request: confirmed and PENDING-posted, or refused as already pending with that request PENDING-posted; clicks: their requests ACTIVE, matched by count since a busy refusal names no request); click_p99_ms and grant_during_flood_ms (median click → grant announced): clicks at ${settings.floodClickRate}/s on 2 connections while commands flood the other 48; both floods in full in extras.saturation`,
    work_queue_variant:
      'the load phases again on a second bot process whose post-ack work queue is set otherwise (bench/bot-variant.ts, BENCH_WORK_QUEUE over WORK_QUEUE_OPTIONS), same people and loads, its own empty table; compared: at 150/s sustained, ack p99 and click → grant for the shipped setting and the variant, and the saturation figures',
    lifecycle_per_step:
      "lifecycles of their own, all requests first then all approvals, the bot quiet between, so each step's IAM calls (by action, counted by the proxy in front of moto), Slack calls (by method), WCU, RCU and bot CPU are its own; per lifecycle",
    lifecycle_call_floor:
      "lifecycle.call_floor: the bot's own clients (AWS SDK as src/deps.ts makes them, Slack's WebClient, fetch for response_url), in a process of their own on the bot's CPU, each calling a server that answers at once with a canned body (CPU per call, median of 5 rounds of 1,000), times the lifecycle phase's calls of each kind: what the calls alone cost, beside the measured CPU per lifecycle",
    cpu_pinning:
      'the process under test (bare Bolt, then the bot) alone on CPU 0; emulators, fake Slack, proxies and load generator on the others (BENCH_PIN=0: off)',
    capacity: 'table only (neither emulator reports index capacity); counts calls the bot sent without ReturnConsumedCapacity too (the proxy added TOTAL)',
    bot_under_test:
      "every bot process runs the bundle `npm run build` makes (ESM, split, the work thread an entry of its own), as the Docker image runs it: `node <bundle>/main.js` with the bot's V8 flags; from source under tsx, as `npm start` runs it, in extras.from_source_bot (BENCH_FROM_SOURCE=1 runs every phase so)",
    startup_ms: 'spawn of the bot process (`node main.js` of the bundle; no wrapper) to the first 200 from GET /healthz',
    peak_rss_mb: 'VmHWM of the bot process (both its threads), read at the end of the run (the sustained and saturation phases included)',
    lifecycle: 'request → confirmation → Approve click → requester told the grant is active; verified afterwards in IAM (GetGroup) and the table (ACTIVE)',
  };
}

/** The contract's `sustained` entries: rate, seconds a round, rounds, and the bot's and bare Bolt's ack p50/p99 per kind over their rounds. */
function sustainedContract(s: SustainedResult | undefined) {
  return (s?.steps ?? []).map((step) => ({
    rate: step.rate,
    seconds: step.seconds,
    rounds: step.rounds.length,
    command: step.command,
    click: step.click,
    bare: step.bare,
  }));
}

/** The contract's `saturation`, and the click figures of the command flood. */
function saturationContract(s: SaturationResult | undefined) {
  if (!s) return {};
  const { seconds, acked, busy, p99_ms, drain_ms, lost, click_p99_ms, grant_during_flood_ms } = s;
  return { seconds, acked, busy, p99_ms, drain_ms, lost, click_p99_ms, grant_during_flood_ms };
}

export function buildResults(run: RunRecord) {
  const { baseline, help, lifecycle, requests, approve, fromSource, embedded, period, sustained, saturation, queueVariant, identityScale, reviewScale } =
    run.phases;
  const nan = Number.NaN;
  const connections = run.settings.connections;
  return {
    baseline: { ack_rps: baseline?.rps ?? nan, ack_p50_ms: baseline?.latency.p50 ?? nan, ack_p99_ms: baseline?.latency.p99 ?? nan },
    command_ack: { rps: requests?.rps ?? nan, p50_ms: requests?.latency.p50 ?? nan, p99_ms: requests?.latency.p99 ?? nan, concurrency: connections },
    approve_ack: { rps: approve?.rps ?? nan, p50_ms: approve?.latency.p50 ?? nan, p99_ms: approve?.latency.p99 ?? nan, concurrency: connections },
    lifecycle: lifecycle?.contract ?? {},
    sustained: sustainedContract(sustained),
    saturation: saturationContract(saturation),
    ...(identityScale ? { identity_at_scale: identityScale } : {}),
    ...(reviewScale ? { review_at_scale: reviewScale } : {}),
    period_query: period?.period_query ?? {},
    summary: period?.summary ?? {},
    startup_ms: run.bot.startupMs,
    peak_rss_mb: run.bot.memory.peak,
    extras: {
      quick: run.settings.quick,
      run_at: new Date().toISOString(),
      /** How long each duration-bounded load ran (baseline and help), after its warm-up. */
      load_seconds: run.settings.loadSeconds,
      phases_run: [...run.settings.phases],
      machine: {
        cores: cpus().length,
        cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
        node: process.version,
        load_average_at_start: run.loadAverageAtStart,
        cpu_pinning: placement.underTest ? { under_test: placement.underTest, rest: placement.rest } : null,
      },
      other_cpu_share_during: run.meter.interference,
      rig_cpu_share_during: run.meter.rigLoad,
      notes: notes(run.settings),
      baseline: baseline ?? null,
      command_ack_burst: requests ?? null,
      command_ack_help: help ? { ...help, vs_baseline: baseline ? help.rps / baseline.rps : null } : null,
      approve_burst: approve ?? null,
      lifecycle: lifecycle?.extras ?? null,
      from_source_bot: fromSource ?? null,
      embedded_store_bot: embedded ?? null,
      sustained: sustained ?? null,
      saturation: saturation ?? null,
      work_queue_variant: queueVariant ?? null,
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
