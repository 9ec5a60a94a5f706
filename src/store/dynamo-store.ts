import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { sameIamUser } from '../domain/iam-user.js';
import { type AccessRequest, type AuditEvent, assertTransition, type RequestStatus } from '../domain/request.js';
import { ConflictError } from '../errors.js';
import type { AuditInput, IdentityLink, PeriodClaim, RequestStore, SummaryStore } from '../services/ports.js';
import {
  auditKey,
  auditNoteKey,
  breakGlassLockKey,
  INDEX,
  installKey,
  linkedIamKey,
  linkKey,
  looseAuditKey,
  monthOf,
  pendingLockKey,
  periodKey,
  requestKey,
} from './keys.js';

/** Capacity units DynamoDB reported for this store's calls (table and indexes, as returned). */
export interface CapacityTotals {
  read: number;
  write: number;
}

/** How long a lock without its request is respected before it is taken over. */
const ORPHANED_LOCK_MS = 60_000;

/**
 * One request at a time in a slot, guarded by a lock item taken with a conditional write:
 * one pending request per IAM user and level, and one live break-glass grant per IAM user
 * (two break-glass commands at once must not both grant).
 */
interface RequestLock {
  key: Record<string, string>;
  /** Whether this request still occupies the slot. */
  holds(request: AccessRequest): boolean;
  what: string;
}

function lockOf(request: AccessRequest): RequestLock {
  if (request.breakGlass) {
    return {
      key: breakGlassLockKey(request.iamUserName),
      holds: (r) => r.status === 'APPROVED' || r.status === 'ACTIVE',
      what: 'A live break-glass grant for this IAM user',
    };
  }
  return { key: pendingLockKey(request.iamUserName, request.level), holds: (r) => r.status === 'PENDING', what: 'A pending request for this level' };
}

type StoredRequest = AccessRequest & { pk: string; sk: string; entity: 'request'; createdMonth: string };

const REQUEST_FIELDS_NOT_STORED = new Set(['pk', 'sk', 'entity', 'createdMonth']);

function toRequest(item: Record<string, unknown>): AccessRequest {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!REQUEST_FIELDS_NOT_STORED.has(k)) out[k] = v;
  return out as unknown as AccessRequest;
}

function toAudit(item: Record<string, unknown>): AuditEvent {
  const { requestId, at, actor, from, to, detail } = item as unknown as AuditEvent;
  return { requestId, at, actor, from: from ?? null, to, detail };
}

/**
 * The DynamoDB repository: one table, single-item conditional writes only (so it runs the
 * same on DynamoDB, moto and dynalite, which has no transactions).
 */
export class DynamoRequestStore implements RequestStore, SummaryStore {
  readonly capacity: CapacityTotals = { read: 0, write: 0 };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Adds what DynamoDB reported; `TOTAL` answers carry only CapacityUnits, so the call's kind says which. */
  private count(kind: 'read' | 'write', consumed: ConsumedCapacity | undefined): void {
    if (consumed) this.capacity[kind] += consumed.CapacityUnits ?? 0;
  }

