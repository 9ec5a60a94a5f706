/**
 * The sustained phase: commands and clicks together at fixed total rates (50/s, then 150/s; each
 * kind half the rate, taking turns on one schedule) for `sustainedSeconds` each, while the bot's
 * post-ack work runs: real `/request-billing <level> 7d …` requests, each from its own employee
 * and level, and Approve clicks, each on its own pending request (made before the phase, or by
 * an earlier step's commands). The bare Bolt app gets the same kinds of bodies at the same rates
 * in the same run, first, on the same CPU, while the bot is idle. Reported per rate: ack p50/p99
 * of each kind beside bare Bolt's, the time from a click to its grant announced, and whether
 * every command and click ended where it should.
 */

import { helpTexts } from '../bodies.js';
import { SIGNING_SECRET } from '../fixtures.js';
import { settle } from '../measure.js';
import { isBusyAck, isOk, recordsOf, runMixed } from '../mixed.js';
import type { MixedResult, MixedSpec } from '../mixed-spec.js';
import { cpuMs } from '../procs.js';
import { fmt } from '../report.js';
import { startBare } from '../rig.js';
import { sustainedCounts, sustainedPrefill } from '../settings.js';
import type { PhaseContext } from './context.js';
import { readCounters, type StepCost, stepCost } from './lifecycle.js';
import {
  type CommandSend,
  checkClicks,
  checkCommands,
  clickBody,
  clickOutcomeSinceNow,
  clickToGrant,
  commandBody,
  commandKey,
  commandToReply,
  ensurePending,
  type LoadTarget,
  lostSamples,
  type Pair,
  type Pending,
  pushConfirmed,
  waitDrained,
} from './load-target.js';

export interface Ack {
  p50_ms: number;
  p99_ms: number;
}

/** One rate: the contract's fields (rate, seconds, command, click, bare), then the rest. */
export interface SustainedStep {
  rate: number;
  seconds: number;
  command: Ack;
  click: Ack;
  bare: { command: Ack; click: Ack };
  sent: { command: number; click: number };
  acked: { command: number; click: number };
  /** How late the load generator sent against its schedule (its own delays), p99 ms. */
  send_lag_p99_ms: number;
  click_to_grant: ReturnType<typeof clickToGrant>;
  command_to_reply: ReturnType<typeof commandToReply>;
  /** From the end of the load to every acked command answered and every acked click ended (grant, failure or refusal). */
  drain_ms: number;
  busy: { command: number; click: number };
  /** Accepted commands and clicks not found where they should be (see load-target.ts). */
  lost: number;
  /** The bot's CPU during the load only, per request sent. */
  bot_cpu_ms_per_request: number;
  /** What the bot did from the start of the load to the end of its drain, per accepted command or click. */
  cost_per_accepted: StepCost;
  bot_max_rss_mb: number;
}

export interface SustainedResult {
  steps: SustainedStep[];
  /** The bare Bolt app's figures by rate (measured once, in the run of the bot as shipped). */
  bare: BareStep[];
}

export interface BareStep {
  rate: number;
  command: Ack;
  click: Ack;
  sent: { command: number; click: number };
  send_lag_p99_ms: number;
}

const ack = (r: MixedResult, kind: string): Ack => ({ p50_ms: r.kinds[kind]?.latency.p50 ?? Number.NaN, p99_ms: r.kinds[kind]?.latency.p99 ?? Number.NaN });
const lagP99 = (r: MixedResult) => Math.max(...Object.values(r.kinds).map((k) => k.sendLag?.p99 ?? 0));

/** The mixed load of one step: commands and clicks at half the rate each, the clicks half an interval after the commands. */
function stepSpec(ctx: PhaseContext, url: string, rate: number, commands: string[], clicks: string[]): MixedSpec {
  const connections = ctx.settings.connections;
  return {
    url,
    signingSecret: SIGNING_SECRET,
    seconds: ctx.settings.sustainedSeconds,
    sharedConnections: connections,
    kinds: [
      { kind: 'command', bodies: commands, rate: rate / 2, offsetMs: 0, connections },
      { kind: 'click', bodies: clicks, rate: rate / 2, offsetMs: 1000 / rate, connections },
    ],
    warmup: { seconds: 1, bodies: helpTexts(ctx.people.burst, ctx.rig.slack, 500) },
  };
}

/** Runs the steps on `target`; `bare`: the bare Bolt figures already measured, else they are measured here first. */
export async function measureSustained(ctx: PhaseContext, target: LoadTarget, bare?: BareStep[]): Promise<SustainedResult> {
  const counts = sustainedCounts(ctx.settings);
  // The clicks' first requests, made now (not measured), and every step's commands, decided up front.
  await ensurePending(ctx, target, sustainedPrefill(ctx.settings), 'sustained');
  const prefill = target.pool.slice(0, sustainedPrefill(ctx.settings));
  const plan = counts.map((c) => {
    const pairs = target.pairs.take(c.commands);
    const keys = pairs.map((p) => commandKey(target, `s${c.rate}`, p));
    return { ...c, pairs, keys, bodies: pairs.map((p, i) => commandBody(ctx, keys[i] as string, p)) };
  });
  const bareSteps = bare ?? (await measureBare(ctx, plan, prefill));
  const steps: SustainedStep[] = [];
  for (const step of plan) {
    const bareStep = bareSteps.find((b) => b.rate === step.rate);
    steps.push(await botStep(ctx, target, step, bareStep));
  }
  ctx.clock.done(`sustained (${target.bot.name})`);
  return { steps, bare: bareSteps };
}

