/**
 * The README's performance table is generated from bench/results.json (bench/readme-table.ts):
 * it renders a run's figures with the run's date and machine, writes only between its markers,
 * and README.md holds those markers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderPerfTable, replaceTable, TABLE_END, TABLE_START } from '../../bench/readme-table.js';

const README = new URL('../../README.md', import.meta.url);

/** A small run: a few figures of each kind, some over budget. */
const results = {
  command_ack: { rps: 900, p50_ms: 7.25, p99_ms: 15 },
  approve_ack: { rps: 800, p50_ms: 8, p99_ms: 140 },
  sustained: [
    {
      rate: 50,
      seconds: 10,
      command: { p50_ms: 4, p99_ms: 12 },
      click: { p50_ms: 5, p99_ms: 13 },
      bare: { command: { p50_ms: 2, p99_ms: 10 }, click: { p50_ms: 2, p99_ms: 11 } },
    },
    {
      rate: 150,
      seconds: 10,
      command: { p50_ms: 6, p99_ms: 40 },
      click: { p50_ms: 7, p99_ms: 20 },
      bare: { command: { p50_ms: 3, p99_ms: 20 }, click: { p50_ms: 3, p99_ms: 20 } },
    },
  ],
  saturation: { seconds: 10, acked: 9000, busy: 4000, p99_ms: 640, drain_ms: 61000, lost: 0, click_p99_ms: 35, grant_during_flood_ms: 1800 },
  lifecycle: {
    per_s: 14.9,
    cpu_ms_per_lifecycle: 18,
    wcu_per_lifecycle: 10,
    rcu_per_lifecycle: 3.2,
    slack_calls_per_lifecycle: 5,
    iam_calls_per_lifecycle: 9,
    per_step: {
      lifecycles: 40,
      request: { iam_calls: 4, slack_calls: 2, wcu: 4, rcu: 1, cpu_ms: 8 },
      approve_grant: { iam_calls: 5, slack_calls: 3, wcu: 6, rcu: 2.2, cpu_ms: 10 },
    },
  },
  review_at_scale: { members: 500, iam_calls: 502, ms: 4100 },
  startup_ms: 1029,
  peak_rss_mb: 164,
  extras: {
    run_at: '2031-02-03T04:05:06.000Z',
    load_seconds: 10,
    machine: { cores: 2, cpu_model: 'Example CPU @ 2.0GHz', node: 'v20.20.2' },
    command_ack_burst: { requests: 600 },
    approve_burst: { requests: 600 },
    sustained: { steps: [{ click_to_grant: { p50_ms: 900, p90_ms: 1500 }, drain_ms: 2000, lost: 0 }] },
  },
};

const row = (table: string, figure: string) => table.split('\n').find((l) => l.startsWith(`| ${figure}`));

