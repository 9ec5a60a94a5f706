/**
 * The period read: one week of requests (1,000) alone in a table, against the same week
 * beside 100,000 older requests, both on dynalite. Items are shaped as DynamoRequestStore
 * writes them (keys, entity, createdMonth) and seeded with BatchWriteItem. Times the store's
 * `listCreatedBetween` and the weekly summary's `build` on both tables.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import type { Config } from '../src/config.js';
import { type AccessRequest, addDays, DAY_MS, type RequestStatus } from '../src/domain/request.js';
import { AdminPolicy } from '../src/services/admins.js';
import { GroupMembership } from '../src/services/membership.js';
import type { IamGateway } from '../src/services/ports.js';
import { SummaryService } from '../src/services/summary-service.js';
import { DynamoRequestStore } from '../src/store/dynamo-store.js';
import { monthOf, requestKey } from '../src/store/keys.js';
import { ensureTable } from '../src/store/table.js';
import { ADMIN_CHANNEL, ADMINS, LEVELS } from './fixtures.js';

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

/** A deterministic generator, so every run seeds the same shape of data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, weighted: [T, number][]): T {
  let r = random() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [value, weight] of weighted) {
    r -= weight;
    if (r <= 0) return value;
  }
  return (weighted[weighted.length - 1] as [T, number])[0];
}

/** Old requests are all finished: history adds rows, not pending or active grants. */
const HISTORY_STATUSES: [RequestStatus, number][] = [
  ['EXPIRED', 72],
  ['DENIED', 10],
  ['CANCELLED', 5],
  ['TIMED_OUT', 4],
  ['REVOKED', 5],
  ['EXTENDED', 3],
  ['FAILED', 1],
];
const WEEK_STATUSES: [RequestStatus, number][] = [
  ['ACTIVE', 45],
  ['EXPIRED', 12],
  ['DENIED', 10],
  ['PENDING', 10],
  ['CANCELLED', 5],
  ['TIMED_OUT', 3],
  ['REVOKED', 5],
  ['EXTENDED', 8],
  ['FAILED', 2],
];

type Item = Record<string, unknown>;

function requestItem(random: () => number, newId: (t: number) => string, createdMs: number, status: RequestStatus, n: number): Item {
  const createdAt = new Date(createdMs).toISOString();
  const levelConfig = LEVELS[random() < 0.8 ? 0 : 1];
  const durationDays = pick(random, [
    [1, 2],
    [7, 6],
    [14, 1],
    [30, 1],
  ]);
  const person = `h${String(n % 500).padStart(4, '0')}`;
  const admin = ADMINS[n % 2] as string;
  const decidedAt = new Date(createdMs + Math.floor(random() * 4 * 3_600_000)).toISOString();
  const decided = status !== 'PENDING' && status !== 'TIMED_OUT' && status !== 'CANCELLED';
  const approved = decided && status !== 'DENIED';
  const expiresAt = approved && status !== 'FAILED' ? addDays(decidedAt, durationDays) : undefined;
  const request: AccessRequest = {
    id: newId(createdMs),
    status,
    requesterId: `U${person.toUpperCase()}`,
    requesterTeamId: 'T0001',
    requesterEmail: `${person}@corp.com`,
    iamUserName: person,
    level: levelConfig.level,
    groupName: levelConfig.group,
    durationDays,
    justification: 'month-end close and the quarterly cost review for finance',
    createdAt,
    approvals: approved ? [{ by: admin, at: decidedAt }] : [],
    approverIds: approved ? [admin] : [],
    approvalsRequired: 1,
    dryRun: false,
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: [], warnings: [] },
    adminMessage: { channel: ADMIN_CHANNEL, ts: `${Math.floor(createdMs / 1000)}.000100` },
    version: status === 'PENDING' ? 2 : 4,
    updatedAt: decided ? decidedAt : createdAt,
    ...(decided ? { decidedBy: admin, decidedAt } : {}),
    ...(status === 'TIMED_OUT' ? { decidedBy: 'system', decidedAt } : {}),
    ...(status === 'CANCELLED' ? { decidedBy: `U${person.toUpperCase()}`, decidedAt } : {}),
    ...(status === 'DENIED' ? { denyReason: 'not needed for this task' } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(status === 'REVOKED' ? { endedBy: admin, endedAt: decidedAt } : {}),
    ...(status === 'FAILED' ? { failure: { name: 'AccessDenied', message: 'not authorized to perform iam:AddUserToGroup', at: decidedAt } } : {}),
  };
  // What DynamoRequestStore.create writes: the request, its keys, the entity and the month bucket.
  return { ...request, ...requestKey(request.id), entity: 'request', createdMonth: monthOf(createdAt) };
}

