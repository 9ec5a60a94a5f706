/**
 * The saturation phase: two floods of `saturationSeconds` each, sent as fast as the load
 * generator can (closed loop, every connection sending its next request when the last is
 * answered), then waited out until the bot has finished every accepted request.
 *
 * - The mixed flood (the contract's `saturation`): real requests and Approve clicks on half the
 *   connections each. Commands cycle through `saturationPairs` distinct (employee, level)
 *   requests, each pass with its own response_url, so a request sent again after it was accepted
 *   is refused as already pending; clicks cycle through as many pending requests, so a click on a
 *   request already granted is answered "already decided".
 * - The command flood: real requests on all connections but two, and Approve clicks at a steady
 *   `floodClickRate` on those two, each on its own pending request: the click's ack, and its time
 *   to grant, while commands flood the bot.
 *
 * Afterwards every command sent is checked at its reply and in the table, and every click
 * against the outcomes and the table (see load-target.ts): `lost` counts the accepted ones not
 * where they should be.
 */
import { helpTexts } from '../bodies.js';
import { SIGNING_SECRET } from '../fixtures.js';
import { quantiles, settle } from '../measure.js';
import { isBusyAck, isOk, recordsOf, runMixed } from '../mixed.js';
import { type MixedResult, type MixedSpec, PASS_MARK } from '../mixed-spec.js';
import { cpuMs } from '../procs.js';
import { fmt } from '../report.js';
import { saturationClickTargets } from '../settings.js';
import type { PhaseContext } from './context.js';
import { readCounters, type StepCost, stepCost } from './lifecycle.js';
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
  ensurePending,
  type LoadTarget,
  lostSamples,
  type Pair,
  type Pending,
  waitDrained,
} from './load-target.js';

/** One flood: what was sent and acked, the acks' latency, the drain, and what became of every request. */
export interface FloodResult {
  seconds: number;
  connections: { command: number; click: number };
  /** Clicks per second when steady (the command flood), else null (closed loop). */
  click_rate: number | null;
  sent: { command: number; click: number };
  acked: number;
  busy: number;
  /** All acks (commands and clicks), ms. */
  p50_ms: number;
  p99_ms: number;
  command: { p50_ms: number; p99_ms: number; rps: number };
  click: { p50_ms: number; p99_ms: number; rps: number };
  drain_ms: number;
  lost: number;
  commands: CommandCheck;
  clicks: ClickCheck;
  click_to_grant: ReturnType<typeof clickToGrant>;
  /** Times the commands went through their distinct requests. */
  command_passes: number;
  /** The bot's CPU during the flood only. */
  bot_cpu_ms: number;
  /** What the bot did from the start of the flood to the end of its drain, per accepted command or click (refusals as busy included in the totals). */
  cost_per_accepted: StepCost;
  bot_max_rss_mb: number;
}

/** The contract's `saturation` (from the mixed flood; `lost` over both floods), the command flood's click figures, and both floods in full. */
export interface SaturationResult {
  seconds: number;
  acked: number;
  busy: number;
  p99_ms: number;
  drain_ms: number;
  lost: number;
  click_p99_ms: number;
  grant_during_flood_ms: number;
  mixed: FloodResult;
  command_flood: FloodResult;
}

export async function measureSaturation(ctx: PhaseContext, target: LoadTarget): Promise<SaturationResult> {
  const { settings } = ctx;
  const steadyClicks = Math.ceil(settings.floodClickRate * settings.saturationSeconds);
  await ensurePending(ctx, target, saturationClickTargets(settings), 'saturation');
  const forCommandFlood = target.pool.splice(0, steadyClicks);
  const forMixed = target.pool.splice(0, settings.saturationPairs);
  const half = Math.floor(settings.connections / 2);
  const mixed = await flood(ctx, target, {
    what: 'sat',
    pairs: target.pairs.take(settings.saturationPairs),
    commandConnections: settings.connections - half,
    clicks: forMixed,
    clickConnections: half,
  });
  const commandFlood = await flood(ctx, target, {
    what: 'cflood',
    pairs: target.pairs.take(settings.saturationPairs),
    commandConnections: settings.connections - 2,
    clicks: forCommandFlood,
    clickConnections: 2,
    clickRate: settings.floodClickRate,
  });
  ctx.clock.done(`saturation (${target.bot.name})`);
  return {
    seconds: settings.saturationSeconds,
    acked: mixed.acked,
    busy: mixed.busy,
    p99_ms: mixed.p99_ms,
    drain_ms: mixed.drain_ms,
    lost: mixed.lost + commandFlood.lost,
    click_p99_ms: commandFlood.click.p99_ms,
    grant_during_flood_ms: commandFlood.click_to_grant.p50_ms,
    mixed,
    command_flood: commandFlood,
  };
}

interface FloodPlan {
  /** Names the window and the response_url keys. */
  what: string;
  pairs: Pair[];
  commandConnections: number;
  clicks: Pending[];
  clickConnections: number;
  /** Steady clicks at this rate; absent: clicks as fast as their connections allow. */
  clickRate?: number;
}

