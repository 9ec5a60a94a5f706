/**
 * The bot under test (src/main.ts on STORE=dynamodb, behind the counting proxies), which the help,
 * lifecycle, request and approve phases load in turn: started once with an RSS sampler, stopped
 * after them with its start-up, memory, CPU and log problems read off. `burstInRounds` is how the
 * request and approve phases send a burst: round by round, each drained before the next.
 */
import { helpBodies } from '../bodies.js';
import type { LoadResult, SignedBody } from '../loadgen.js';
import { ofRounds, runLoad, settle, waitFor } from '../measure.js';
import { cpuMs, memoryMb, ProcessSampler } from '../procs.js';
import { fmt } from '../report.js';
import { logProblems, type StartedServer, startBotProcess } from '../rig.js';
import { BOT_TABLE } from '../settings.js';
import type { PhaseContext } from './context.js';

export interface BotUnderTest {
  /** `bot`, or `bot (<variant>)`. */
  name: string;
  server: StartedServer & { ownStartupMs: number | undefined };
  url: string;
  pid: number;
  /** Largest RSS per phase label (`setPhase` as each phase starts). */
  sampler: ProcessSampler;
}

/** What the bot's whole run showed, read as it stops. */
export interface BotFigures {
  startupMs: number;
  ownStartupMs: number | undefined;
  /** performance.now() at spawn: where a CPU profile's clock starts. */
  spawnedAt: number;
  memory: { rss: number; peak: number };
  cpuMsTotal: number;
  maxRssByPhase: Record<string, number>;
  logProblems: Record<string, number>;
}

/** Another bot than the one as shipped on the run's table: its table, the script it runs instead of src/main.ts, its log. */
export interface BotVariant {
  name: string;
  table: string;
  script: string;
  logName: string;
  /** Variables over the bot's usual environment. */
  env?: Record<string, string>;
}

export async function startBot(ctx: PhaseContext, variant?: BotVariant): Promise<BotUnderTest> {
  const server = await startBotProcess(
    ctx.stoppers,
    ctx.rig,
    ctx.logDir,
    variant?.table ?? BOT_TABLE,
    variant ? undefined : ctx.cpuProfiles.bot,
    variant ? { script: variant.script, logName: variant.logName, ...(variant.env ? { env: variant.env } : {}), bundle: ctx.bundle } : { bundle: ctx.bundle },
  );
  const name = variant ? `bot (${variant.name})` : 'bot';
  ctx.log(`  ${name}: /healthz 200 after ${fmt(server.startupMs, 0)} ms (its own startupMs: ${server.ownStartupMs ?? 'n/a'}); pid ${server.process.pid}`);
  const sampler = new ProcessSampler(server.process.pid);
  sampler.start();
  ctx.stoppers.add('RSS sampler', async () => sampler.stop());
  ctx.clock.done(`${name} start`);
  return { name, server, url: server.url, pid: server.process.pid, sampler };
}

/** Stops the bot (gracefully for longer when its bursts drained) and reads what its run showed. */
export async function stopBot(ctx: PhaseContext, bot: BotUnderTest, drained: boolean): Promise<BotFigures> {
  await ctx.seeding.pause();
  bot.sampler.setPhase('end');
  const memory = memoryMb(bot.pid);
  const cpuMsTotal = cpuMs(bot.pid);
  bot.sampler.stop();
  await bot.server.process.stop('SIGTERM', drained ? 20_000 : 3_000);
  const problems = logProblems(bot.server.logFile);
  ctx.clock.done(`stop the ${bot.name}`);
  return {
    startupMs: bot.server.startupMs,
    ownStartupMs: bot.server.ownStartupMs,
    spawnedAt: bot.server.process.spawnedAt,
    memory,
    cpuMsTotal,
    maxRssByPhase: Object.fromEntries(bot.sampler.maxRssByPhase),
    logProblems: problems,
  };
}

export interface Burst {
  /** The load's label in the log, by round (from 1). */
  label: (round: number) => string;
  /** The measured window's label; `_<round>` is appended. */
  window: string;
  bodyRounds: SignedBody[][];
  /** Whether the bot's post-ack work for the `answered` requests so far is finished. */
  done: (answered: number) => boolean;
}

/**
 * Sends each round of signed bodies to the bot (after a short help warm-up, from a fresh load
 * generator), waits until `done(answered so far)` says its post-ack work is finished, and lets
 * the bot settle before the next round. The seeding runs only while the bot drains.
 */
export async function burstInRounds(ctx: PhaseContext, bot: BotUnderTest, burst: Burst) {
  const results: LoadResult[] = [];
  const doneMs: number[] = [];
  let drained = true;
  let botCpuMs = 0;
  for (const [i, bodies] of burst.bodyRounds.entries()) {
    // Warmed with help (no side effects) from the same load-generator process just before.
    const warmup = { durationSec: 1, bodies: helpBodies(ctx.people.burst, ctx.rig.slack, 500) };
    let cpuBefore = 0;
    let started = 0;
    const spec = { url: bot.url, connections: ctx.settings.connections, durationSec: ctx.settings.loadSeconds, amount: bodies.length, bodies, warmup };
    const load = await ctx.meter.measure(`${burst.window}_${i + 1}`, (restart) =>
      runLoad(ctx, burst.label(i + 1), spec, () => {
        restart();
        cpuBefore = cpuMs(bot.pid);
        started = performance.now();
      }),
    );
    botCpuMs += cpuMs(bot.pid) - cpuBefore;
    results.push(load);
    ctx.seeding.resume();
    const answered = results.reduce((a, r) => a + r.ok2xx, 0);
    drained = (await waitFor(() => burst.done(answered), ctx.settings.drainSeconds)) && drained;
    doneMs.push(performance.now() - started);
    await settle(ctx.rig);
    await ctx.seeding.pause();
  }
  return { load: ofRounds(results), drained, doneMs, botCpuMs };
}
