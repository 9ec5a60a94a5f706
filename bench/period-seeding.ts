/**
 * The period tables' data: one week of requests (1,000) alone in one table, and the same week
 * beside 100,000 older, finished requests in another, shaped as DynamoRequestStore writes them
 * (keys, entity, createdMonth) from a fixed random seed. A Seeder writes them with BatchWriteItem
 * in the background, paused whenever something is timed.
 */
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { type AccessRequest, addDays, DAY_MS, type RequestStatus } from '../src/domain/request.js';
import { monthOf, requestKey } from '../src/store/keys.js';
import { ensureTable } from '../src/store/table.js';
import { ADMIN_CHANNEL, ADMINS, LEVELS } from './fixtures.js';
import type { PeriodOptions, PeriodTables } from './period.js';

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

/** The last scheduled firing (Monday 09:00 UTC) before `now`: the week the summary would cover. */
function lastWeek(now: Date): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9));
  while (to.getUTCDay() !== 1 || to.getTime() > now.getTime()) to.setTime(to.getTime() - DAY_MS);
  return { from: new Date(to.getTime() - 7 * DAY_MS).toISOString(), to: to.toISOString() };
}

/** A seeding under way: its Seeder, how many items it writes in all, and the week they are about. */
export interface StartedSeeding {
  seeder: Seeder;
  items: number;
  week: { from: string; to: string };
}

/** Creates both tables (week alone; week plus history) and starts seeding them in the background. */
export async function startSeeding(options: PeriodOptions, tables: PeriodTables): Promise<StartedSeeding> {
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
