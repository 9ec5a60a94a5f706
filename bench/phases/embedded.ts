/**
 * The embedded phase: the bot on the store `npm start` uses by default, STORE=embedded (dynalite and
 * LevelDB in the bot's own process, its data in the run folder), with live IAM on the shared rig:
 * its start-up, a short help load, then lifecycles end to end, for its memory and throughput.
 */
import { join } from 'node:path';
import { LEVELS } from '../fixtures.js';
import { runLifecycles } from '../lifecycle.js';
import { settle } from '../measure.js';
import { memoryMb, ProcessSampler } from '../procs.js';
import { fmt } from '../report.js';
import { startBotProcess } from '../rig.js';
import { BOT_TABLE } from '../settings.js';
import type { PhaseContext } from './context.js';
import { measureShortHelp } from './short-help.js';

export interface EmbeddedResult {
  how: string;
  startup_ms: number;
  rss_mb_after_start: number;
  help_rps: number;
  help_p99_ms: number;
  lifecycles: number;
  lifecycle_failures: number;
  lifecycle_per_s: number;
  peak_rss_mb: number;
  max_rss_mb_by_phase: Record<string, number>;
}

export async function measureEmbeddedStore(ctx: PhaseContext): Promise<EmbeddedResult> {
  const { settings } = ctx;
  const e = await startBotProcess(ctx.stoppers, ctx.rig, ctx.logDir, BOT_TABLE, undefined, {
    env: { STORE: 'embedded', DATA_DIR: join(ctx.logDir, 'embedded-data') },
    logName: 'bot-embedded.log',
    bundle: ctx.bundle,
  });
  const sampler = new ProcessSampler(e.process.pid);
  sampler.start();
  sampler.setPhase('help');
  const help = await measureShortHelp(ctx, 'embedded_help', 'embedded help', e.url, 1);
  sampler.setPhase('lifecycle');
  const run = await ctx.meter.measure('embedded_lifecycle', () =>
    runLifecycles({
      botUrl: e.url,
      slack: ctx.rig.slack,
      tracker: ctx.tracker,
      people: ctx.people.lifecycle,
      levels: LEVELS.map((l) => l.level),
      max: settings.embeddedLifecycleMax,
      seconds: settings.lifecycleSeconds,
      concurrency: settings.lifecycleConcurrency,
      keyPrefix: 'lc-embedded',
    }),
  );
  await settle(ctx.rig);
  sampler.stop();
  const result: EmbeddedResult = {
    how: 'the bundle (main.js) as the image runs it, STORE=embedded (DATA_DIR in the run folder), IAM_MODE=live',
    startup_ms: e.startupMs,
    rss_mb_after_start: e.rssAfterStartMb,
    help_rps: help.rps,
    help_p99_ms: help.latency.p99,
    lifecycles: run.completed.length,
    lifecycle_failures: run.failures.length,
    lifecycle_per_s: run.completed.length / (run.windowMs / 1000),
    peak_rss_mb: memoryMb(e.process.pid).peak,
    max_rss_mb_by_phase: Object.fromEntries(sampler.maxRssByPhase),
  };
  await e.process.stop('SIGTERM', 20_000);
  ctx.log(
    `  embedded: /healthz 200 after ${fmt(e.startupMs, 0)} ms; help ${fmt(help.rps, 0)}/s; ${run.completed.length} lifecycles (${run.failures.length} failed) at ${fmt(result.lifecycle_per_s, 2)}/s; peak RSS ${fmt(result.peak_rss_mb, 0)} MB`,
  );
  ctx.clock.done('embedded store (start-up, memory, lifecycles)');
  return result;
}
