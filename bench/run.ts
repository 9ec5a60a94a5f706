/**
 * `npm run bench`: the performance figures of PRODUCT §6, measured on this machine in one run,
 * beside a bare Bolt app. Starts everything on 127.0.0.1 (setup.ts), runs the selected phases in
 * order (one module each under bench/phases/), drives them with autocannon (bounded in count and
 * time), prints a table against the budgets and writes bench/results.json.
 *
 * Environment:
 *   BENCH_QUICK=1       small counts, to try the harness (figures not comparable; results.json not written)
 *   BENCH_PHASES=a,b    only these phases: period, baseline, help, lifecycle, requests, approve, sustained, saturation,
 *                       source, embedded, identity-scale, review-scale (approve needs requests); results.json is
 *                       written only when all ran
 *   BENCH_WORK_QUEUE='{"thread":false}'   sustained and saturation also on a second bot that does its post-ack
 *                       work so (JSON over WORK_QUEUE_OPTIONS, plus `thread`; this, the work in the thread that
 *                       answers Slack with the acks-first pause, is the default), for extras.work_queue_variant;
 *                       `off`: on the bot as shipped only
 *   BENCH_CPU_PROF=1    the bot runs with --cpu-prof; the profile's folder is printed (=all: the bare Bolt app too)
 *   BENCH_FROM_SOURCE=1 every bot process runs from source under tsx, as `npm start` does (readable CPU profiles);
 *                       by default they run the bundle `npm run build` makes, as the Docker image does
 *   BENCH_KEEP=1        keep the logs (bot, bare Bolt, load specs) in the temp folder
 *   BENCH_BOT_NODE_ARGS='--trace-gc'   extra node arguments for the bot (diagnosis; its log gets V8's lines)
 *   BENCH_BOT_ENV='{"MALLOC_ARENA_MAX":"2"}'   extra variables for every bot process (a trial of a setting)
 *   BENCH_SUSTAINED_RATES=150   the sustained phase at these total rates only (default 50,150)
 *                       (with any of these three, or BENCH_QUICK, results.json is not written as a complete run)
 *   BENCH_PIN=0         no CPU pinning (by default the process under test has CPU 0 to itself; see procs.ts)
 *   BENCH_NICE=0        the emulators run at normal priority (by default they yield to the bot and the load generator)
 */
import '../src/sdk-node-warning.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Log, Meter, PhaseClock } from './measure.js';
import { measureApproveBursts } from './phases/approve.js';
import { measureBaseline } from './phases/baseline.js';
import { type BotFigures, startBot, stopBot } from './phases/bot.js';
import type { PhaseContext } from './phases/context.js';
import { measureEmbeddedStore } from './phases/embedded.js';
import { measureHelp } from './phases/help.js';
import { measureIdentityAtScale } from './phases/identity-scale.js';
import { measureLifecycles } from './phases/lifecycle.js';
import { loadDrained, measureQueueVariant, runLoadPhases } from './phases/load-phases.js';
import { newTarget } from './phases/load-target.js';
import type { PeriodSeeding } from './phases/period.js';
import { measureRequestBursts } from './phases/requests.js';
import { measureReviewAtScale } from './phases/review-scale.js';
import { measureFromSource } from './phases/source.js';
import { placement } from './procs.js';
import { fmt, table } from './report.js';
import { type BenchResults, buildResults, type PhaseResults, writeResults } from './results.js';
import { Stoppers } from './rig.js';
import { cpuProfileDirs, isComplete, readSettings, type Settings } from './settings.js';
import { setUp } from './setup.js';
import { tableRows } from './table-rows.js';

const log: Log = (line) => process.stderr.write(`${line}\n`);

/** Set once SIGINT or SIGTERM has started stopping everything. */
const shutdown = { interrupted: false };

/**
 * The bot's phases on one bot process (the load phases last: they leave thousands of requests in
 * its table), then the load phases again on a bot whose work queue is set otherwise, then the
 * variants on their own, identity and review at account scale, then the period reads (its
 * seeding done by then).
 */
