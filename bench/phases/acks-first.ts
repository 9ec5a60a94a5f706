/**
 * The load phases (sustained, saturation) on a bot, and the acks-first comparison: the same
 * phases, with the same people and the same loads, on a second bot process that starts its
 * post-ack work at once (bench/bot-no-pause.ts: the work queue's quietMs and maxDeferMs at 0),
 * on a table of its own, after the first bot has stopped and the load employees have been taken
 * out of the billing groups again. Its figures go to extras.acks_first beside the shipped bot's,
 * with what the pause costs a click's time to grant at the budget's rate.
 */

import { BUDGET } from '../settings.js';
import { openBotTable } from '../setup.js';
import { type BotFigures, startBot, stopBot } from './bot.js';
import type { PhaseContext } from './context.js';
import { type LoadTarget, newTarget, removeLoadMembers } from './load-target.js';
import { measureSaturation, type SaturationResult } from './saturation.js';
import { type BareStep, measureSustained, type SustainedResult, type SustainedStep } from './sustained.js';

export const NO_PAUSE_TABLE = 'bench-billing-access-no-pause';

export interface LoadPhases {
  sustained?: SustainedResult;
  saturation?: SaturationResult;
}

/** The selected load phases on `target`, sustained first (its leftover pending requests are the saturation's clicks). */
export async function runLoadPhases(ctx: PhaseContext, target: LoadTarget, bare?: BareStep[]): Promise<LoadPhases> {
  const out: LoadPhases = {};
  if (ctx.settings.phases.has('sustained')) out.sustained = await measureSustained(ctx, target, bare);
  if (ctx.settings.phases.has('saturation')) out.saturation = await measureSaturation(ctx, target);
  return out;
}

/** Whether every load's post-ack work finished within the drain time. */
export function loadDrained(load: LoadPhases): boolean {
  const drains = [...(load.sustained?.steps.map((s) => s.drain_ms) ?? []), load.saturation?.mixed.drain_ms, load.saturation?.command_flood.drain_ms];
  return drains.every((d) => d === undefined || Number.isFinite(d));
}

export interface AcksFirstResult {
  how: string;
  /** The second bot's table: empty when it starts (the shipped bot's holds what the phases before left there). */
  without_table: string;
  memberships_removed_before: number;
  with: LoadPhases;
  without: LoadPhases;
  without_bot: Pick<BotFigures, 'startupMs' | 'memory' | 'cpuMsTotal' | 'logProblems'>;
  /** The figures the README states, side by side: at the budget's rate, ack p99 and click → grant; under saturation, ack p99. */
  compared: {
    rate: number;
    command_p99_ms: { with: number; without: number };
    click_p99_ms: { with: number; without: number };
    click_to_grant_p50_ms: { with: number; without: number; pause_cost: number };
    click_to_grant_p90_ms: { with: number; without: number; pause_cost: number };
    saturation_p99_ms: { with: number; without: number };
    saturation_drain_ms: { with: number; without: number };
    grant_during_flood_ms: { with: number; without: number };
  };
}

export async function measureWithoutPause(ctx: PhaseContext, shipped: LoadPhases): Promise<AcksFirstResult> {
  const removed = await removeLoadMembers(ctx);
  const store = await openBotTable(ctx.stoppers, ctx.rig, NO_PAUSE_TABLE);
  const bot = await startBot(ctx, { name: 'acks-first pause off', table: NO_PAUSE_TABLE, script: 'bench/bot-no-pause.ts', logName: 'bot-no-pause.log' });
  const without = await runLoadPhases(ctx, newTarget(ctx, 'without', bot, store), shipped.sustained?.bare);
  const figures = await stopBot(ctx, bot, loadDrained(without));
  const at = (load: LoadPhases): SustainedStep | undefined => load.sustained?.steps.find((s) => s.rate === BUDGET.sustainedBudgetRate);
  const nan = Number.NaN;
  const pair = (pick: (l: LoadPhases) => number | undefined) => ({ with: pick(shipped) ?? nan, without: pick(without) ?? nan });
  const grant50 = pair((l) => at(l)?.click_to_grant.p50_ms);
  const grant90 = pair((l) => at(l)?.click_to_grant.p90_ms);
  return {
    how: 'bench/bot-no-pause.ts: src/main.ts with WORK_QUEUE_OPTIONS.quietMs and maxDeferMs set to 0 before it starts; same people, loads and rig, its own table',
    without_table: NO_PAUSE_TABLE,
    memberships_removed_before: removed,
    with: shipped,
    without,
    without_bot: { startupMs: figures.startupMs, memory: figures.memory, cpuMsTotal: figures.cpuMsTotal, logProblems: figures.logProblems },
    compared: {
      rate: BUDGET.sustainedBudgetRate,
      command_p99_ms: pair((l) => at(l)?.command.p99_ms),
      click_p99_ms: pair((l) => at(l)?.click.p99_ms),
      click_to_grant_p50_ms: { ...grant50, pause_cost: grant50.with - grant50.without },
      click_to_grant_p90_ms: { ...grant90, pause_cost: grant90.with - grant90.without },
      saturation_p99_ms: pair((l) => l.saturation?.p99_ms),
      saturation_drain_ms: pair((l) => l.saturation?.drain_ms),
      grant_during_flood_ms: pair((l) => l.saturation?.grant_during_flood_ms),
    },
  };
}
