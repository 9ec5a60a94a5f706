/**
 * The sustained phase: commands and clicks together at fixed total rates (50/s, then 150/s; each
 * kind half the rate, taking turns on one schedule) for `sustainedSeconds` a round, while the
 * bot's post-ack work runs: real `/request-billing <level> 7d …` requests, each from its own
 * employee and level, and Approve clicks, each on its own pending request (made before the phase,
 * or by an earlier round's commands). The bare Bolt app gets the same kinds of bodies at the same
 * rates on the same CPU, in rounds taking turns with the bot's (bare, bot, bare, bot), each while
 * the other side is idle: a slow minute of a shared machine lands on both sides rather than on
 * one, so the ratio says what the bot costs, not which side drew the slow minute. Reported per
 * rate: ack p50/p99 of each kind over every round's acks pooled, beside bare Bolt's pooled the
 * same way, and each round's own; the time from a click to its grant announced; and whether every
 * command and click ended where it should.
 */

import { helpTexts } from '../bodies.js';
import { SIGNING_SECRET } from '../fixtures.js';
import { quantiles, settle } from '../measure.js';
import { isBusyAck, isOk, recordsOf, runMixed } from '../mixed.js';
import type { MixedResult, MixedSpec, RequestRecord } from '../mixed-spec.js';
import { cpuMs } from '../procs.js';
import { fmt } from '../report.js';
import { startBare } from '../rig.js';
import { sustainedCounts, sustainedPrefill } from '../settings.js';
import type { PhaseContext } from './context.js';
import { type Counters, readCounters, type StepCost, stepCost } from './lifecycle.js';
import {
  type ClickCheck,
  type CommandCheck,
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

/** Both kinds' acks of one side in one round, or pooled over its rounds. */
export interface KindAcks {
  command: Ack;
  click: Ack;
}

/**
 * One rate: the contract's fields (rate, seconds a round, command, click, bare: each side's acks
 * over all its rounds pooled), then the rest, summed or pooled over the rounds.
 */
export interface SustainedStep {
  rate: number;
  seconds: number;
  command: Ack;
  click: Ack;
  bare: KindAcks;
  /** Each round's acks: bare Bolt's round taken just before it (for the work-queue variant, the shipped bot's; null when none), and the bot's. */
  rounds: { bare: KindAcks | null; bot: KindAcks }[];
  sent: { command: number; click: number };
  acked: { command: number; click: number };
  /** How late the load generator sent against its schedule (its own delays), p99 ms. */
  send_lag_p99_ms: number;
  click_to_grant: ReturnType<typeof clickToGrant>;
  command_to_reply: ReturnType<typeof commandToReply>;
  /** From the end of a round's load to every acked command answered and every acked click ended (grant, failure or refusal): the slowest round's. */
  drain_ms: number;
  busy: { command: number; click: number };
  /** Accepted commands and clicks not found where they should be (see load-target.ts). */
  lost: number;
  /** The bot's CPU during the loads only, per request sent. */
  bot_cpu_ms_per_request: number;
  /**
   * What the bot did from the start of its first round's load to the end of its last round's
   * drain, per accepted command or click (bare Bolt's rounds between make no calls; the bot's
   * CPU while it idles through them is counted).
   */
  cost_per_accepted: StepCost;
  bot_max_rss_mb: number;
}

export interface SustainedResult {
  steps: SustainedStep[];
  /** The bare Bolt app's figures by rate (measured in the run of the bot as shipped, in turns with its rounds). */
  bare: BareStep[];
}

export interface BareStep {
  rate: number;
  /** Over its rounds' acks pooled. */
  command: Ack;
  click: Ack;
  rounds: KindAcks[];
  sent: { command: number; click: number };
  send_lag_p99_ms: number;
}

/** The spec's kinds, in order: the records' kind index. */
const COMMAND = 0;
const CLICK = 1;

/** p50/p99 of the 2xx acks of one kind over one or more runs' records. */
function pooledAck(runs: MixedResult[], kindIndex: number): Ack {
  const q = quantiles(
    runs.flatMap((r) =>
      recordsOf(r, kindIndex)
        .filter(isOk)
        .map((rec) => rec[3]),
    ),
  );
  return { p50_ms: q.p50, p99_ms: q.p99 };
}
const kindAcks = (runs: MixedResult[]): KindAcks => ({ command: pooledAck(runs, COMMAND), click: pooledAck(runs, CLICK) });
const sentOf = (runs: MixedResult[], kind: string) => runs.reduce((a, r) => a + (r.kinds[kind]?.sent ?? 0), 0);
const lagP99 = (runs: MixedResult[]) => Math.max(...runs.flatMap((r) => Object.values(r.kinds).map((k) => k.sendLag?.p99 ?? 0)));

/** The mixed load of one round: commands and clicks at half the rate each, the clicks half an interval after the commands. */
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

/**
 * Runs every rate's rounds on `target`; `bare`: bare Bolt's figures already measured (in the run
 * of the bot as shipped), else its rounds are measured here, each just before the bot's.
 */
export async function measureSustained(ctx: PhaseContext, target: LoadTarget, bare?: BareStep[]): Promise<SustainedResult> {
  const counts = sustainedCounts(ctx.settings);
  // The clicks' first requests, made now (not measured), and every round's commands, decided up front.
  await ensurePending(ctx, target, sustainedPrefill(ctx.settings), 'sustained');
  const prefill = target.pool.slice(0, sustainedPrefill(ctx.settings));
  const plan = counts.map((c) => {
    const pairs = target.pairs.take(c.commands);
    const keys = pairs.map((p) => commandKey(target, `s${c.rate}r${c.round}`, p));
    return { ...c, pairs, keys, bodies: pairs.map((p, i) => commandBody(ctx, keys[i] as string, p)) };
  });
  const bareApp = bare ? undefined : await startBare(ctx.stoppers, ctx.rig, ctx.logDir);
  const steps: SustainedStep[] = [];
  const bareSteps: BareStep[] = [];
  try {
    for (const rate of ctx.settings.sustainedRates) {
      const bareRuns: MixedResult[] = [];
      const botRounds: BotRound[] = [];
      for (const round of plan.filter((p) => p.rate === rate)) {
        if (bareApp) bareRuns.push(await bareRound(ctx, bareApp.url, round, prefill));
        botRounds.push(await botRound(ctx, target, round));
      }
      const bareStep = bareApp ? bareStepOf(rate, bareRuns) : bare?.find((b) => b.rate === rate);
      if (bareApp && bareStep) bareSteps.push(bareStep);
      const step = stepOf(ctx, target, rate, botRounds, bareStep);
      steps.push(step);
      ctx.log(
        `  ${target.bot.name}: sustained ${rate}/s over ${botRounds.length} round(s): command p99 ${fmt(step.command.p99_ms, 1)} ms (bare Bolt ${fmt(step.bare.command.p99_ms, 1)} ms), click p99 ${fmt(step.click.p99_ms, 1)} ms (bare Bolt ${fmt(step.bare.click.p99_ms, 1)} ms)`,
      );
    }
  } finally {
    await bareApp?.process.stop();
  }
  ctx.clock.done(`sustained (${target.bot.name})`);
  return { steps, bare: bare ?? bareSteps };
}

interface PlannedRound {
  rate: number;
  round: number;
  commands: number;
  clicks: number;
  pairs: Pair[];
  keys: string[];
  bodies: string[];
}

/** The bare Bolt app under one round's load: the same commands, and clicks on the prefill's requests (it only acks). */
async function bareRound(ctx: PhaseContext, url: string, round: PlannedRound, prefill: Pending[]): Promise<MixedResult> {
  await settle(ctx.rig);
  const built = { name: 'bare', clicksBuilt: 0 };
  const clicks = Array.from({ length: round.clicks }, (_, i) => clickBody(ctx, built, prefill[i % prefill.length] as Pending, `s${round.rate}-click`));
  return ctx.meter.measure(`sustained_bare_${round.rate}_r${round.round}`, (restart) =>
    runMixed(ctx, `bare Bolt: sustained ${round.rate}/s, round ${round.round}`, stepSpec(ctx, url, round.rate, round.bodies, clicks), restart),
  );
}

function bareStepOf(rate: number, runs: MixedResult[]): BareStep {
  return {
    rate,
    ...kindAcks(runs),
    rounds: runs.map((r) => kindAcks([r])),
    sent: { command: sentOf(runs, 'command'), click: sentOf(runs, 'click') },
    send_lag_p99_ms: lagP99(runs),
  };
}

/** One round of the bot: its load, its drain, and where every command and click ended. */
interface BotRound {
  run: MixedResult;
  sends: CommandSend[];
  clickRecords: RequestRecord[];
  clicked: Pending[];
  commands: CommandCheck;
  clicks: ClickCheck;
  drainMs: number;
  cpuMs: number;
  before: Counters;
  after: Counters;
}

async function botRound(ctx: PhaseContext, target: LoadTarget, round: PlannedRound): Promise<BotRound> {
  const { bot } = target;
  bot.sampler.setPhase(`sustained ${round.rate}/s (${target.name})`);
  await settle(ctx.rig);
  const clicked = target.pool.splice(0, round.clicks);
  if (clicked.length === 0) throw new Error(`sustained ${round.rate}/s: ${round.clicks} pending requests needed, none left`);
  // An earlier round's command left unanswered (counted there) made one request fewer: the load
  // generator cycles the bodies, so that many requests get a second click, answered "already decided".
  if (clicked.length < round.clicks)
    ctx.log(
      `  ${round.clicks - clicked.length} of round ${round.round}'s ${round.clicks} clicks go to a request a second time (the earlier rounds confirmed fewer requests)`,
    );
  const clickBodies = clicked.map((p) => clickBody(ctx, target, p, `s${round.rate}-click`));
  const outcome = clickOutcomeSinceNow(ctx);
  let cpuBefore = 0;
  let before = readCounters(ctx, bot);
  const window = `sustained_${target.name}_${round.rate}_r${round.round}`;
  const label = `${bot.name}: sustained ${round.rate}/s, round ${round.round}`;
  const run = await ctx.meter.measure(window, (restart) =>
    runMixed(ctx, label, stepSpec(ctx, bot.url, round.rate, round.bodies, clickBodies), () => {
      restart();
      cpuBefore = cpuMs(bot.pid);
      before = readCounters(ctx, bot);
    }),
  );
  const cpu = cpuMs(bot.pid) - cpuBefore;
  const sends: CommandSend[] = recordsOf(run, COMMAND).map((rec) => ({
    key: round.keys[rec[1] % round.keys.length] as string,
    pair: round.pairs[rec[1] % round.pairs.length] as Pair,
    acked: isOk(rec),
    busyAck: isBusyAck(rec),
    sentAt: rec[2],
  }));
  const clickRecords = recordsOf(run, CLICK);
  const drainMs = await ctx.meter.measure(`${window}_drain`, () => waitDrained(ctx, sends, clickRecords.filter(isOk).length, outcome, run.endedAt));
  await settle(ctx.rig);
  const after = readCounters(ctx, bot);
  const pendingOf = (i: number) => clicked[i % clicked.length] as Pending;
  const commands = await checkCommands(target, ctx, sends);
  const clicks = await checkClicks(target, clickRecords, pendingOf, outcome());
  const added = pushConfirmed(ctx, target, round.keys, round.pairs);
  const toGrant = clickToGrant(ctx, clickRecords, pendingOf);
  ctx.log(
    `  ${label}: grants ${toGrant.granted}/${clicks.acked} (click → grant p50 ${fmt(toGrant.p50_ms, 0)} ms, p90 ${fmt(toGrant.p90_ms, 0)} ms); ${added} requests confirmed; drained ${fmt(drainMs / 1000, 1)} s after the load; busy ${commands.busy}+${clicks.busy}; lost ${commands.lost + clicks.lost}${lostSamples(commands, clicks)}`,
  );
  return { run, sends, clickRecords, clicked, commands, clicks, drainMs, cpuMs: cpu, before, after };
}

/** One rate's figures from its rounds: acks pooled, counts summed, the slowest drain, and each round's acks beside bare Bolt's. */
function stepOf(ctx: PhaseContext, target: LoadTarget, rate: number, rounds: BotRound[], bare: BareStep | undefined): SustainedStep {
  const runs = rounds.map((r) => r.run);
  const nan: Ack = { p50_ms: Number.NaN, p99_ms: Number.NaN };
  const total = (pick: (r: BotRound) => number) => rounds.reduce((a, r) => a + pick(r), 0);
  // Every round's clicks against every round's clicked requests: body indexes are moved past the rounds before.
  const allClicked: Pending[] = [];
  const allClickRecords: RequestRecord[] = [];
  for (const r of rounds) {
    const offset = allClicked.length;
    for (const rec of r.clickRecords) allClickRecords.push([rec[0], offset + (rec[1] % r.clicked.length), rec[2], rec[3], rec[4], rec[5]]);
    allClicked.push(...r.clicked);
  }
  const first = rounds[0] as BotRound;
  const last = rounds[rounds.length - 1] as BotRound;
  const requests = total((r) => r.sends.length + r.clickRecords.length);
  return {
    rate,
    seconds: ctx.settings.sustainedSeconds,
    ...kindAcks(runs),
    bare: bare ? { command: bare.command, click: bare.click } : { command: nan, click: nan },
    rounds: rounds.map((r, i) => ({ bare: bare?.rounds[i] ?? null, bot: kindAcks([r.run]) })),
    sent: { command: sentOf(runs, 'command'), click: sentOf(runs, 'click') },
    acked: { command: total((r) => r.commands.acked), click: total((r) => r.clicks.acked) },
    send_lag_p99_ms: lagP99(runs),
    click_to_grant: clickToGrant(ctx, allClickRecords, (i) => allClicked[i] as Pending),
    command_to_reply: commandToReply(
      ctx,
      rounds.flatMap((r) => r.sends),
    ),
    drain_ms: Math.max(...rounds.map((r) => r.drainMs)),
    busy: { command: total((r) => r.commands.busy), click: total((r) => r.clicks.busy) },
    lost: total((r) => r.commands.lost + r.clicks.lost),
    bot_cpu_ms_per_request: total((r) => r.cpuMs) / Math.max(1, requests),
    cost_per_accepted: stepCost(
      ctx,
      first.before,
      last.after,
      total((r) => r.commands.accepted + r.clicks.accepted),
    ),
    bot_max_rss_mb: target.bot.sampler.maxRssByPhase.get(`sustained ${rate}/s (${target.name})`) ?? Number.NaN,
  };
}