  async create(request: AccessRequest, audit: AuditInput): Promise<void> {
    const lock = lockOf(request);
    const locked = lock.holds(request);
    if (locked) await this.takeLock(lock, request);
    const item: StoredRequest = {
      ...request,
      ...requestKey(request.id),
      entity: 'request',
      createdMonth: monthOf(request.createdAt),
    };
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.count('write', out.ConsumedCapacity);
    } catch (err) {
      if (locked) await this.releaseLock(lock.key, request.id);
      throw err;
    }
    await this.putAudit(request, null, request.status, request.createdAt, audit);
  }

  /** Claims a one-at-a-time slot; a stale claim (its request gone, or no longer holding the slot) is taken over. */
  private async takeLock(lock: RequestLock, request: AccessRequest): Promise<void> {
    const { key } = lock;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, requestId: request.id, lockedAtMs: Date.now() },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        this.count('write', out.ConsumedCapacity);
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      const held = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      const holderId = held.Item?.requestId as string | undefined;
      if (!holderId) continue;
      const holder = await this.get(holderId);
      if (holder && lock.holds(holder)) {
        throw new ConflictError(`${lock.what} already exists (${holderId}).`, holder);
      }
      // A holder not written yet is still being created by someone else, unless the lock is
      // old enough that its writer must have died between the two writes.
      const lockedAtMs = Number(held.Item?.lockedAtMs ?? 0);
      if (!holder && Date.now() - lockedAtMs < ORPHANED_LOCK_MS) {
        throw new ConflictError(`${lock.what} is being created right now.`, undefined);
      }
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: key,
            ConditionExpression: 'requestId = :held',
            ExpressionAttributeValues: { ':held': holderId },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    throw new ConflictError('Could not reserve the slot for this request; try again.', undefined);
  }

  private async releaseLock(key: Record<string, string>, requestId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'requestId = :id',
          ExpressionAttributeValues: { ':id': requestId },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: requestKey(id), ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));
    this.count('read', out.ConsumedCapacity);
    return out.Item ? toRequest(out.Item) : undefined;
  }

  async update(expected: AccessRequest, changes: Partial<AccessRequest>, audit: AuditInput): Promise<AccessRequest> {
    if (changes.status) assertTransition(expected.status, changes.status);
    const now = changes.updatedAt ?? new Date().toISOString();
    const next: AccessRequest = { ...expected, ...changes, version: expected.version + 1, updatedAt: now };
    // A request coming back into a slot (a Retry of a failed break-glass) takes the slot again first.
    const lock = lockOf(expected);
    const entering = !lock.holds(expected) && lock.holds(next);
    if (entering) await this.takeLock(lock, next);
    const names: Record<string, string> = { '#version': 'version', '#status': 'status' };
    const values: Record<string, unknown> = { ':expected': expected.version, ':expectedStatus': expected.status };
    const sets: string[] = [];
    const removes: string[] = [];
    let i = 0;
    for (const [field, value] of Object.entries({ ...changes, version: next.version, updatedAt: now })) {
      if (field === 'id') continue;
      names[`#f${i}`] = field;
      if (value === undefined) {
        removes.push(`#f${i}`);
        delete (next as unknown as Record<string, unknown>)[field];
      } else {
        values[`:v${i}`] = value;
        sets.push(`#f${i} = :v${i}`);
      }
      i++;
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: requestKey(expected.id),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#version = :expected AND #status = :expectedStatus',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.count('write', out.ConsumedCapacity);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        // dynalite returns no Item with ALL_OLD, and the returned item is in wire format anyway:
        // a consistent read gives every backend the same, current view of the winner's state.
        const current = await this.get(expected.id);
        throw new ConflictError(`Request ${expected.id} changed meanwhile.`, current, { cause: err });
      }
      if (entering) await this.releaseLock(lock.key, expected.id).catch(() => undefined);
      throw err;
    }
    if (next.status !== expected.status || audit.detail) {
      await this.putAudit(next, expected.status, next.status, now, audit);
    }
    // After the audit event: a lock left behind is taken over once its request no longer holds it.
    if (lock.holds(expected) && !lock.holds(next)) await this.releaseLock(lock.key, expected.id).catch(() => undefined);
    return next;
  }

  async appendNote(request: AccessRequest, note: AuditInput & { at: string }): Promise<void> {
    const out = await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...auditNoteKey(request.id, request.version, ulid(Date.parse(note.at))),
          entity: 'audit',
          requestId: request.id,
          at: note.at,
          actor: note.actor,
          from: request.status,
          to: request.status,
          detail: note.detail,
          auditMonth: monthOf(note.at),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.count('write', out.ConsumedCapacity);
  }

  private async putAudit(request: AccessRequest, from: RequestStatus | null, to: RequestStatus, at: string, audit: AuditInput): Promise<void> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...auditKey(request.id, request.version),
            entity: 'audit',
            requestId: request.id,
            at,
            actor: audit.actor,
            from,
            to,
            detail: audit.detail,
            auditMonth: monthOf(at),
          },
          // Never rewritten: a repeated write of the same event is a no-op.
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.count('write', out.ConsumedCapacity);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>, limit?: number): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey, ReturnConsumedCapacity: 'TOTAL' }));
      this.count('read', out.ConsumedCapacity);
      items.push(...(out.Items ?? []));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey && (limit === undefined || items.length < limit));
    return limit === undefined ? items : items.slice(0, limit);
  }

  async clearNoticeDue(id: string, version: number): Promise<void> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: requestKey(id),
          UpdateExpression: 'REMOVE noticeDue',
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': version },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.count('write', out.ConsumedCapacity);
    } catch (err) {
      // A newer transition owns the flag now; its own delivery clears it.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async listNoticeDue(before: string, limit = 100): Promise<AccessRequest[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.byNoticeDue,
        KeyConditionExpression: 'noticeDue = :due AND updatedAt <= :t',
        ExpressionAttributeValues: { ':due': 'DUE', ':t': before },
      },
      limit,
    );
    return items.map(toRequest);
  }

  async listByRequester(requesterId: string, limit = 50): Promise<AccessRequest[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.byRequester,
        KeyConditionExpression: 'requesterId = :r',
        ExpressionAttributeValues: { ':r': requesterId },
        ScanIndexForward: false,
        Limit: limit,
      },
      limit,
    );
    return items.map(toRequest);
  }

  async listByIamUser(iamUserName: string): Promise<AccessRequest[]> {
    const items = await this.queryAll({
      IndexName: INDEX.byIamUser,
      KeyConditionExpression: 'iamUserName = :u',
      ExpressionAttributeValues: { ':u': iamUserName },
    });
    return items.map(toRequest);
  }

  async listByStatus(status: RequestStatus, options: { createdBefore?: string; limit?: number } = {}): Promise<AccessRequest[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.byStatusCreated,
        KeyConditionExpression: options.createdBefore ? '#s = :s AND createdAt <= :t' : '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: options.createdBefore ? { ':s': status, ':t': options.createdBefore } : { ':s': status },
      },
      options.limit,
    );
    return items.map(toRequest);
  }

  async listExpiring(status: RequestStatus, before: string, limit?: number): Promise<AccessRequest[]> {
    const items = await this.queryAll(
      {
        IndexName: INDEX.byStatusExpiry,
        KeyConditionExpression: '#s = :s AND expiresAt <= :t',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': status, ':t': before },
      },
      limit,
    );
    return items.map(toRequest);
  }

  async listCreatedBetween(from: string, to: string): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    for (const month of monthsBetween(from, to)) {
      const items = await this.queryAll({
        IndexName: INDEX.byCreatedMonth,
        KeyConditionExpression: 'createdMonth = :m AND createdAt BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':m': month, ':from': from, ':to': to },
      });
      out.push(...items.map(toRequest).filter((r) => r.createdAt < to));
    }
    return out;
  }

  async auditEvents(requestId: string): Promise<AuditEvent[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :audit)',
      ExpressionAttributeValues: { ':pk': requestKey(requestId).pk, ':audit': 'AUDIT#' },
      ConsistentRead: true,
    });
    return items.map(toAudit);
  }

  async *auditEventsSince(since: string, until: string = new Date().toISOString()): AsyncIterable<AuditEvent[]> {
    const end = until;
    for (const month of monthsBetween(since, end)) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: INDEX.byAuditMonth,
            KeyConditionExpression: 'auditMonth = :m AND #at BETWEEN :since AND :until',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':m': month, ':since': since, ':until': end },
            ExclusiveStartKey,
          }),
        );
        const events = (out.Items ?? []).map(toAudit).filter((e) => e.at < end);
        if (events.length) yield events;
        ExclusiveStartKey = out.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
  }

  async firstStartedAt(now: string): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: { ...installKey(), firstStartedAt: now }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return now;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: installKey(), ConsistentRead: true }));
    return String(out.Item?.firstStartedAt ?? now);
  }

  async getPeriod(firingAt: string): Promise<PeriodClaim | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: periodKey(firingAt), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { claimedBy, claimedAt, posted, postedAt } = out.Item as PeriodClaim;
    return { firingAt, claimedBy, claimedAt, posted: Boolean(posted), ...(postedAt ? { postedAt } : {}) };
  }

  async claimPeriod(firingAt: string, claimant: string, now: string, staleBefore: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...periodKey(firingAt), firingAt, claimedBy: claimant, claimedAt: now, posted: false },
          // Unclaimed, or claimed by a replica that never posted (it crashed) long enough ago.
          ConditionExpression: 'attribute_not_exists(pk) OR (posted = :no AND claimedAt < :stale)',
          ExpressionAttributeValues: { ':no': false, ':stale': staleBefore },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: periodKey(firingAt),
        UpdateExpression: 'SET posted = :yes, postedAt = :now',
        ConditionExpression: 'claimedBy = :me',
        ExpressionAttributeValues: { ':yes': true, ':now': now, ':me': claimant },
      }),
    );
  }

  async recordReview(request: AccessRequest, by: string, at: string): Promise<AccessRequest> {
    return this.update(request, { reviewedBy: by, reviewedAt: at, updatedAt: at }, { actor: by, detail: 'kept after access review' });
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...looseAuditKey(event.requestId, event.at, ulid(Date.parse(event.at))), entity: 'audit', ...event, auditMonth: monthOf(event.at) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getLink(userId: string): Promise<IdentityLink | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkKey(userId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { iamUserName, linkedBy, linkedAt } = out.Item as IdentityLink;
    return { userId, iamUserName, linkedBy, linkedAt };
  }

  async linkHolder(iamUserName: string): Promise<IdentityLink | undefined> {
    const claim = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkedIamKey(iamUserName), ConsistentRead: true }));
    const holderId = claim.Item?.userId as string | undefined;
    if (!holderId) return undefined;
    // The claim is written before the link and removed after a re-link: it counts only while the link agrees.
    const link = await this.getLink(holderId);
    return link && sameIamUser(link.iamUserName, iamUserName) ? link : undefined;
  }

  /**
   * One IAM user, one Slack user: the IAM user is claimed first (a conditional write that also
   * takes over a claim its holder's link no longer backs), then the link is written, then the
   * user's previous claim is released.
   */
  async putLink(link: IdentityLink): Promise<void> {
    const previous = await this.getLink(link.userId);
    await this.claimIamUser(link);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...linkKey(link.userId), entity: 'link', ...link } }));
    if (previous && !sameIamUser(previous.iamUserName, link.iamUserName)) {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: linkedIamKey(previous.iamUserName),
            ConditionExpression: 'userId = :me',
            ExpressionAttributeValues: { ':me': link.userId },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
  }

  private async claimIamUser(link: IdentityLink): Promise<void> {
    const key = linkedIamKey(link.iamUserName);
    for (let attempt = 0; attempt < 3; attempt++) {
      const holder = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      const holderId = holder.Item?.userId as string | undefined;
      if (holderId && holderId !== link.userId) {
        const holderLink = await this.getLink(holderId);
        if (holderLink && sameIamUser(holderLink.iamUserName, link.iamUserName)) {
          throw new ConflictError(`IAM user ${link.iamUserName} is already linked to another Slack user.`, holderLink);
        }
        // A claim its holder's link does not back yet may be a link being written right now: taken over only once old.
        if (Date.now() - Number(holder.Item?.claimedAtMs ?? 0) < ORPHANED_LOCK_MS) {
          throw new ConflictError(`IAM user ${link.iamUserName} is being linked by someone else right now; try again in a minute.`, undefined);
        }
      }
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, entity: 'link-claim', userId: link.userId, iamUserName: link.iamUserName, claimedAtMs: Date.now() },
            ConditionExpression: holderId ? 'userId = :seen' : 'attribute_not_exists(pk)',
            ...(holderId ? { ExpressionAttributeValues: { ':seen': holderId } } : {}),
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    throw new ConflictError(`IAM user ${link.iamUserName} is being linked by someone else right now; try again.`, undefined);
  }
}

