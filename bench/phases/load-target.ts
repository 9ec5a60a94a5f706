/**
 * What the sustained and saturation phases share on the bot they load (a "target": the bot as
 * shipped, or the bot with its work queue set otherwise): the (employee, level) requests still unused,
 * the pending requests made for clicks to approve, the bodies, waiting for the post-ack work to
 * finish, and the checks of what became of every accepted command and click, in the table.
 */
import { GetGroupCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { type AccessRequest, isFinalStatus } from '../../src/domain/request.js';
import type { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { approveText, requestText, sign } from '../bodies.js';
import { ADMINS, type Employee, LEVELS } from '../fixtures.js';
import { quantiles, runLoad, settle, waitFor } from '../measure.js';
import { isOk } from '../mixed.js';
import type { RequestRecord } from '../mixed-spec.js';
import { fmt } from '../report.js';
import { isDuplicateReply, requestIdInReply } from '../slack-tracker.js';
import type { BotUnderTest } from './bot.js';
import type { PhaseContext } from './context.js';

export interface Pair {
  person: Employee;
  level: string;
}

/** A pending request made for a click, and the admin message it was posted as. */
export interface Pending {
  id: string;
  pair: Pair;
  ts: string | undefined;
}

/** The (employee, level) requests of `people`, handed out once each, in order. */
export class PairSource {
  private next = 0;
  private readonly pairs: Pair[];

  constructor(people: Employee[]) {
    this.pairs = people.flatMap((person) => LEVELS.map((l) => ({ person, level: l.level as string })));
  }

  take(n: number): Pair[] {
    if (this.next + n > this.pairs.length)
      throw new Error(`the load phases need more employees: ${this.next + n} requests asked, ${this.pairs.length} prepared`);
    const out = this.pairs.slice(this.next, this.next + n);
    this.next += n;
    return out;
  }
}

export interface LoadTarget {
  /** `shipped`: the bot as shipped; `variant`: its work queue set otherwise (bench/bot-variant.ts). */
  name: 'shipped' | 'variant';
  bot: BotUnderTest;
  /** The bot's table, read directly (not through the counting proxy). */
  store: DynamoRequestStore;
  pairs: PairSource;
  /** Pending requests no click has been sent for yet, oldest first. */
  pool: Pending[];
  /** Clicks built so far (the admins take turns). */
  clicksBuilt: number;
}

export function newTarget(ctx: PhaseContext, name: LoadTarget['name'], bot: BotUnderTest, store: DynamoRequestStore): LoadTarget {
  return { name, bot, store, pairs: new PairSource(ctx.people.load), pool: [], clicksBuilt: 0 };
}

/** The response_url key of a command: `<target>-<what>:<user>:<level>` (`what` may hold PASS_MARK). */
export const commandKey = (target: LoadTarget, what: string, pair: Pair) => `${target.name}-${what}:${pair.person.userId}:${pair.level}`;

export function commandBody(ctx: PhaseContext, key: string, pair: Pair): string {
  return requestText(pair.person, pair.level, ctx.rig.slack, key, 'load test of the billing review');
}

/** An admin's Approve click on `pending` (the admins take turns); its response_url key is `<target>-<what>:<request id>`. */
export function clickBody(ctx: PhaseContext, target: { name: string; clicksBuilt: number }, pending: Pending, what: string): string {
  const admin = ADMINS[target.clicksBuilt++ % ADMINS.length] as string;
  return approveText(admin, pending.id, ctx.rig.slack, `${target.name}-${what}:${pending.id}`, pending.ts);
}

/** Makes sure the pool holds at least `n` pending requests, making the ones it lacks (one burst of real commands, not measured). */
export async function ensurePending(ctx: PhaseContext, target: LoadTarget, n: number, label: string): Promise<void> {
  const missing = n - target.pool.length;
  if (missing > 0) await makePending(ctx, target, missing, label);
  if (target.pool.length < n) throw new Error(`${label}: ${n} pending requests needed, ${target.pool.length} made`);
}

/** Makes `n` pending requests through the bot (one burst of real commands), waits until each is answered, and adds them to the pool. */
async function makePending(ctx: PhaseContext, target: LoadTarget, n: number, label: string): Promise<void> {
  const { tracker } = ctx;
  const pairs = target.pairs.take(n);
  const keys = pairs.map((p) => commandKey(target, `${label}-pre`, p));
  const bodies = pairs.map((p, i) => sign(commandBody(ctx, keys[i] as string, p)));
  const started = performance.now();
  await runLoad(ctx, `${target.bot.name}: ${n} requests for the ${label} clicks`, {
    url: target.bot.url,
    connections: ctx.settings.connections,
    durationSec: 60,
    amount: n,
    bodies,
  });
  await waitFor(() => keys.every((k) => tracker.replies.has(k)), ctx.settings.loadDrainSeconds);
  await settle(ctx.rig);
  pushConfirmed(ctx, target, keys, pairs);
  ctx.log(`  ${target.bot.name}: ${target.pool.length} pending requests ready for clicks after ${fmt((performance.now() - started) / 1000, 1)} s`);
}

/** Adds the requests the replies at `keys` confirm (one per pair) to the pool of pending requests. */
export function pushConfirmed(ctx: PhaseContext, target: LoadTarget, keys: string[], pairs: Pair[]): number {
  const ts = ctx.tracker.messageTs();
  let added = 0;
  for (const [i, key] of keys.entries()) {
    const id = requestIdInReply(ctx.tracker.replies.get(key) ?? '');
    if (!id) continue;
    target.pool.push({ id, pair: pairs[i] as Pair, ts: ts.get(id) });
    added += 1;
  }
  return added;
}

/** How the clicks sent from now on have ended, from what the bot told Slack. */
export interface ClickOutcome {
  granted: number;
  failed: number;
  busy: number;
  alreadyDecided: number;
  /** Every ephemeral refusal (busy and already decided included). */
  refused: number;
  /** Busy refusals naming this request. */
  busyOn(requestId: string): number;
}

export function clickOutcomeSinceNow(ctx: PhaseContext): () => ClickOutcome {
  const { tracker } = ctx;
  const at = {
    active: tracker.active.size,
    failed: tracker.failed.size,
    ephemerals: tracker.ephemerals,
    busy: tracker.busyEphemerals,
    decided: tracker.decidedEphemerals,
    busyClicks: new Map(tracker.busyClicks),
  };
  return () => ({
    granted: tracker.active.size - at.active,
    failed: tracker.failed.size - at.failed,
    busy: tracker.busyEphemerals - at.busy,
    alreadyDecided: tracker.decidedEphemerals - at.decided,
    refused: tracker.ephemerals - at.ephemerals,
    busyOn: (id) => (tracker.busyClicks.get(id) ?? 0) - (at.busyClicks.get(id) ?? 0),
  });
}

/** One command sent: its response_url key, whose request it is, and whether it was acked (2xx). */
export interface CommandSend {
  key: string;
  pair: Pair;
  acked: boolean;
  /** The ack itself refused it as busy: nothing was taken, no reply follows. */
  busyAck: boolean;
  sentAt: number;
}

/**
 * Waits until the post-ack work of a load is done: every acked command answered at its
 * response_url, and as many click outcomes (grant, failure, refusal) as acked clicks. Returns
 * the ms from `loadEndedAt` (ms since the epoch) to that moment, or NaN if it did not come
 * within the run's drain time.
 */
export async function waitDrained(
  ctx: PhaseContext,
  commands: CommandSend[],
  ackedClicks: number,
  outcome: () => ClickOutcome,
  loadEndedAt: number,
): Promise<number> {
  const { tracker } = ctx;
  const pending = commands.filter((c) => c.acked && !c.busyAck).map((c) => c.key);
  let done = 0;
  const drained = await waitFor(() => {
    while (done < pending.length && tracker.replies.has(pending[done] as string)) done += 1;
    if (done < pending.length) return false;
    const o = outcome();
    return o.granted + o.failed + o.refused >= ackedClicks;
  }, ctx.settings.loadDrainSeconds);
  return drained ? Math.max(0, Date.now() - loadEndedAt) : Number.NaN;
}

/** What became of the commands of a load, each checked at its reply and in the table. */
export interface CommandCheck {
  acked: number;
  /** Refused at once as busy (BUSY_MESSAGE in the ack). */
  busy: number;
  /** Not refused as busy: acked and unanswered, or answered otherwise. */
  accepted: number;
  /** Accepted and confirmed, the request in the table PENDING and posted to the admins (or further on). */
  stored: number;
  /** Accepted and refused because the same request was already pending (a command sent again on a later pass), that request in the table as above. */
  duplicates: number;
  /** Accepted and not found so: no answer, an answer of another kind, or not in the table as confirmed. */
  lost: number;
  /** Of those lost: acked and never answered. */
  unanswered: number;
  lost_samples: string[];
}

/** A request made by a command is where it should be: PENDING and posted to the admins, or ACTIVE (clicked since), or in a final state. */
const pendingAndPosted = (r: AccessRequest | undefined) =>
  r !== undefined && ((r.status === 'PENDING' && r.adminMessage !== undefined) || r.status === 'ACTIVE' || isFinalStatus(r.status));

/** Checks every command sent, request by request: its reply, and the request the reply names (or the pair's pending one) in the table. */
export async function checkCommands(target: LoadTarget, ctx: PhaseContext, sends: CommandSend[]): Promise<CommandCheck> {
  const { tracker } = ctx;
  const out: CommandCheck = { acked: 0, busy: 0, accepted: 0, stored: 0, duplicates: 0, lost: 0, unanswered: 0, lost_samples: [] };
  const byPair = new Map<string, Promise<boolean>>();
  const pairStored = (pair: Pair) => {
    const k = `${pair.person.userId}:${pair.level}`;
    if (!byPair.has(k))
      byPair.set(
        k,
        target.store.listByRequester(pair.person.userId).then((rs) => rs.some((r) => r.level === pair.level && pendingAndPosted(r))),
      );
    return byPair.get(k) as Promise<boolean>;
  };
  const lose = (why: string) => {
    out.lost += 1;
    if (out.lost_samples.length < 5) out.lost_samples.push(why);
  };
  await inBatches(sends, 16, async (send) => {
    if (send.acked) out.acked += 1;
    const reply = tracker.replies.get(send.key);
    if (send.busyAck) {
      out.busy += 1;
      if (reply !== undefined) lose(`${send.key}: refused as busy in the ack, then answered ${reply.slice(0, 120)}`);
      return;
    }
    if (reply === undefined) {
      if (!send.acked) return; // never reached the bot (or cut off before it answered): not accepted
      out.accepted += 1;
      out.unanswered += 1;
      lose(`${send.key}: acked, never answered`);
      return;
    }
    out.accepted += 1;
    const id = requestIdInReply(reply);
    if (id) {
      const stored = await target.store.get(id);
      if (pendingAndPosted(stored)) out.stored += 1;
      else lose(`${send.key}: confirmed ${id}, in the table ${stored ? `${stored.status}${stored.adminMessage ? '' : ' not posted'}` : 'nowhere'}`);
    } else if (isDuplicateReply(reply)) {
      if (await pairStored(send.pair)) out.duplicates += 1;
      else lose(`${send.key}: refused as a duplicate, no such request pending in the table`);
    } else lose(`${send.key}: answered ${reply.slice(0, 120)}`);
  });
  return out;
}

/** What became of the clicks of a load, checked against the outcomes the bot told Slack and, request by request, the table. */
export interface ClickCheck {
  acked: number;
  busy: number;
  accepted: number;
  /** Requests clicked (once or more) that are ACTIVE in the table. */
  active: number;
  /** Clicks answered "already decided" (a request clicked again after its grant). */
  already_decided: number;
  failed: number;
  /** Clicked requests with a click taken (not every click on it refused as busy) that are not ACTIVE in the table. */
  stuck: number;
  /** Clicked requests every click on which was refused as busy (they stay PENDING, as they should). */
  all_refused: number;
  /** The stuck requests: a click was taken and the request never became ACTIVE. */
  lost: number;
  lost_samples: string[];
}

export async function checkClicks(
  target: LoadTarget,
  records: RequestRecord[],
  pendingOf: (bodyIndex: number) => Pending,
  outcome: ClickOutcome,
): Promise<ClickCheck> {
  // Request by request: a busy refusal names the request it refused a click on.
  const ackedOn = new Map<string, number>();
  for (const r of records.filter(isOk)) {
    const id = pendingOf(r[1]).id;
    ackedOn.set(id, (ackedOn.get(id) ?? 0) + 1);
  }
  let active = 0;
  let stuck = 0;
  let allRefused = 0;
  const lostSamples: string[] = [];
  await inBatches([...ackedOn.keys()], 16, async (id) => {
    const stored = await target.store.get(id);
    const taken = (ackedOn.get(id) ?? 0) - outcome.busyOn(id);
    if (stored?.status === 'ACTIVE') active += 1;
    else if (taken <= 0) allRefused += 1;
    else {
      stuck += 1;
      if (lostSamples.length < 5) lostSamples.push(`${id}: ${taken} click(s) taken, ${stored ? stored.status : 'not in the table'}`);
    }
  });
  const acked = records.filter(isOk).length;
  return {
    acked,
    busy: outcome.busy,
    accepted: acked - outcome.busy,
    active,
    already_decided: outcome.alreadyDecided,
    failed: outcome.failed,
    stuck,
    all_refused: allRefused,
    lost: stuck,
    lost_samples: lostSamples,
  };
}

/** The first few lost commands and clicks, for the phase's log line ('' when none). */
export function lostSamples(commands: CommandCheck, clicks: ClickCheck): string {
  const samples = [...commands.lost_samples, ...clicks.lost_samples].slice(0, 5);
  return samples.length ? ` (${samples.join('; ')})` : '';
}

/** Time from the first acked click on each request to its requester told the grant is active (ms), for the requests whose grant was seen. */
export function clickToGrant(ctx: PhaseContext, records: RequestRecord[], pendingOf: (bodyIndex: number) => Pending) {
  const firstClick = new Map<string, number>();
  for (const r of records) {
    const id = pendingOf(r[1]).id;
    if (isOk(r) && (firstClick.get(id) ?? Number.POSITIVE_INFINITY) > r[2]) firstClick.set(id, r[2]);
  }
  const times: number[] = [];
  for (const [id, sentAt] of firstClick) {
    const at = ctx.tracker.active.get(id);
    if (at !== undefined && at >= sentAt) times.push(at - sentAt);
  }
  const q = quantiles(times);
  return { p50_ms: q.p50, p90_ms: q.p90, max_ms: q.max, granted: q.n };
}

/** Time from each acked command to its reply being seen (ms; the tracker looks every 20 ms). */
export function commandToReply(ctx: PhaseContext, sends: CommandSend[]) {
  const times: number[] = [];
  for (const s of sends) {
    const at = ctx.tracker.replySeenAt.get(s.key);
    if (s.acked && at !== undefined) times.push(at - s.sentAt);
  }
  const q = quantiles(times);
  return { p50_ms: q.p50, p90_ms: q.p90, max_ms: q.max, answered: q.n };
}

async function inBatches<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await each(items[next++] as T);
    }),
  );
}

/** Takes the load employees out of the billing groups (between the bots they load, so the second starts as the first did). */
export async function removeLoadMembers(ctx: PhaseContext): Promise<number> {
  const load = new Set(ctx.people.load.map((p) => p.iamUserName));
  const removals: { user: string; group: string }[] = [];
  for (const l of LEVELS) {
    let marker: string | undefined;
    do {
      const out = await ctx.observers.iam.send(new GetGroupCommand({ GroupName: l.group, ...(marker ? { Marker: marker } : {}) }));
      for (const u of out.Users ?? []) if (u.UserName && load.has(u.UserName)) removals.push({ user: u.UserName, group: l.group });
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  }
  await inBatches(removals, 8, async ({ user, group }) => {
    await ctx.observers.iam.send(new RemoveUserFromGroupCommand({ UserName: user, GroupName: group }));
  });
  return removals.length;
}