describe('the README performance table (bench/readme-table.ts)', () => {
  const table = renderPerfTable(results);

  it('names the run: its date, cores, CPU model and Node version', () => {
    expect(table.split('\n')[0]).toBe(
      'Latest run (2031-02-03; 2 cores, Example CPU @ 2.0GHz; Node 20.20.2), generated from `bench/results.json` by `npm run bench:readme`:',
    );
  });

  it('holds each figure of the results beside its budget, met or MISSED', () => {
    expect(row(table, '`command_ack` p99')).toBe('| `command_ack` p99: 600 real, unique `/request-billing` requests | 15.0 ms (p50 7.3 ms) | < 100 ms | met |');
    expect(row(table, '`approve_ack` p99')).toContain('| 140.0 ms (p50 8.0 ms) | < 100 ms | MISSED |');
    expect(row(table, '`sustained` 150/s, commands and clicks together for 10 s')).toBe(
      '| `sustained` 150/s, commands and clicks together for 10 s: ack p99 | commands 40.0 ms (bare Bolt 20.0 ms), clicks 20.0 ms (bare Bolt 20.0 ms): 2.00 × bare Bolt | < 100 ms, ≤ 1.5 × | MISSED |',
    );
    // Only the budget's rate has a budget.
    expect(row(table, '`sustained` 50/s, commands and clicks together for 10 s')).toMatch(/\| \|$/);
    expect(row(table, '`sustained` 50/s: click → grant announced')).toBe(
      '| `sustained` 50/s: click → grant announced | p50 0.9 s, p90 1.5 s; backlog drained 2.0 s after the load; 0 lost | | |',
    );
    expect(row(table, '`saturation`')).toBe(
      '| `saturation`: commands and clicks as fast as the load generator can, 10 s | ack p99 640.0 ms; 9,000 acked, 4,000 refused as busy; drained 61.0 s after; 0 accepted and lost | < 1 s, none lost | met |',
    );
    expect(row(table, 'a click during a flood of commands')).toBe(
      '| a click during a flood of commands | ack p99 35.0 ms, click → grant announced 1.8 s (p50) | < 100 ms | met |',
    );
    expect(row(table, 'bot CPU per lifecycle')).toBe('| bot CPU per lifecycle | 18 ms | ≤ 20 ms | met |');
    expect(
      row(
        renderPerfTable({ ...results, extras: { ...results.extras, lifecycle: { warmup: { lifecycles: 30, cpu_ms_per_lifecycle: 61.4 } } } }),
        'bot CPU per lifecycle',
      ),
    ).toBe('| bot CPU per lifecycle | 18 ms (the 30 lifecycles run first after start, not counted: 61 ms each) | ≤ 20 ms | met |');
    expect(row(table, 'Slack / IAM calls per lifecycle')).toBe('| Slack / IAM calls per lifecycle | 5.0 / 9.00 | IAM ≤ 8 | MISSED |');
    expect(row(table, '  step: approve → grant')).toBe('|   step: approve → grant | 5.0 IAM, 3.0 Slack, 6.0 WCU, 2.2 RCU, 10 ms CPU | | |');
    expect(row(table, 'access review with 500 members')).toBe('| access review with 500 members | 502 IAM calls, 4,100 ms | | |');
    expect(row(table, 'peak RSS')).toBe('| peak RSS under load (saturation included) | 164 MB | < 200 MB | met |');
  });

  it('gives a sustained rate measured in rounds its rounds, and each round against the bare Bolt round before it', () => {
    const ack = (command: number, click: number) => ({ command: { p50_ms: 2, p99_ms: command }, click: { p50_ms: 2, p99_ms: click } });
    const inRounds = {
      ...results,
      sustained: [{ rate: 150, seconds: 10, rounds: 2, ...ack(12, 9), bare: ack(8, 10) }],
      extras: {
        ...results.extras,
        sustained: {
          steps: [
            {
              click_to_grant: { p50_ms: 900, p90_ms: 1500 },
              drain_ms: 2000,
              lost: 0,
              rounds: [
                { bare: ack(4, 10), bot: ack(10, 9) },
                { bare: ack(8, 5), bot: ack(12, 6) },
              ],
            },
          ],
        },
      },
    };
    expect(row(renderPerfTable(inRounds), '`sustained` 150/s')).toBe(
      "| `sustained` 150/s, commands and clicks together for 2 rounds of 10 s, in turns with bare Bolt's: ack p99 | commands 12.0 ms (bare Bolt 8.0 ms), clicks 9.0 ms (bare Bolt 10.0 ms): 1.50 × bare Bolt (round by round: 2.50 ×, 1.50 ×) | < 100 ms, ≤ 1.5 × | met |",
    );
  });

  it('leaves out the figures a run does not hold', () => {
    expect(row(table, 'baseline')).toBeUndefined();
    expect(row(table, 'identity lookup')).toBeUndefined();
    expect(row(table, '`period_query`')).toBeUndefined();
  });

  it('rewrites only what lies between the markers', () => {
    const readme = `# Title\n\nbefore\n${TABLE_START}\nold table\n${TABLE_END}\nafter\n`;
    expect(replaceTable(readme, 'new table')).toBe(`# Title\n\nbefore\n${TABLE_START}\nnew table\n${TABLE_END}\nafter\n`);
    expect(() => replaceTable('no markers here', 'x')).toThrow(/perf-table:start/);
    expect(() => replaceTable(`${TABLE_END}\n${TABLE_START}`, 'x')).toThrow();
  });

  it('README.md holds the markers once each, around the performance table', () => {
    const readme = readFileSync(README, 'utf8');
    const performance = readme.slice(readme.indexOf('## Performance'), readme.indexOf('\n## ', readme.indexOf('## Performance') + 1));
    expect(performance.split(TABLE_START)).toHaveLength(2);
    expect(performance.split(TABLE_END)).toHaveLength(2);
    const inside = performance.slice(performance.indexOf(TABLE_START) + TABLE_START.length, performance.indexOf(TABLE_END));
    expect(inside).toMatch(/^Latest run \(/m);
    expect(inside).toMatch(/^\| figure \| value \| budget \| \|$/m);
    expect(() => replaceTable(readme, renderPerfTable(results))).not.toThrow();
  });
});
