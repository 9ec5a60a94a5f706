/**
 * The period read: one week of requests alone in a table, against the same week beside 100,000
 * older requests, both on dynalite (seeded by period-seeding.ts). Times the store's
 * `listCreatedBetween` and the weekly summary's `build` on both tables, through the bot's own
 * DynamoRequestStore and SummaryService.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../src/config.js';
import { summarySchedule } from '../src/deps.js';
import { AdminPolicy } from '../src/services/admins.js';
import { GroupMembership } from '../src/services/membership.js';
import type { IamGateway } from '../src/services/ports.js';
import { SummaryService } from '../src/services/summary-service.js';
import { DynamoRequestStore } from '../src/store/dynamo-store.js';
import { LEVELS } from './fixtures.js';
import { median } from './measure.js';

export interface PeriodFigures {
  week_items: number;
  history_items: number;
  week_only_ms: number;
  with_history_ms: number;
  ratio: number;
}

export interface PeriodResult {
  period_query: PeriodFigures;
  summary: PeriodFigures;
  seed: { items: number; ms: number; items_per_s: number };
  week: { from: string; to: string };
  runs: { period_query: { week_only: number[]; with_history: number[] }; summary: { week_only: number[]; with_history: number[] } };
}

export interface PeriodOptions {
  client: DynamoDBClient;
  config: Config;
  weekItems: number;
  historyItems: number;
  /** History spread evenly over this many days before the week. */
  historyDays: number;
  runs: number;
  log: (line: string) => void;
}

/** The two tables: the week alone, and the week beside its history. */
export interface PeriodTables {
  weekOnly: string;
  withHistory: string;
}

/** The stand-in IAM for the summary: both groups hold exactly their policy and have no members. */
function quietIam(): IamGateway {
  return {
    dryRun: false,
    getUser: async () => undefined,
    recheckUser: async () => undefined,
    findUserByEmailTag: async () => undefined,
    groupsPerUserQuota: async () => null,
    groupPolicies: async (groupName) => ({
      attachedPolicyArns: LEVELS.filter((l) => l.group === groupName).map((l) => l.policy),
      inlinePolicyNames: [],
    }),
    groupMembers: async () => [],
    reviewMember: async (userName) => ({ userName, mfaDevices: 1, oldActiveKeys: [], hasConsolePassword: true, passwordLastUsed: undefined }),
    addUserToGroup: async () => undefined,
    removeUserFromGroup: async () => 'removed',
  };
}

/** Times both reads on both tables, interleaved, `runs` times each after two warm-ups. */
export async function timePeriodReads(
  options: PeriodOptions,
  tables: PeriodTables,
  week: { from: string; to: string },
): Promise<Omit<PeriodResult, 'seed' | 'week'>> {
  const { client, config } = options;
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const stores = { weekOnly: new DynamoRequestStore(doc, tables.weekOnly), withHistory: new DynamoRequestStore(doc, tables.withHistory) };
  const clock = { now: () => new Date(week.to) };
  const silent = { info: () => undefined, error: () => undefined };
  const admins = new AdminPolicy(config.adminUserIds, undefined, { getUser: async () => undefined, usergroupMembers: async () => [] });
  const poster = { postSummary: async () => undefined };
  const identity = { approverConflict: async () => undefined };
  const common = { config, iam: quietIam(), admins, identity, poster, clock, log: silent, schedule: summarySchedule(config) };
  const membership = (store: DynamoRequestStore) => new GroupMembership(store);
  const summaries = {
    weekOnly: new SummaryService({ ...common, store: stores.weekOnly, membership: membership(stores.weekOnly), replicaId: 'bench-a' }),
    withHistory: new SummaryService({ ...common, store: stores.withHistory, membership: membership(stores.withHistory), replicaId: 'bench-b' }),
  };

  const times = {
    period_query: { week_only: [] as number[], with_history: [] as number[] },
    summary: { week_only: [] as number[], with_history: [] as number[] },
  };
  const query = async (which: 'weekOnly' | 'withHistory') => {
    const t = performance.now();
    const rows = await stores[which].listCreatedBetween(week.from, week.to);
    return { ms: performance.now() - t, rows: rows.length };
  };
  const summarize = async (which: 'weekOnly' | 'withHistory') => {
    const t = performance.now();
    const report = await summaries[which].build(week.from, week.to);
    return { ms: performance.now() - t, rows: report.stats.total };
  };
  for (let i = 0; i < options.runs + 2; i++) {
    for (const which of i % 2 ? (['withHistory', 'weekOnly'] as const) : (['weekOnly', 'withHistory'] as const)) {
      const q = await query(which);
      const s = await summarize(which);
      if (q.rows !== options.weekItems || s.rows !== options.weekItems) {
        throw new Error(`the ${which} table gave ${q.rows} rows to the query and ${s.rows} to the summary, not the ${options.weekItems} of the week`);
      }
      if (i < 2) continue;
      times.period_query[which === 'weekOnly' ? 'week_only' : 'with_history'].push(q.ms);
      times.summary[which === 'weekOnly' ? 'week_only' : 'with_history'].push(s.ms);
    }
  }
  const figures = (t: { week_only: number[]; with_history: number[] }): PeriodFigures => {
    const weekOnly = median(t.week_only);
    const withHistory = median(t.with_history);
    return {
      week_items: options.weekItems,
      history_items: options.historyItems,
      week_only_ms: weekOnly,
      with_history_ms: withHistory,
      ratio: withHistory / weekOnly,
    };
  };
  return { period_query: figures(times.period_query), summary: figures(times.summary), runs: times };
}