async function flood(ctx: PhaseContext, target: LoadTarget, plan: FloodPlan): Promise<FloodResult> {
  const { bot } = target;
  const phase = `saturation ${plan.what} (${target.name})`;
  bot.sampler.setPhase(phase);
  await settle(ctx.rig);
  const templates = plan.pairs.map((p) => commandKey(target, `${plan.what}${PASS_MARK}`, p));
  const spec: MixedSpec = {
    url: bot.url,
    signingSecret: SIGNING_SECRET,
    seconds: ctx.settings.saturationSeconds,
    sharedConnections: plan.clickRate ? plan.clickConnections : 1,
    kinds: [
      { kind: 'command', bodies: plan.pairs.map((p, i) => commandBody(ctx, templates[i] as string, p)), connections: plan.commandConnections },
      {
        kind: 'click',
        bodies: plan.clicks.map((p) => clickBody(ctx, target, p, `${plan.what}-click`)),
        connections: plan.clickConnections,
        ...(plan.clickRate ? { rate: plan.clickRate } : {}),
      },
    ],
    warmup: { seconds: 1, bodies: helpTexts(ctx.people.burst, ctx.rig.slack, 500) },
  };
  const outcome = clickOutcomeSinceNow(ctx);
  let cpuBefore = 0;
  let countersBefore = readCounters(ctx, bot);
  const label = plan.clickRate ? `command flood, clicks at ${plan.clickRate}/s` : 'saturation, commands and clicks';
  const window = `saturation_${plan.what}_${target.name}`;
  const r = await ctx.meter.measure(window, (restart) =>
    runMixed(ctx, `${bot.name}: ${label}`, spec, () => {
      restart();
      cpuBefore = cpuMs(bot.pid);
      countersBefore = readCounters(ctx, bot);
    }),
  );
  const cpu = cpuMs(bot.pid) - cpuBefore;
  const n = plan.pairs.length;
  const sends: CommandSend[] = recordsOf(r, 0).map((rec) => ({
    key: (templates[rec[1] % n] as string).replaceAll(PASS_MARK, String(Math.floor(rec[1] / n))),
    pair: plan.pairs[rec[1] % n] as Pair,
    acked: isOk(rec),
    busyAck: isBusyAck(rec),
    sentAt: rec[2],
  }));
  const clickRecords = recordsOf(r, 1);
  const drainMs = await ctx.meter.measure(`${window}_drain`, () => waitDrained(ctx, sends, clickRecords.filter(isOk).length, outcome, r.endedAt));
  await settle(ctx.rig);
  const countersAfter = readCounters(ctx, bot);
  const pendingOf = (i: number) => plan.clicks[i % plan.clicks.length] as Pending;
  const commands = await checkCommands(target, ctx, sends);
  const clicks = await checkClicks(target, clickRecords, pendingOf, outcome());
  const all = quantiles(r.records.filter(isOk).map((rec) => rec[3]));
  const result: FloodResult = {
    seconds: ctx.settings.saturationSeconds,
    connections: { command: plan.commandConnections, click: plan.clickConnections },
    click_rate: plan.clickRate ?? null,
    sent: { command: r.kinds.command?.sent ?? 0, click: r.kinds.click?.sent ?? 0 },
    acked: commands.acked + clicks.acked,
    busy: commands.busy + clicks.busy,
    p50_ms: all.p50,
    p99_ms: all.p99,
    command: kindFigures(r, 'command'),
    click: kindFigures(r, 'click'),
    drain_ms: drainMs,
    lost: commands.lost + clicks.lost,
    commands,
    clicks,
    click_to_grant: clickToGrant(ctx, clickRecords, pendingOf),
    command_passes: r.kinds.command?.passes ?? 0,
    bot_cpu_ms: cpu,
    cost_per_accepted: stepCost(ctx, countersBefore, countersAfter, commands.accepted + clicks.accepted),
    bot_max_rss_mb: bot.sampler.maxRssByPhase.get(phase) ?? Number.NaN,
  };
  ctx.log(
    `  ${bot.name}: ${label}: ${result.acked} acked (p99 ${fmt(result.p99_ms, 1)} ms), ${result.busy} busy; commands ${commands.stored} stored, ${commands.duplicates} refused as already pending; clicks: ${clicks.active} requests ACTIVE, ${clicks.already_decided} already decided; click → grant p50 ${fmt(result.click_to_grant.p50_ms, 0)} ms; drained ${fmt(drainMs / 1000, 1)} s after the load; lost ${result.lost}${lostSamples(commands, clicks)}`,
  );
  return result;
}

function kindFigures(r: MixedResult, kind: string) {
  const k = r.kinds[kind];
  return { p50_ms: k?.latency.p50 ?? Number.NaN, p99_ms: k?.latency.p99 ?? Number.NaN, rps: k?.rps ?? Number.NaN };
}
