/**
 * The baseline phase: a bare Bolt app (bench/bare-bolt.ts) under the same loads as the bot, so
 * the bot's figures read as a share of what Bolt alone does on this machine. First the help load
 * (duration-bounded, after a warm-up), then the bursts' real-request bodies in the same rounds as
 * the bot gets them; with its start-up time, memory and CPU per request.
 */
import { helpBodies, sign } from '../bodies.js';
import type { LoadResult, SignedBody } from '../loadgen.js';
import { type BurstResult, ofRounds, rounds, runLoad } from '../measure.js';
import { cpuMs, memoryMb } from '../procs.js';
import { type StartedServer, startBare } from '../rig.js';
import type { PhaseContext } from './context.js';

export type BaselineResult = LoadResult & {
  request_burst: BurstResult;
  startup_ms: number;
  rss_mb_after_start: number;
  cpu_ms_per_request: number;
  peak_rss_mb: number;
};

export async function measureBaseline(ctx: PhaseContext): Promise<BaselineResult> {
  const bare = await startBare(ctx.stoppers, ctx.rig, ctx.logDir, ctx.cpuProfiles.bare);
  const helpLoadBodies = helpBodies(ctx.people.burst, ctx.rig.slack, 2_000);
  let cpuBefore = 0;
  const load = await helpLoad(ctx, bare, helpLoadBodies, () => {
    cpuBefore = cpuMs(bare.process.pid);
  });
  // Its CPU over the help load alone (not the request bursts after it), per help request.
  const helpCpuMs = cpuMs(bare.process.pid) - cpuBefore;
  const burst = await requestBurst(ctx, bare, helpLoadBodies);
  const result: BaselineResult = {
    ...load,
    request_burst: burst,
    startup_ms: bare.startupMs,
    rss_mb_after_start: bare.rssAfterStartMb,
    cpu_ms_per_request: helpCpuMs / Math.max(1, load.requests),
    peak_rss_mb: memoryMb(bare.process.pid).peak,
  };
  await bare.process.stop();
  ctx.clock.done('baseline (bare Bolt)');
  return result;
}

/** The help bodies for `loadSeconds` after a warm-up: the load the bot's help phase gets. `onWarm` runs as the measured part starts. */
async function helpLoad(ctx: PhaseContext, bare: StartedServer, bodies: SignedBody[], onWarm: () => void): Promise<LoadResult> {
  const warmup = { durationSec: ctx.settings.warmupSeconds, bodies };
  const spec = { url: bare.url, connections: ctx.settings.connections, durationSec: ctx.settings.loadSeconds, bodies, warmup };
  return ctx.meter.measure('baseline', (restart) =>
    runLoad(ctx, 'baseline', spec, () => {
      restart();
      onWarm();
    }),
  );
}

/** The bursts' real requests, in the same rounds as the bot gets them (each after a 1 s warm-up on `warmupBodies`). */
async function requestBurst(ctx: PhaseContext, bare: StartedServer, warmupBodies: SignedBody[]): Promise<BurstResult> {
  const texts = ctx.burstRequests.map((r) => r.text);
  const results: LoadResult[] = [];
  for (const [i, round] of rounds(texts, ctx.settings.burstRounds).entries()) {
    results.push(
      await ctx.meter.measure(`baseline_request_burst_${i + 1}`, (restart) =>
        runLoad(
          ctx,
          `baseline (request burst ${i + 1})`,
          {
            url: bare.url,
            connections: ctx.settings.connections,
            durationSec: ctx.settings.loadSeconds,
            amount: round.length,
            bodies: round.map(sign),
            warmup: { durationSec: 1, bodies: warmupBodies },
          },
          restart,
        ),
      ),
    );
  }
  return ofRounds(results);
}
