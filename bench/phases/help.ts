/**
 * The help phase: `/request-billing help` (acked with the help text, no I/O) sent to the bot
 * from 2,000 rotating signed bodies for `loadSeconds` after a warm-up, the same bodies and load
 * the bare Bolt baseline got: the bot's ack latency and throughput where the command does no
 * work, and the bot's CPU per request.
 */
import { helpBodies } from '../bodies.js';
import type { LoadResult } from '../loadgen.js';
import { runLoad } from '../measure.js';
import { cpuMs } from '../procs.js';
import type { BotUnderTest } from './bot.js';
import type { PhaseContext } from './context.js';

export type HelpResult = LoadResult & { bot_cpu_ms_per_request: number };

export async function measureHelp(ctx: PhaseContext, bot: BotUnderTest): Promise<HelpResult> {
  bot.sampler.setPhase('command_ack');
  const bodies = helpBodies(ctx.people.burst, ctx.rig.slack, 2_000);
  const warmup = { durationSec: ctx.settings.warmupSeconds, bodies };
  const spec = { url: bot.url, connections: ctx.settings.connections, durationSec: ctx.settings.loadSeconds, bodies, warmup };
  let cpuBefore = 0;
  const load = await ctx.meter.measure('command_ack', (restart) =>
    runLoad(ctx, 'command_ack (help)', spec, () => {
      restart();
      cpuBefore = cpuMs(bot.pid);
    }),
  );
  const result = { ...load, bot_cpu_ms_per_request: (cpuMs(bot.pid) - cpuBefore) / Math.max(1, load.requests) };
  ctx.clock.done('command_ack (help)');
  return result;
}