async function runPhases(ctx: PhaseContext, period: PeriodSeeding | undefined): Promise<{ phases: PhaseResults; bot: BotFigures }> {
  const selected = ctx.settings.phases;
  const phases: PhaseResults = {};
  if (selected.has('baseline')) phases.baseline = await measureBaseline(ctx);
  const bot = await startBot(ctx);
  if (selected.has('help')) phases.help = await measureHelp(ctx, bot);
  if (selected.has('lifecycle')) phases.lifecycle = await measureLifecycles(ctx, bot);
  if (selected.has('requests')) phases.requests = await measureRequestBursts(ctx, bot);
  if (selected.has('approve') && phases.requests) phases.approve = await measureApproveBursts(ctx, bot);
  const loadSelected = selected.has('sustained') || selected.has('saturation');
  const load = loadSelected ? await runLoadPhases(ctx, newTarget(ctx, 'shipped', bot, ctx.observers.requests)) : {};
  Object.assign(phases, load);
  const drained = (phases.requests?.drained ?? true) && (phases.approve?.drained ?? true) && loadDrained(load);
  const botFigures = await stopBot(ctx, bot, drained);
  if (loadSelected && ctx.settings.workQueueVariant) phases.queueVariant = await measureQueueVariant(ctx, load, ctx.settings.workQueueVariant);
  if (selected.has('source')) phases.fromSource = await measureFromSource(ctx);
  if (selected.has('embedded')) phases.embedded = await measureEmbeddedStore(ctx);
  if (selected.has('identity-scale')) phases.identityScale = await measureIdentityAtScale(ctx);
  if (selected.has('review-scale')) phases.reviewScale = await measureReviewAtScale(ctx);
  if (period) phases.period = await period.measure(ctx);
  return { phases, bot: botFigures };
}

function banner(settings: Settings, loadAtStart: number[], logDir: string): string {
  const pinning = placement.underTest ? `process under test on CPU ${placement.underTest}, the rest on CPU ${placement.rest}` : 'no CPU pinning';
  const quick = settings.quick ? ' (BENCH_QUICK: small counts, figures not comparable)' : '';
  return `billing-access bot benchmark${quick}; ${cpus().length} cores, load average ${loadAtStart.map((l) => fmt(l, 2)).join(' ')}; ${pinning}; logs in ${logDir}`;
}

/** What the run prints after its table: interference, where the results went, the bot's log problems, the CPU profile. */
interface Footer {
  results: BenchResults;
  resultsFile: string;
  complete: boolean;
  meter: Meter;
  bot: BotFigures;
  cpuProfileDir: string | undefined;
}

function printReport(tableText: string, footer: Footer): void {
  const { results, resultsFile, complete, meter, bot, cpuProfileDir } = footer;
  process.stdout.write(`\n${tableText}\n\n`);
  const busy = Object.entries(meter.interference).filter(([, share]) => share > 0.1);
  if (busy.length)
    process.stdout.write(
      `Other work on this machine took CPU during: ${busy.map(([k, v]) => `${k} ${fmt(v * 100, 0)}%`).join(', ')}; those figures are not comparable.\n`,
    );
  const where = complete ? `Wrote ${resultsFile}` : `Partial or quick run: results in ${resultsFile}`;
  process.stdout.write(`${where}; total ${fmt(results.extras.total_s, 1)} s.\n`);
  if (Object.keys(bot.logProblems).length) process.stdout.write(`Bot log warnings and errors: ${JSON.stringify(bot.logProblems)}\n`);
  if (cpuProfileDir) process.stdout.write(`CPU profile of the bot: ${cpuProfileDir}\n`);
}

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const clock = new PhaseClock(log);
  const meter = new Meter(log);
  const logDir = mkdtempSync(join(tmpdir(), 'billing-bench-'));
  const cpuProfiles = cpuProfileDirs(settings, logDir);
  const stoppers = new Stoppers();
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.interrupted) return;
    shutdown.interrupted = true;
    log(`${signal}: stopping everything`);
    void stoppers.stopAll(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const loadAverageAtStart = loadavg();
  let ok = false;
  try {
    log(banner(settings, loadAverageAtStart, logDir));
    const { ctx, period } = await setUp({ settings, stoppers, logDir, log, meter, clock, cpuProfiles });
    const { phases, bot } = await runPhases(ctx, period);
    const results = buildResults({ settings, phases, bot, meter, clock, loadAverageAtStart, cpuProfileDir: cpuProfiles.bot });
    const complete = isComplete(settings);
    const resultsFile = writeResults(results, complete, logDir);
    printReport(table(tableRows(phases, bot, settings)), { results, resultsFile, complete, meter, bot, cpuProfileDir: cpuProfiles.bot });
    ok = complete;
  } finally {
    await stoppers.stopAll(log);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (ok && !settings.keepLogs) rmSync(logDir, { recursive: true, force: true });
    else log(`logs kept in ${logDir}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (shutdown.interrupted) return;
    log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
