/**
 * The rows of the table `npm run bench` prints: each figure of the phases that ran, beside its
 * PRODUCT §6 budget where it has one (met or MISSED), in a fixed order: acks against bare Bolt,
 * lifecycles, the period ratios, the bot's start-up and memory, then the launch variants.
 */
import type { BotFigures } from './phases/bot.js';
import type { CallFloorResult } from './phases/call-floor.js';
import type { StepCost } from './phases/lifecycle.js';
import { fmt, type Row } from './report.js';
import type { PhaseResults } from './results.js';
import { BUDGET, type Settings } from './settings.js';

const ms = (v: number | undefined) => `${fmt(v ?? Number.NaN, 1)} ms`;

export function tableRows(phases: PhaseResults, bot: BotFigures, settings: Settings): Row[] {
  return [
    ...ackRows(phases, settings),
    ...loadRows(phases),
    ...lifecycleRows(phases),
    ...scaleRows(phases),
    ...periodRows(phases),
    ...botRows(phases, bot),
    ...variantRows(phases, settings),
  ];
}

function ackRows({ baseline, requests, help, approve }: PhaseResults, settings: Settings): Row[] {
  const rows: Row[] = [];
  const secs = `${settings.loadSeconds} s`;
  const burstBase = baseline?.request_burst;
  if (baseline)
    rows.push({
      figure: `baseline: bare Bolt ack (help, ${secs})`,
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
    rows.push({ figure: `help ack p99 (${secs})`, value: ms(help.latency.p99), budget: `< ${BUDGET.ackP99Ms} ms`, met: help.latency.p99 < BUDGET.ackP99Ms });
    if (baseline)
      rows.push({
        figure: `help ack throughput (${secs})`,
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
  const step = (s: StepCost) => `IAM ${fmt(s.iam_calls, 1)}, Slack ${fmt(s.slack_calls, 1)}, ${fmt(s.wcu, 1)} WCU, ${fmt(s.rcu, 1)} RCU, CPU ${ms(s.cpu_ms)}`;
  return [
    { figure: 'lifecycle throughput', value: `${fmt(c.per_s, 2)}/s (${lifecycle.extras.completed} end to end)` },
    {
      figure: 'bot CPU per lifecycle',
      value: `${ms(c.cpu_ms_per_lifecycle)} (the first ${lifecycle.extras.warmup.lifecycles} after start, not counted: ${ms(lifecycle.extras.warmup.cpu_ms_per_lifecycle)} each)`,
      budget: `≤ ${BUDGET.lifecycleCpuMs} ms`,
      met: c.cpu_ms_per_lifecycle <= BUDGET.lifecycleCpuMs,
    },
    { figure: 'DynamoDB per lifecycle (table only)', value: `${fmt(c.wcu_per_lifecycle, 1)} WCU, ${fmt(c.rcu_per_lifecycle, 1)} RCU` },
    { figure: 'Slack calls per lifecycle', value: fmt(c.slack_calls_per_lifecycle, 1) },
    {
      figure: 'IAM calls per lifecycle',
      value: fmt(c.iam_calls_per_lifecycle, 2),
      budget: `≤ ${BUDGET.lifecycleIamCalls}`,
      met: c.iam_calls_per_lifecycle <= BUDGET.lifecycleIamCalls,
    },
    { figure: `  step: request (${c.per_step.lifecycles} apart)`, value: step(c.per_step.request) },
    { figure: '  step: approve → grant', value: step(c.per_step.approve_grant) },
    ...(c.call_floor ? [{ figure: '  the calls alone (call floor)', value: callFloor(c.call_floor) }] : []),
  ];
}

/** The CPU a lifecycle's calls take by themselves, and per call by client. */
function callFloor(f: CallFloorResult): string {
  const per = f.cpu_ms_per_call;
  return `${ms(f.floor_cpu_ms_per_lifecycle)} (per call: DynamoDB ${fmt(per.dynamodb, 2)}, IAM ${fmt(per.iam, 2)}, Slack ${fmt(per.slack, 2)}, response_url ${fmt(per.http_post, 2)} ms)`;
}

function loadRows({ sustained, saturation, queueVariant }: PhaseResults): Row[] {
  const rows: Row[] = [];
  for (const s of sustained?.steps ?? []) {
    const budgeted = s.rate === BUDGET.sustainedBudgetRate;
    const worst = Math.max(s.command.p99_ms, s.click.p99_ms);
    const ratio = Math.max(s.command.p99_ms / s.bare.command.p99_ms, s.click.p99_ms / s.bare.click.p99_ms);
    rows.push({
      figure: `sustained ${s.rate}/s mixed, ${s.rounds.length > 1 ? `${s.rounds.length} × ` : ''}${s.seconds} s: ack p99`,
      value: `command ${ms(s.command.p99_ms)} (bare ${ms(s.bare.command.p99_ms)}), click ${ms(s.click.p99_ms)} (bare ${ms(s.bare.click.p99_ms)}); ×${fmt(ratio, 2)} of bare`,
      ...(budgeted
        ? { budget: `< ${BUDGET.ackP99Ms} ms and ≤ ${BUDGET.sustainedVsBare} × bare`, met: worst < BUDGET.ackP99Ms && ratio <= BUDGET.sustainedVsBare }
        : {}),
    });
    rows.push({
      figure: `  ${s.rate}/s: click → grant, drain`,
      value: `p50 ${fmt(s.click_to_grant.p50_ms, 0)} ms, p90 ${fmt(s.click_to_grant.p90_ms, 0)} ms (${s.click_to_grant.granted} grants); drained ${fmt(s.drain_ms / 1000, 1)} s after; busy ${s.busy.command + s.busy.click}`,
      budget: 'nothing lost',
      met: s.lost === 0,
    });
  }
  if (saturation) {
    rows.push({
      figure: `saturation, ${saturation.seconds} s flat out: ack p99`,
      value: `${ms(saturation.p99_ms)} (${saturation.acked} acked, ${saturation.busy} busy; drained ${fmt(saturation.drain_ms / 1000, 1)} s after)`,
      budget: `< ${BUDGET.saturationP99Ms} ms`,
      met: saturation.p99_ms < BUDGET.saturationP99Ms,
    });
    rows.push({
      figure: 'saturation: accepted and lost',
      value: `${saturation.lost}${Number.isFinite(saturation.drain_ms) ? '' : ' (the bot had not finished: not drained in time)'}`,
      budget: '0',
      met: saturation.lost === 0 && Number.isFinite(saturation.drain_ms),
    });
    rows.push({
      figure: 'click during a command flood',
      value: `ack p99 ${ms(saturation.click_p99_ms)}, click → grant p50 ${fmt(saturation.grant_during_flood_ms, 0)} ms`,
      budget: `ack < ${BUDGET.ackP99Ms} ms`,
      met: saturation.click_p99_ms < BUDGET.ackP99Ms,
    });
  }
  if (queueVariant) {
    const c = queueVariant.compared;
    const setting = JSON.stringify(queueVariant.options);
    rows.push({
      figure: `post-ack at ${c.rate}/s: shipped / ${setting}`,
      value: `ack p99 command ${ms(c.command_p99_ms.shipped)} / ${ms(c.command_p99_ms.variant)}, click ${ms(c.click_p99_ms.shipped)} / ${ms(c.click_p99_ms.variant)}; click → grant p50 ${fmt(c.click_to_grant_p50_ms.shipped, 0)} / ${fmt(c.click_to_grant_p50_ms.variant, 0)} ms`,
    });
    rows.push({
      figure: `post-ack, saturation: shipped / ${setting}`,
      value: `ack p99 ${ms(c.saturation_p99_ms.shipped)} / ${ms(c.saturation_p99_ms.variant)}; drain ${fmt(c.saturation_drain_ms.shipped / 1000, 1)} / ${fmt(c.saturation_drain_ms.variant / 1000, 1)} s; click in a flood ${ms(c.flood_click_p99_ms.shipped)} / ${ms(c.flood_click_p99_ms.variant)}`,
    });
  }
  return rows;
}

function scaleRows({ identityScale, reviewScale }: PhaseResults): Row[] {
  const rows: Row[] = [];
  if (identityScale)
    rows.push({
      figure: 'identity lookup at scale',
      value: `${fmt(identityScale.iam_calls_per_lookup, 2)} IAM calls per lookup (${identityScale.iam_users} IAM users)`,
    });
  if (reviewScale)
    rows.push({ figure: 'access review at scale', value: `${reviewScale.iam_calls} IAM calls, ${ms(reviewScale.ms)} (${reviewScale.members} members)` });
  return rows;
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

function variantRows({ fromSource, embedded }: PhaseResults, settings: Settings): Row[] {
  const rows: Row[] = [];
  if (fromSource)
    rows.push({
      figure: 'bot from source (npm start, under tsx)',
      value: `startup ${fmt(fromSource.startup_ms, 0)} ms, RSS ${fmt(fromSource.rss_mb_after_start, 0)} MB idle, ${fmt(fromSource.peak_rss_mb, 0)} MB peak (help ${settings.sourceSeconds} s)`,
    });
  if (embedded)
    rows.push({
      figure: 'bot on STORE=embedded',
      value: `startup ${fmt(embedded.startup_ms, 0)} ms, ${fmt(embedded.lifecycle_per_s, 2)} lifecycles/s, peak RSS ${fmt(embedded.peak_rss_mb, 0)} MB`,
    });
  return rows;
}