/**
 * Writes items with BatchWriteItem, `concurrency` batches at a time, in the background. It can
 * be paused (it then waits for the batches in flight) so that nothing it does overlaps a timed
 * measurement, and resumed while the benchmark only waits.
 */
export class Seeder {
  private next = 0;
  private running = 0;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private activeMs = 0;
  private activeSince: number | undefined;
  readonly done: Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly batches: { table: string; items: Item[] }[],
    concurrency = 32,
  ) {
    this.activeSince = performance.now();
    this.done = Promise.all(Array.from({ length: concurrency }, () => this.worker())).then(() => {
      this.stopClock();
    });
    // Awaited later; meanwhile a failure must not end the process as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  get total(): number {
    return this.batches.length * 25;
  }

  get written(): number {
    return Math.min(this.next, this.batches.length) * 25;
  }

  /** Time spent seeding, not counting pauses. */
  get seedingMs(): number {
    return this.activeMs + (this.activeSince === undefined ? 0 : performance.now() - this.activeSince);
  }

  private stopClock(): void {
    if (this.activeSince !== undefined) this.activeMs += performance.now() - this.activeSince;
    this.activeSince = undefined;
  }

  private async worker(): Promise<void> {
    for (;;) {
      while (this.paused) await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
      const batch = this.batches[this.next++];
      if (!batch) return;
      this.running += 1;
      try {
        let requests: { PutRequest: { Item: Item } }[] | undefined = batch.items.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; requests?.length; attempt++) {
          if (attempt > 10) throw new Error('BatchWriteItem kept leaving items unprocessed');
          const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [batch.table]: requests } }));
          requests = out.UnprocessedItems?.[batch.table] as typeof requests;
        }
      } finally {
        this.running -= 1;
        if (this.running === 0) for (const idle of this.idleWaiters.splice(0)) idle();
      }
    }
  }

  /** Resolves once no batch is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    this.stopClock();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.activeSince = performance.now();
    for (const go of this.resumeWaiters.splice(0)) go();
  }
}

/** The stand-in IAM for the summary: both groups hold exactly their policy and have no members. */
function quietIam(): IamGateway {
  return {
    dryRun: false,
    getUser: async () => undefined,
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The last scheduled firing (Monday 09:00 UTC) before `now`: the week the summary would cover. */
function lastWeek(now: Date): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9));
  while (to.getUTCDay() !== 1 || to.getTime() > now.getTime()) to.setTime(to.getTime() - DAY_MS);
  return { from: new Date(to.getTime() - 7 * DAY_MS).toISOString(), to: to.toISOString() };
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

/** Seeds both tables (week alone; week plus history). Returns the seeding figures. */
/** Creates both tables (week alone; week plus history) and starts seeding them in the background. */
export async function startSeeding(
  options: PeriodOptions,
  tables: { weekOnly: string; withHistory: string },
): Promise<{ seeder: Seeder; items: number; week: { from: string; to: string } }> {
  const { client } = options;
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await ensureTable(client, tables.weekOnly);
  await ensureTable(client, tables.withHistory);
  const week = lastWeek(new Date());
  const fromMs = Date.parse(week.from);
  const random = rng(20240601);
  const newId = monotonicFactory();
  const weekItems: Item[] = [];
  for (let i = 0; i < options.weekItems; i++) {
    const createdMs = fromMs + Math.floor(((i + random()) / options.weekItems) * 7 * DAY_MS);
    weekItems.push(requestItem(random, newId, createdMs, pick(random, WEEK_STATUSES), i));
  }
  const historyStart = fromMs - options.historyDays * DAY_MS;
  const historyItems: Item[] = [];
  for (let i = 0; i < options.historyItems; i++) {
    const createdMs = historyStart + Math.floor(((i + random()) / options.historyItems) * options.historyDays * DAY_MS);
    historyItems.push(requestItem(random, newId, Math.min(createdMs, fromMs - 1), pick(random, HISTORY_STATUSES), i));
  }
  const batches: { table: string; items: Item[] }[] = [];
  const add = (table: string, items: Item[]) => {
    for (let i = 0; i < items.length; i += 25) batches.push({ table, items: items.slice(i, i + 25) });
  };
  add(tables.weekOnly, weekItems);
  add(tables.withHistory, [...historyItems, ...weekItems]);
  return { seeder: new Seeder(doc, batches), items: weekItems.length * 2 + historyItems.length, week };
}

/** Times both reads on both tables, interleaved, `runs` times each after two warm-ups. */
export async function timePeriodReads(
  options: PeriodOptions,
  tables: { weekOnly: string; withHistory: string },
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
  const common = { config, iam: quietIam(), admins, identity, poster, clock, log: silent };
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