/** What `backfillLinkClaims` found: links now claimed, and IAM users two Slack users were linked to before links were one-to-one. */
export interface LinkBackfill {
  claimed: number;
  duplicates: { iamUserName: string; userIds: string[]; kept: string }[];
}

/**
 * Links written before links were one-to-one have no claim on their IAM user: `npm run setup`
 * claims them, once, and names the IAM users two Slack users are linked to (an admin re-links
 * one of them). A one-off scan of the link items: a migration, never a request path.
 */
export async function backfillLinkClaims(store: DynamoRequestStore, doc: DynamoDBDocumentClient, tableName: string): Promise<LinkBackfill> {
  const links: IdentityLink[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'entity = :link',
        ExpressionAttributeValues: { ':link': 'link' },
        ExclusiveStartKey,
      }),
    );
    for (const item of out.Items ?? []) {
      const { userId, iamUserName, linkedBy, linkedAt } = item as IdentityLink;
      links.push({ userId, iamUserName, linkedBy, linkedAt });
    }
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const byUser = new Map<string, IdentityLink[]>();
  for (const link of links) {
    const key = link.iamUserName.toLowerCase();
    byUser.set(key, [...(byUser.get(key) ?? []), link]);
  }
  const result: LinkBackfill = { claimed: 0, duplicates: [] };
  for (const group of byUser.values()) {
    // With duplicates the earliest link keeps the IAM user; the others are refused until an admin re-links them.
    const [first] = [...group].sort((a, b) => (a.linkedAt < b.linkedAt ? -1 : 1));
    if (!first) continue;
    if (group.length > 1) result.duplicates.push({ iamUserName: first.iamUserName, userIds: group.map((l) => l.userId), kept: first.userId });
    const holder = await store.linkHolder(first.iamUserName);
    if (holder) continue;
    await store.putLink(first);
    result.claimed += 1;
  }
  return result;
}

/** The month buckets ("YYYY-MM") that [from, to] touches, in order. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  const cursor = new Date(`${monthOf(from)}-01T00:00:00.000Z`);
  const last = monthOf(to);
  while (monthOf(cursor.toISOString()) <= last) {
    months.push(monthOf(cursor.toISOString()));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}
