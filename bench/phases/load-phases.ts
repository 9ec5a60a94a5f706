/**
 * The load phases (sustained, saturation) on a bot, and the work-queue comparison: the same
 * phases, with the same people and the same loads, on a second bot process whose post-ack work
 * queue is set otherwise (bench/bot-variant.ts, BENCH_WORK_QUEUE; by default the acks-first
 * pause off), on a table of its own, after the first bot has stopped and the load employees have been
 * taken out of the billing groups again. Its figures go to extras.work_queue_variant beside the
 * shipped bot's: ack p99 and click → grant at the budget's rate, and the saturation figures.
 */

import { WORK_QUEUE_OPTIONS } from '../../src/post-ack/queue-options.js';
import { BUDGET } from '../settings.js';
import { openBotTable } from '../setup.js';
import { type BotFigures, startBot, stopBot } from './bot.js';
import type { PhaseContext } from './context.js';
import { type LoadTarget, newTarget, removeLoadMembers } from './load-target.js';
import { measureSaturation, type SaturationResult } from './saturation.js';
import { type BareStep, measureSustained, type SustainedResult, type SustainedStep } from './sustained.js';

export const VARIANT_TABLE = 'bench-billing-access-queue-variant';

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

export interface WorkQueueVariantResult {
  /** What the second bot changed in WORK_QUEUE_OPTIONS (src/deps.ts). */
  options: Record<string, unknown>;
  /** The shipped bot's jobs at a time and waiting places per lane. */
  shipped_options: { concurrency: number; maxWaiting: number };
  how: string;
  /** The second bot's table: empty when it starts (the shipped bot's holds what the phases before left there). */
  variant_table: string;
  memberships_removed_before: number;
  shipped: LoadPhases;
  variant: LoadPhases;
  variant_bot: Pick<BotFigures, 'startupMs' | 'memory' | 'cpuMsTotal' | 'logProblems'>;
  /** The figures the README states, side by side: at the budget's rate, ack p99 and click → grant; under saturation, ack p99 and drain. */
  compared: {
    rate: number;
    command_p99_ms: { shipped: number; variant: number };
    click_p99_ms: { shipped: number; variant: number };
    click_to_grant_p50_ms: { shipped: number; variant: number };
    click_to_grant_p90_ms: { shipped: number; variant: number };
    saturation_p99_ms: { shipped: number; variant: number };
    saturation_drain_ms: { shipped: number; variant: number };
    grant_during_flood_ms: { shipped: number; variant: number };
    flood_click_p99_ms: { shipped: number; variant: number };
  };
}

export async function measureQueueVariant(ctx: PhaseContext, shipped: LoadPhases, options: Record<string, unknown>): Promise<WorkQueueVariantResult> {
  const removed = await removeLoadMembers(ctx);
  const store = await openBotTable(ctx.stoppers, ctx.rig, VARIANT_TABLE);
  const settingText = JSON.stringify(options);
  const bot = await startBot(ctx, {
    name: `work queue ${settingText}`,
    table: VARIANT_TABLE,
    script: 'bench/bot-variant.ts',
    logName: 'bot-queue-variant.log',
    env: { BENCH_WORK_QUEUE: settingText },
  });
  const variant = await runLoadPhases(ctx, newTarget(ctx, 'variant', bot, store), shipped.sustained?.bare);
  const figures = await stopBot(ctx, bot, loadDrained(variant));
  const at = (load: LoadPhases): SustainedStep | undefined => load.sustained?.steps.find((s) => s.rate === BUDGET.sustainedBudgetRate);
  const nan = Number.NaN;
  const pair = (pick: (l: LoadPhases) => number | undefined) => ({ shipped: pick(shipped) ?? nan, variant: pick(variant) ?? nan });
  return {
    options,
    shipped_options: { concurrency: WORK_QUEUE_OPTIONS.concurrency, maxWaiting: WORK_QUEUE_OPTIONS.maxWaiting },
    how: `bench/bot-variant.ts: src/main.ts with WORK_QUEUE_OPTIONS changed by ${settingText} before it starts; same people, loads and rig, its own table`,
    variant_table: VARIANT_TABLE,
    memberships_removed_before: removed,
    shipped,
    variant,
    variant_bot: { startupMs: figures.startupMs, memory: figures.memory, cpuMsTotal: figures.cpuMsTotal, logProblems: figures.logProblems },
    compared: {
      rate: BUDGET.sustainedBudgetRate,
      command_p99_ms: pair((l) => at(l)?.command.p99_ms),
      click_p99_ms: pair((l) => at(l)?.click.p99_ms),
      click_to_grant_p50_ms: pair((l) => at(l)?.click_to_grant.p50_ms),
      click_to_grant_p90_ms: pair((l) => at(l)?.click_to_grant.p90_ms),
      saturation_p99_ms: pair((l) => l.saturation?.p99_ms),
      saturation_drain_ms: pair((l) => l.saturation?.drain_ms),
      grant_during_flood_ms: pair((l) => l.saturation?.grant_during_flood_ms),
      flood_click_p99_ms: pair((l) => l.saturation?.click_p99_ms),
    },
  };
}
