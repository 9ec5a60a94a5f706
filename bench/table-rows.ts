/**
 * The rows of the table `npm run bench` prints: each figure of the phases that ran, beside its
 * PRODUCT §6 budget where it has one (met or MISSED), in a fixed order: acks against bare Bolt,
 * lifecycles, the period ratios, the bot's start-up and memory, then the launch variants.
 */
import type { BotFigures } from './phases/bot.js';
import { fmt, type Row } from './report.js';
import type { PhaseResults } from './results.js';
import { BUDGET, type Settings } from './settings.js';

const ms = (v: number | undefined) => `${fmt(v ?? Number.NaN, 1)} ms`;

export function tableRows(phases: PhaseResults, bot: BotFigures, settings: Settings): Row[] {
  return [...ackRows(phases), ...lifecycleRows(phases), ...periodRows(phases), ...botRows(phases, bot), ...variantRows(phases, settings)];
}

function ackRows({ baseline, requests, help, approve }: PhaseResults): Row[] {
  const rows: Row[] = [];
  const burstBase = baseline?.request_burst;
  if (baseline)
    rows.push({
      figure: 'baseline: bare Bolt ack (help, 10 s)',
      value: `${fmt(baseline.rps, 0)}/s, p50 ${ms(baseline.latency.p50)}, p99 ${ms(baseline.latency.p99)}`,
    });
  if (burstBase)
    rows.push({
      figure: 'baseline: bare Bolt ack (request burst)',
      value: `${fmt(burstBase.rps, 0)}/s, p50 ${ms(burstBase.latency.p50)}, p99 ${ms(burstBase.latency.p99)} (${burstBase.requests} in ${burstBase.rounds.length} rounds)`,
    });
  if (requests) {
    rows.push({
      figure: 'command_ack p99 (real requests)',
      value: `${ms(requests.latency.p99)} (p50 ${ms(requests.latency.p50)}; ${requests.requests} unique in ${requests.rounds.length} rounds)`,
      budget: `< ${BUDGET.ackP99Ms} ms`,
      met: requests.latency.p99 < BUDGET.ackP99Ms,
    });
    if (burstBase)
      rows.push({
        figure: 'command_ack throughput (real requests)',
        value: `${fmt(requests.rps, 0)}/s = ${fmt(requests.rps / burstBase.rps, 2)} × bare Bolt on the same burst`,
        budget: `≥ ${BUDGET.commandVsBaseline} × bare Bolt`,
        met: requests.rps >= BUDGET.commandVsBaseline * burstBase.rps,
      });
  }
  if (help) {
    rows.push({ figure: 'help ack p99 (10 s)', value: ms(help.latency.p99), budget: `< ${BUDGET.ackP99Ms} ms`, met: help.latency.p99 < BUDGET.ackP99Ms });
    if (baseline)
      rows.push({
        figure: 'help ack throughput (10 s)',
        value: `${fmt(help.rps, 0)}/s = ${fmt(help.rps / baseline.rps, 2)} × bare Bolt`,
        budget: `≥ ${BUDGET.commandVsBaseline} × bare Bolt`,
        met: help.rps >= BUDGET.commandVsBaseline * baseline.rps,
      });
  }
  if (approve)
    rows.push({
      figure: 'approve_ack p99',
      value: `${ms(approve.latency.p99)} (p50 ${ms(approve.latency.p50)}; ${approve.requests} clicks, ${fmt(approve.rps, 0)}/s)`,
      budget: `< ${BUDGET.ackP99Ms} ms`,
      met: approve.latency.p99 < BUDGET.ackP99Ms,
    });
  return rows;
}

function lifecycleRows({ lifecycle }: PhaseResults): Row[] {
  if (!lifecycle) return [];
  const c = lifecycle.contract;
  return [
    { figure: 'lifecycle throughput', value: `${fmt(c.per_s, 2)}/s (${lifecycle.extras.completed} end to end)` },
    { figure: 'bot CPU per lifecycle', value: ms(c.cpu_ms_per_lifecycle) },
    { figure: 'DynamoDB per lifecycle (table only)', value: `${fmt(c.wcu_per_lifecycle, 1)} WCU, ${fmt(c.rcu_per_lifecycle, 1)} RCU` },
    { figure: 'Slack / IAM calls per lifecycle', value: `${fmt(c.slack_calls_per_lifecycle, 1)} / ${fmt(c.iam_calls_per_lifecycle, 1)}` },
  ];
}

function periodRows({ period }: PhaseResults): Row[] {
  if (!period) return [];
  return [
    {
      figure: 'period_query ratio',
      value: `×${fmt(period.period_query.ratio, 2)} (${ms(period.period_query.week_only_ms)} → ${ms(period.period_query.with_history_ms)})`,
      budget: `≤ ${BUDGET.periodRatio} (aim ${BUDGET.periodAim})`,
      met: period.period_query.ratio <= BUDGET.periodRatio,
    },
    {
      figure: 'summary ratio',
      value: `×${fmt(period.summary.ratio, 2)} (${ms(period.summary.week_only_ms)} → ${ms(period.summary.with_history_ms)})`,
      budget: `≤ ${BUDGET.summaryRatio}`,
      met: period.summary.ratio <= BUDGET.summaryRatio,
    },
  ];
}

function botRows({ baseline }: PhaseResults, bot: BotFigures): Row[] {
  const rows: Row[] = [
    {
      figure: 'startup (spawn → /healthz 200)',
      value: `${fmt(bot.startupMs, 0)} ms (own startupMs ${bot.ownStartupMs ?? 'n/a'})`,
      budget: `< ${BUDGET.startupMs} ms`,
      met: bot.startupMs < BUDGET.startupMs,
    },
    { figure: 'peak RSS (bot, VmHWM)', value: `${fmt(bot.memory.peak, 1)} MB`, budget: `< ${BUDGET.peakRssMb} MB`, met: bot.memory.peak < BUDGET.peakRssMb },
  ];
  if (baseline) rows.push({ figure: 'bare Bolt: startup / peak RSS', value: `${fmt(baseline.startup_ms, 0)} ms / ${fmt(baseline.peak_rss_mb, 1)} MB` });
  return rows;
}

function variantRows({ bundled, embedded }: PhaseResults, settings: Settings): Row[] {
  const rows: Row[] = [];
  if (bundled)
    rows.push({
      figure: 'bot bundled (node main.cjs)',
      value: `startup ${fmt(bundled.startup_ms, 0)} ms, RSS ${fmt(bundled.rss_mb_after_start, 0)} MB idle, ${fmt(bundled.peak_rss_mb, 0)} MB peak (help ${settings.bundledSeconds} s)`,
    });
  if (embedded)
    rows.push({
      figure: 'bot on STORE=embedded',
      value: `startup ${fmt(embedded.startup_ms, 0)} ms, ${fmt(embedded.lifecycle_per_s, 2)} lifecycles/s, peak RSS ${fmt(embedded.peak_rss_mb, 0)} MB`,
    });
  return rows;
}
