/**
 * The bundled phase: the same bot built into one esbuild bundle and run by plain `node` (see
 * bench/bundled.ts), against the same rig (on an empty table of its own), under a short help
 * load: what the way the bot is launched costs in start-up time and memory.
 */
import { helpBodies } from '../bodies.js';
import { startBundledBot } from '../bundled.js';
import { runLoad } from '../measure.js';
import { memoryMb } from '../procs.js';
import { fmt } from '../report.js';
import { openBotTable } from '../setup.js';
import type { PhaseContext } from './context.js';

const BUNDLED_TABLE = 'bench-billing-access-bundled';

export interface BundledResult {
  how: string;
  bundle_bytes: number;
  build_ms: number;
  startup_ms: number;
  rss_mb_after_start: number;
  help_rps: number;
  help_p99_ms: number;
  help_seconds: number;
  peak_rss_mb: number;
}

export async function measureBundledBot(ctx: PhaseContext): Promise<BundledResult> {
  const { settings } = ctx;
  // A table of its own, empty: the bot sweeps its table 2 s after it starts, and what the phases
  // before left in the run's table (thousands of requests after the load phases) is not its memory.
  await openBotTable(ctx.stoppers, ctx.rig, BUNDLED_TABLE);
  const b = await startBundledBot(ctx.stoppers, ctx.rig, ctx.logDir, BUNDLED_TABLE);
  const bodies = helpBodies(ctx.people.burst, ctx.rig.slack, 2_000);
  const spec = {
    url: b.url,
    connections: settings.connections,
    durationSec: settings.bundledSeconds,
    bodies,
    warmup: { durationSec: settings.warmupSeconds, bodies },
  };
  const load = await ctx.meter.measure('bundled_help', (restart) => runLoad(ctx, 'bundled help', spec, restart));
  const result: BundledResult = {
    how: 'esbuild bundle of src/main.ts and src/work-thread.ts (ESM, split, minified, as npm run build), `node main.js`, same environment; dynalite left external',
    bundle_bytes: b.bundle_bytes,
    build_ms: b.build_ms,
    startup_ms: b.startup_ms,
    rss_mb_after_start: b.rss_mb_after_start,
    help_rps: load.rps,
    help_p99_ms: load.latency.p99,
    help_seconds: settings.bundledSeconds,
    peak_rss_mb: memoryMb(b.pid).peak,
  };
  await b.stop();
  ctx.log(
    `  bundled: /healthz 200 after ${fmt(b.startup_ms, 0)} ms, ${fmt(b.rss_mb_after_start, 0)} MB after start, ${fmt(result.peak_rss_mb, 0)} MB peak under ${settings.bundledSeconds} s of help`,
  );
  ctx.clock.done('bundled bot (start-up and memory)');
  return result;
}
