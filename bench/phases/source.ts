/**
 * The bot from source, as `npm start` runs it (`node --import tsx src/main.ts`; the work thread
 * loads tsx itself), against the same rig on an empty table of its own, under a short help
 * load: what running from source costs in start-up time and memory beside the bundle every
 * other phase measures.
 */
import { memoryMb } from '../procs.js';
import { fmt } from '../report.js';
import { startBotProcess } from '../rig.js';
import { openBotTable } from '../setup.js';
import type { PhaseContext } from './context.js';
import { measureShortHelp } from './short-help.js';

const SOURCE_TABLE = 'bench-billing-access-source';

export interface FromSourceResult {
  how: string;
  startup_ms: number;
  rss_mb_after_start: number;
  help_rps: number;
  help_p99_ms: number;
  help_seconds: number;
  peak_rss_mb: number;
}

export async function measureFromSource(ctx: PhaseContext): Promise<FromSourceResult> {
  const { settings } = ctx;
  // A table of its own, empty: the bot sweeps its table 2 s after it starts, and what the phases
  // before left in the run's table (thousands of requests after the load phases) is not its memory.
  await openBotTable(ctx.stoppers, ctx.rig, SOURCE_TABLE);
  const bot = await startBotProcess(ctx.stoppers, ctx.rig, ctx.logDir, SOURCE_TABLE, undefined, { logName: 'bot-source.log' });
  const load = await measureShortHelp(ctx, 'source_help', 'from source help', bot.url, settings.warmupSeconds);
  const result: FromSourceResult = {
    how: "`node --import tsx src/main.ts` with the bot's V8 flags, as `npm start` runs it; same environment",
    startup_ms: bot.startupMs,
    rss_mb_after_start: bot.rssAfterStartMb,
    help_rps: load.rps,
    help_p99_ms: load.latency.p99,
    help_seconds: settings.sourceSeconds,
    peak_rss_mb: memoryMb(bot.process.pid).peak,
  };
  await bot.process.stop('SIGTERM', 10_000);
  ctx.log(
    `  from source: /healthz 200 after ${fmt(result.startup_ms, 0)} ms, ${fmt(result.rss_mb_after_start, 0)} MB after start, ${fmt(result.peak_rss_mb, 0)} MB peak under ${settings.sourceSeconds} s of help`,
  );
  ctx.clock.done('bot from source (start-up and memory)');
  return result;
}