interface PlannedStep {
  rate: number;
  commands: number;
  clicks: number;
  pairs: Pair[];
  keys: string[];
  bodies: string[];
}

/** The bare Bolt app under each step's load: the same commands, and clicks on the prefill's requests (it only acks). */
async function measureBare(ctx: PhaseContext, plan: PlannedStep[], prefill: Pending[]): Promise<BareStep[]> {
  await settle(ctx.rig);
  const bare = await startBare(ctx.stoppers, ctx.rig, ctx.logDir);
  const out: BareStep[] = [];
  try {
    for (const step of plan) {
      const built = { name: 'bare', clicksBuilt: 0 };
      const clicks = Array.from({ length: step.clicks }, (_, i) => clickBody(ctx, built, prefill[i % prefill.length] as Pending, `s${step.rate}-click`));
      const r = await ctx.meter.measure(`sustained_bare_${step.rate}`, (restart) =>
        runMixed(ctx, `bare Bolt: sustained ${step.rate}/s`, stepSpec(ctx, bare.url, step.rate, step.bodies, clicks), restart),
      );
      out.push({
        rate: step.rate,
        command: ack(r, 'command'),
        click: ack(r, 'click'),
        sent: { command: r.kinds.command?.sent ?? 0, click: r.kinds.click?.sent ?? 0 },
        send_lag_p99_ms: lagP99(r),
      });
    }
  } finally {
    await bare.process.stop();
  }
  ctx.clock.done('sustained (bare Bolt)');
  return out;
}

async function botStep(ctx: PhaseContext, target: LoadTarget, step: PlannedStep, bare: BareStep | undefined): Promise<SustainedStep> {
  const { bot } = target;
  bot.sampler.setPhase(`sustained ${step.rate}/s (${target.name})`);
  await settle(ctx.rig);
  const clicked = target.pool.splice(0, step.clicks);
  if (clicked.length < step.clicks) throw new Error(`sustained ${step.rate}/s: ${step.clicks} pending requests needed, ${clicked.length} left`);
  const clickBodies = clicked.map((p) => clickBody(ctx, target, p, `s${step.rate}-click`));
  const outcome = clickOutcomeSinceNow(ctx);
  let cpuBefore = 0;
  let countersBefore = readCounters(ctx, bot);
  const window = `sustained_${target.name}_${step.rate}`;
  const r = await ctx.meter.measure(window, (restart) =>
    runMixed(ctx, `${bot.name}: sustained ${step.rate}/s`, stepSpec(ctx, bot.url, step.rate, step.bodies, clickBodies), () => {
      restart();
      cpuBefore = cpuMs(bot.pid);
      countersBefore = readCounters(ctx, bot);
    }),
  );
  const cpu = cpuMs(bot.pid) - cpuBefore;
  const sends: CommandSend[] = recordsOf(r, 0).map((rec) => ({
    key: step.keys[rec[1] % step.keys.length] as string,
    pair: step.pairs[rec[1] % step.pairs.length] as Pair,
    acked: isOk(rec),
    busyAck: isBusyAck(rec),
    sentAt: rec[2],
  }));
  const clickRecords = recordsOf(r, 1);
  const drainMs = await ctx.meter.measure(`${window}_drain`, () => waitDrained(ctx, sends, clickRecords.filter(isOk).length, outcome, r.endedAt));
  await settle(ctx.rig);
  const countersAfter = readCounters(ctx, bot);
  const pendingOf = (i: number) => clicked[i % clicked.length] as Pending;
  const commands = await checkCommands(target, ctx, sends);
  const clicks = await checkClicks(target, clickRecords, pendingOf, outcome());
  const added = pushConfirmed(ctx, target, step.keys, step.pairs);
  const result: SustainedStep = {
    rate: step.rate,
    seconds: ctx.settings.sustainedSeconds,
    command: ack(r, 'command'),
    click: ack(r, 'click'),
    bare: { command: bare?.command ?? { p50_ms: Number.NaN, p99_ms: Number.NaN }, click: bare?.click ?? { p50_ms: Number.NaN, p99_ms: Number.NaN } },
    sent: { command: r.kinds.command?.sent ?? 0, click: r.kinds.click?.sent ?? 0 },
    acked: { command: commands.acked, click: clicks.acked },
    send_lag_p99_ms: lagP99(r),
    click_to_grant: clickToGrant(ctx, clickRecords, pendingOf),
    command_to_reply: commandToReply(ctx, sends),
    drain_ms: drainMs,
    busy: { command: commands.busy, click: clicks.busy },
    lost: commands.lost + clicks.lost,
    bot_cpu_ms_per_request: cpu / Math.max(1, sends.length + clickRecords.length),
    cost_per_accepted: stepCost(ctx, countersBefore, countersAfter, commands.accepted + clicks.accepted),
    bot_max_rss_mb: bot.sampler.maxRssByPhase.get(`sustained ${step.rate}/s (${target.name})`) ?? Number.NaN,
  };
  ctx.log(
    `  ${bot.name}: sustained ${step.rate}/s: grants ${result.click_to_grant.granted}/${clicks.acked} (click → grant p50 ${fmt(result.click_to_grant.p50_ms, 0)} ms, p90 ${fmt(result.click_to_grant.p90_ms, 0)} ms); ${added} requests confirmed; drained ${fmt(drainMs / 1000, 1)} s after the load; busy ${commands.busy}+${clicks.busy}; lost ${result.lost}${lostSamples(commands, clicks)}`,
  );
  return result;
}
