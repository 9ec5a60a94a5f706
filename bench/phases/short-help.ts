/**
 * A short `help` load on a bot of its own (from source, on the embedded store): how fast it acks
 * and, with the process's memory read after, what it holds. The same load for each such bot.
 */
import { helpBodies } from '../bodies.js';
import type { LoadResult } from '../loadgen.js';
import { runLoad } from '../measure.js';
import type { PhaseContext } from './context.js';

export function measureShortHelp(ctx: PhaseContext, meterName: string, label: string, url: string, warmupSeconds: number): Promise<LoadResult> {
  const { settings } = ctx;
  const bodies = helpBodies(ctx.people.burst, ctx.rig.slack, 2_000);
  const spec = { url, connections: settings.connections, durationSec: settings.sourceSeconds, bodies, warmup: { durationSec: warmupSeconds, bodies } };
  return ctx.meter.measure(meterName, (restart) => runLoad(ctx, label, spec, restart));
}
