/**
 * `npm run bench:readme`: the README's performance table, generated from bench/results.json (a
 * complete `npm run bench` run), never edited by hand. Rewrites only what lies between the two
 * marker comments in README.md: a line naming the run's date and machine, then one row per
 * figure with its PRODUCT §6 budget where it has one (met or MISSED). A quick or partial run's
 * results are refused. `tsx bench/readme-table.ts [results.json] [README.md]` names other files.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt } from './report.js';
import { BUDGET } from './settings.js';

export const TABLE_START = '<!-- perf-table:start -->';
export const TABLE_END = '<!-- perf-table:end -->';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A value at a dotted path of the results (numbers and strings only; undefined when absent or not finite). */
function at(results: unknown, path: string): number | undefined {
  let v: unknown = results;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function text(results: unknown, path: string): string | undefined {
  let v: unknown = results;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function list(results: unknown, path: string): unknown[] {
  let v: unknown = results;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return Array.isArray(v) ? v : [];
}

interface Line {
  figure: string;
  value: string;
  budget?: string;
  met?: boolean;
}

const ms = (v: number | undefined, digits = 1) => `${fmt(v ?? Number.NaN, digits)} ms`;
const s = (v: number | undefined) => `${fmt((v ?? Number.NaN) / 1000, 1)} s`;

function ackLines(r: unknown): Line[] {
  const out: Line[] = [];
  if (at(r, 'baseline.ack_rps') !== undefined)
    out.push({
      figure: `baseline: bare Bolt ack, ${fmt(at(r, 'extras.load_seconds') ?? Number.NaN, 0)} s of \`help\``,
      value: `${fmt(at(r, 'baseline.ack_rps') ?? Number.NaN, 0)}/s, p50 ${ms(at(r, 'baseline.ack_p50_ms'))}, p99 ${ms(at(r, 'baseline.ack_p99_ms'))}`,
    });
  const burstRps = at(r, 'extras.baseline.request_burst.rps');
  if (burstRps !== undefined)
    out.push({
      figure: 'baseline: bare Bolt ack, the request bursts',
      value: `${fmt(burstRps, 0)}/s, p99 ${ms(at(r, 'extras.baseline.request_burst.latency.p99'))}`,
    });
  const commandP99 = at(r, 'command_ack.p99_ms');
  if (commandP99 !== undefined) {
    out.push({
      figure: `\`command_ack\` p99: ${fmt(at(r, 'extras.command_ack_burst.requests') ?? Number.NaN, 0)} real, unique \`/request-billing\` requests`,
      value: `${ms(commandP99)} (p50 ${ms(at(r, 'command_ack.p50_ms'))})`,
      budget: `< ${BUDGET.ackP99Ms} ms`,
      met: commandP99 < BUDGET.ackP99Ms,
    });
    const rps = at(r, 'command_ack.rps');
    if (rps !== undefined && burstRps !== undefined)
      out.push({
        figure: '`command_ack` throughput, same bursts',
        value: `${fmt(rps, 0)}/s = ${fmt(rps / burstRps, 2)} × bare Bolt`,
        budget: `≥ ${BUDGET.commandVsBaseline} ×`,
        met: rps >= BUDGET.commandVsBaseline * burstRps,
      });
  }
  const helpRatio = at(r, 'extras.command_ack_help.vs_baseline');
  if (at(r, 'extras.command_ack_help.rps') !== undefined)
    out.push({
      figure: `\`help\` ack, ${fmt(at(r, 'extras.load_seconds') ?? Number.NaN, 0)} s (the ack path alone)`,
      value: `${fmt(at(r, 'extras.command_ack_help.rps') ?? Number.NaN, 0)}/s = ${fmt(helpRatio ?? Number.NaN, 2)} × bare Bolt, p99 ${ms(at(r, 'extras.command_ack_help.latency.p99'))}`,
      budget: `≥ ${BUDGET.commandVsBaseline} ×`,
      met: (helpRatio ?? 0) >= BUDGET.commandVsBaseline,
    });
  const approveP99 = at(r, 'approve_ack.p99_ms');
  if (approveP99 !== undefined)
    out.push({
      figure: `\`approve_ack\` p99: ${fmt(at(r, 'extras.approve_burst.requests') ?? Number.NaN, 0)} Approve clicks, each on its own request`,
      value: `${ms(approveP99)} (p50 ${ms(at(r, 'approve_ack.p50_ms'))})`,
      budget: `< ${BUDGET.ackP99Ms} ms`,
      met: approveP99 < BUDGET.ackP99Ms,
    });
  return out;
}

/** Each round's ratio of the bot's ack p99 to bare Bolt's in the round just before it (the worse kind's), where both were measured. */
function roundRatios(detail: unknown): number[] {
  return list(detail, 'rounds').flatMap((round) => {
    const ratio = Math.max(
      (at(round, 'bot.command.p99_ms') ?? Number.NaN) / (at(round, 'bare.command.p99_ms') ?? Number.NaN),
      (at(round, 'bot.click.p99_ms') ?? Number.NaN) / (at(round, 'bare.click.p99_ms') ?? Number.NaN),
    );
    return Number.isFinite(ratio) ? [ratio] : [];
  });
}

function loadLines(r: unknown): Line[] {
  const out: Line[] = [];
  const details = list(r, 'extras.sustained.steps');
  for (const [i, step] of list(r, 'sustained').entries()) {
    const rate = at(step, 'rate');
    const worst = Math.max(at(step, 'command.p99_ms') ?? Number.NaN, at(step, 'click.p99_ms') ?? Number.NaN);
    const ratio = Math.max(
      (at(step, 'command.p99_ms') ?? Number.NaN) / (at(step, 'bare.command.p99_ms') ?? Number.NaN),
      (at(step, 'click.p99_ms') ?? Number.NaN) / (at(step, 'bare.click.p99_ms') ?? Number.NaN),
    );
    const budgeted = rate === BUDGET.sustainedBudgetRate;
    const rounds = at(step, 'rounds');
    const seconds = `${fmt(at(step, 'seconds') ?? Number.NaN, 0)} s`;
    const byRound = roundRatios(details[i]);
    out.push({
      figure: `\`sustained\` ${fmt(rate ?? Number.NaN, 0)}/s, commands and clicks together for ${rounds && rounds > 1 ? `${fmt(rounds, 0)} rounds of ${seconds}, in turns with bare Bolt's` : seconds}: ack p99`,
      value: `commands ${ms(at(step, 'command.p99_ms'))} (bare Bolt ${ms(at(step, 'bare.command.p99_ms'))}), clicks ${ms(at(step, 'click.p99_ms'))} (bare Bolt ${ms(at(step, 'bare.click.p99_ms'))}): ${fmt(ratio, 2)} × bare Bolt${byRound.length > 1 ? ` (round by round: ${byRound.map((x) => `${fmt(x, 2)} ×`).join(', ')})` : ''}`,
      ...(budgeted
        ? { budget: `< ${BUDGET.ackP99Ms} ms, ≤ ${BUDGET.sustainedVsBare} ×`, met: worst < BUDGET.ackP99Ms && ratio <= BUDGET.sustainedVsBare }
        : {}),
    });
    const d = details[i];
    if (d !== undefined)
      out.push({
        figure: `\`sustained\` ${fmt(rate ?? Number.NaN, 0)}/s: click → grant announced`,
        value: `p50 ${s(at(d, 'click_to_grant.p50_ms'))}, p90 ${s(at(d, 'click_to_grant.p90_ms'))}; backlog drained ${s(at(d, 'drain_ms'))} after the load; ${fmt(at(d, 'lost') ?? Number.NaN, 0)} lost`,
      });
  }
  const p99 = at(r, 'saturation.p99_ms');
  if (p99 !== undefined) {
    const lost = at(r, 'saturation.lost');
    out.push({
      figure: `\`saturation\`: commands and clicks as fast as the load generator can, ${fmt(at(r, 'saturation.seconds') ?? Number.NaN, 0)} s`,
      value: `ack p99 ${ms(p99)}; ${fmt(at(r, 'saturation.acked') ?? Number.NaN, 0)} acked, ${fmt(at(r, 'saturation.busy') ?? Number.NaN, 0)} refused as busy; drained ${s(at(r, 'saturation.drain_ms'))} after; ${fmt(lost ?? Number.NaN, 0)} accepted and lost`,
      budget: `< ${fmt(BUDGET.saturationP99Ms / 1000, 0)} s, none lost`,
      met: p99 < BUDGET.saturationP99Ms && lost === 0 && at(r, 'saturation.drain_ms') !== undefined,
    });
    const clickP99 = at(r, 'saturation.click_p99_ms');
    out.push({
      figure: 'a click during a flood of commands',
      value: `ack p99 ${ms(clickP99)}, click → grant announced ${s(at(r, 'saturation.grant_during_flood_ms'))} (p50)`,
      budget: `< ${BUDGET.ackP99Ms} ms`,
      met: clickP99 !== undefined && clickP99 < BUDGET.ackP99Ms,
    });
  }
  const c = 'extras.work_queue_variant.compared';
  if (at(r, `${c}.rate`) !== undefined) {
    const setting = JSON.stringify((r as { extras?: { work_queue_variant?: { options?: unknown } } }).extras?.work_queue_variant?.options ?? {});
    const shipped = fmt(at(r, 'extras.work_queue_variant.shipped_options.concurrency') ?? Number.NaN, 0);
    out.push({
      figure: `post-ack work at ${fmt(at(r, `${c}.rate`) ?? Number.NaN, 0)}/s: shipped (work thread, ${shipped} at a time) / ${setting === '{"thread":false}' ? 'in the answering thread' : setting}`,
      value: `ack p99 commands ${ms(at(r, `${c}.command_p99_ms.shipped`))} / ${ms(at(r, `${c}.command_p99_ms.variant`))}, clicks ${ms(at(r, `${c}.click_p99_ms.shipped`))} / ${ms(at(r, `${c}.click_p99_ms.variant`))}; click → grant p50 ${s(at(r, `${c}.click_to_grant_p50_ms.shipped`))} / ${s(at(r, `${c}.click_to_grant_p50_ms.variant`))}; a click during a flood: ack p99 ${ms(at(r, `${c}.flood_click_p99_ms.shipped`))} / ${ms(at(r, `${c}.flood_click_p99_ms.variant`))}`,
    });
  }
  return out;
}

/** The warm-up lifecycles' own CPU, when the run had them (runs before them did not). */
function warmupNote(r: unknown): string {
  const n = at(r, 'extras.lifecycle.warmup.lifecycles');
  const cpu = at(r, 'extras.lifecycle.warmup.cpu_ms_per_lifecycle');
  return n === undefined || cpu === undefined ? '' : ` (the ${fmt(n, 0)} lifecycles run first after start, not counted: ${ms(cpu, 0)} each)`;
}

function lifecycleLines(r: unknown): Line[] {
  const perS = at(r, 'lifecycle.per_s');
  if (perS === undefined) return [];
  const cpu = at(r, 'lifecycle.cpu_ms_per_lifecycle');
  const iam = at(r, 'lifecycle.iam_calls_per_lifecycle');
  const out: Line[] = [
    {
      figure: 'lifecycle: request → approve → member of the group',
      value: `${fmt(perS, 1)}/s (${fmt(at(r, 'extras.lifecycle.completed') ?? Number.NaN, 0)} end to end, verified in IAM and the table)`,
    },
    {
      figure: 'bot CPU per lifecycle',
      value: `${ms(cpu, 0)}${warmupNote(r)}`,
      budget: `≤ ${BUDGET.lifecycleCpuMs} ms`,
      met: cpu !== undefined && cpu <= BUDGET.lifecycleCpuMs,
    },
    {
      figure: 'DynamoDB per lifecycle (table)',
      value: `${fmt(at(r, 'lifecycle.wcu_per_lifecycle') ?? Number.NaN, 1)} WCU, ${fmt(at(r, 'lifecycle.rcu_per_lifecycle') ?? Number.NaN, 1)} RCU`,
    },
    {
      figure: 'Slack / IAM calls per lifecycle',
      value: `${fmt(at(r, 'lifecycle.slack_calls_per_lifecycle') ?? Number.NaN, 1)} / ${fmt(iam ?? Number.NaN, 2)}`,
      budget: `IAM ≤ ${BUDGET.lifecycleIamCalls}`,
      met: iam !== undefined && iam <= BUDGET.lifecycleIamCalls,
    },
  ];
  for (const [step, name] of [
    ['request', 'request'],
    ['approve_grant', 'approve → grant'],
  ] as const) {
    const p = `lifecycle.per_step.${step}`;
    if (at(r, `${p}.cpu_ms`) === undefined) continue;
    out.push({
      figure: `  step: ${name}`,
      value: `${fmt(at(r, `${p}.iam_calls`) ?? Number.NaN, 1)} IAM, ${fmt(at(r, `${p}.slack_calls`) ?? Number.NaN, 1)} Slack, ${fmt(at(r, `${p}.wcu`) ?? Number.NaN, 1)} WCU, ${fmt(at(r, `${p}.rcu`) ?? Number.NaN, 1)} RCU, ${ms(at(r, `${p}.cpu_ms`), 0)} CPU`,
    });
  }
  const floor = at(r, 'lifecycle.call_floor.floor_cpu_ms_per_lifecycle');
  if (floor !== undefined) {
    const per = (client: string) => fmt(at(r, `lifecycle.call_floor.cpu_ms_per_call.${client}`) ?? Number.NaN, 2);
    out.push({
      figure: '  the calls alone (call floor)',
      value: `${ms(floor, 0)} CPU: each call's client cost with instant answers (DynamoDB ${per('dynamodb')}, IAM ${per('iam')}, Slack ${per('slack')}, response_url ${per('http_post')} ms)`,
    });
  }
  return out;
}

function scaleLines(r: unknown): Line[] {
  const out: Line[] = [];
  if (at(r, 'identity_at_scale.iam_calls_per_lookup') !== undefined)
    out.push({
      figure: `identity lookup (\`tag\`) with ${fmt(at(r, 'identity_at_scale.iam_users') ?? Number.NaN, 0)} IAM users`,
      value: `${fmt(at(r, 'identity_at_scale.iam_calls_per_lookup') ?? Number.NaN, 2)} IAM calls per lookup`,
    });
  if (at(r, 'review_at_scale.iam_calls') !== undefined)
    out.push({
      figure: `access review with ${fmt(at(r, 'review_at_scale.members') ?? Number.NaN, 0)} members`,
      value: `${fmt(at(r, 'review_at_scale.iam_calls') ?? Number.NaN, 0)} IAM calls, ${ms(at(r, 'review_at_scale.ms'), 0)}`,
    });
  return out;
}

function periodLines(r: unknown): Line[] {
  const out: Line[] = [];
  for (const [key, name, budget] of [
    ['period_query', '`period_query`: 1,000 requests in the week, beside 100,000 older', BUDGET.periodRatio],
    ['summary', '`summary`: the same week', BUDGET.summaryRatio],
  ] as const) {
    const ratio = at(r, `${key}.ratio`);
    if (ratio === undefined) continue;
    out.push({
      figure: name,
      value: `×${fmt(ratio, 2)} (${ms(at(r, `${key}.week_only_ms`))} → ${ms(at(r, `${key}.with_history_ms`))})`,
      budget: `≤ ${budget}`,
      met: ratio <= budget,
    });
  }
  return out;
}

function botLines(r: unknown): Line[] {
  const out: Line[] = [];
  const startup = at(r, 'startup_ms');
  if (startup !== undefined)
    out.push({
      figure: 'start-up, spawn to `/healthz` 200',
      value: ms(startup, 0),
      budget: `< ${fmt(BUDGET.startupMs / 1000, 0)} s`,
      met: startup < BUDGET.startupMs,
    });
  const rss = at(r, 'peak_rss_mb');
  if (rss !== undefined) {
    const bare = at(r, 'extras.baseline.peak_rss_mb');
    out.push({
      figure: 'peak RSS under load (saturation included)',
      value: `${fmt(rss, 0)} MB${bare !== undefined ? ` (bare Bolt, with Node's default heap: ${fmt(bare, 0)} MB)` : ''}`,
      budget: `< ${BUDGET.peakRssMb} MB`,
      met: rss < BUDGET.peakRssMb,
    });
  }
  const e = 'extras.embedded_store_bot';
  if (at(r, `${e}.startup_ms`) !== undefined)
    out.push({
      figure: 'the bot on `STORE=embedded` (dynalite in the process)',
      value: `start-up ${ms(at(r, `${e}.startup_ms`), 0)}, ${fmt(at(r, `${e}.lifecycle_per_s`) ?? Number.NaN, 1)} lifecycles/s, peak RSS ${fmt(at(r, `${e}.peak_rss_mb`) ?? Number.NaN, 0)} MB`,
    });
  return out;
}

const cell = (v: string) => v.replaceAll('|', '\\|');

/** The lines between the markers: the run's date and machine, then the table. */
export function renderPerfTable(results: unknown): string {
  const date = (text(results, 'extras.run_at') ?? 'unknown date').slice(0, 10);
  const cores = at(results, 'extras.machine.cores');
  const model = text(results, 'extras.machine.cpu_model') ?? 'unknown CPU';
  const node = text(results, 'extras.machine.node') ?? 'unknown Node';
  const lines = [
    ...ackLines(results),
    ...loadLines(results),
    ...lifecycleLines(results),
    ...scaleLines(results),
    ...periodLines(results),
    ...botLines(results),
  ];
  const row = (cells: string[]) => `|${cells.map((c) => (c ? ` ${cell(c)} ` : ' ')).join('|')}|`;
  const rows = lines.map((l) => row([l.figure, l.value, l.budget ?? '', l.met === undefined ? '' : l.met ? 'met' : 'MISSED']));
  return [
    `Latest run (${date}; ${fmt(cores ?? Number.NaN, 0)} cores, ${model}; Node ${node.replace(/^v/, '')}), generated from \`bench/results.json\` by \`npm run bench:readme\`:`,
    '',
    '| figure | value | budget | |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** `readme` with what lies between the markers replaced by `table`; throws when the markers are not there once each, in order. */
export function replaceTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start || readme.indexOf(TABLE_START, start + 1) >= 0 || readme.indexOf(TABLE_END, end + 1) >= 0)
    throw new Error(`README.md must hold ${TABLE_START} and then ${TABLE_END}, once each`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** Reads the results (bench/results.json, or argv[2]) and rewrites the table in README.md (or argv[3]). */
function main(): void {
  const resultsFile = process.argv[2] ?? join(ROOT, 'bench', 'results.json');
  const readmeFile = process.argv[3] ?? join(ROOT, 'README.md');
  if (!existsSync(resultsFile)) throw new Error(`${resultsFile} not found: run \`npm run bench\` (every phase) first`);
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as unknown;
  const quick = (results as { extras?: { quick?: boolean } }).extras?.quick;
  if (quick !== false) throw new Error(`${resultsFile} is not from a complete run (npm run bench with every phase, not BENCH_QUICK)`);
  writeFileSync(readmeFile, replaceTable(readFileSync(readmeFile, 'utf8'), renderPerfTable(results)));
  process.stdout.write(`${readmeFile}: performance table rewritten from ${resultsFile} (${text(results, 'extras.run_at') ?? 'no date'})\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
