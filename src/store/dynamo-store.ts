import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type PutCommandOutput, QueryCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AccessRequest, type AuditEvent, assertTransition, IllegalTransitionError, isFinalStatus, type RequestStatus } from '../domain/request.js';
import { applyChange, type RequestChange } from '../domain/transitions.js';
import { RequestConflictError } from '../errors.js';
import { newUlid } from '../ids.js';
import type { AuditInput, IdentityLink, PeriodClaim, RequestStore, SummaryStore } from '../services/ports.js';
import { type AuditLog, AuditRecords, owedEvent, toAudit, trailOf } from './audit-records.js';
import type { DocumentSender } from './document-client.js';
import { auditNoteKey, INDEX, looseAuditKey, monthOf, requestKey } from './keys.js';
import { DynamoLinkStore } from './link-store.js';
import { DynamoPeriodStore } from './period-store.js';
import { lockOf, SlotLocks } from './slot-locks.js';

/** Capacity units DynamoDB reported for this store's calls (table and indexes, as returned). */
export interface CapacityTotals {
  read: number;
  write: number;
}

type StoredRequest = AccessRequest & { pk: string; sk: string; entity: 'request'; createdMonth: string };

/**
 * Item attributes that are not part of the request: its keys, and `writeId`, which names the
 * last update() call that wrote the item (a retried write tells its own landed attempt by it).
 */
const REQUEST_FIELDS_NOT_STORED = new Set(['pk', 'sk', 'entity', 'createdMonth', 'writeId']);

function itemToRequest(item: Record<string, unknown>): AccessRequest {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!REQUEST_FIELDS_NOT_STORED.has(k)) out[k] = v;
  return out as unknown as AccessRequest;
}

/**
 * The DynamoDB repository: one table, single-item conditional writes only (so it runs the
 * same on DynamoDB, moto and dynalite, which has no transactions).
 *
 * A change's own write also carries its audit event (`auditOwed`, see audit-records.ts): when the
 * event's record cannot be written after the change landed, the event is not lost. It is written
 * before the request changes again, when its notices are marked delivered, or by the sweeper (a
 * final status is marked `noticeDue` for that); a request's `auditEvents` include it meanwhile.
 */
export class DynamoRequestStore implements RequestStore, SummaryStore {
  readonly capacity: CapacityTotals = { read: 0, write: 0 };

  private readonly locks: SlotLocks;
  private readonly links: DynamoLinkStore;
  private readonly periods: DynamoPeriodStore;
  private readonly audit: AuditRecords;

  constructor(
    private readonly doc: DocumentSender,
    private readonly tableName: string,
    log?: AuditLog,
  ) {
    this.locks = new SlotLocks(
      doc,
      tableName,
      (id) => this.get(id),
      (consumed) => this.count('write', consumed),
    );
    this.links = new DynamoLinkStore(doc, tableName);
    this.periods = new DynamoPeriodStore(doc, tableName);
    this.audit = new AuditRecords(doc, tableName, (consumed) => this.count('write', consumed), log);
  }

  /** The request an item holds; an event it still carries is left out once its record is known written. */
  private readonly toRequest = (item: Record<string, unknown>): AccessRequest => {
    const request = itemToRequest(item);
    if (request.auditOwed && this.audit.has(request.id, request.auditOwed.version)) delete request.auditOwed;
    return request;
  };

  /** Adds what DynamoDB reported; `TOTAL` answers carry only CapacityUnits, so the call's kind says which. */
  private count(kind: 'read' | 'write', consumed: ConsumedCapacity | undefined): void {
    if (consumed) this.capacity[kind] += consumed.CapacityUnits ?? 0;
  }

  async create(request: AccessRequest, audit: AuditInput): Promise<void> {
    const lock = lockOf(request);
    const locked = lock.holds(request);
    if (locked) await this.locks.take(lock, request);
    const owed = owedEvent(null, request.status, request.createdAt, request.version, audit);
    const item: StoredRequest = {
      ...request,
      auditOwed: owed,
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
      // A retried put whose first attempt landed (its answer lost) finds its own item: ids are new ULIDs, so it is this one.
      const landed = err instanceof ConditionalCheckFailedException && (await this.get(request.id))?.createdAt === request.createdAt;
      if (!landed) {
        if (locked) await this.locks.release(lock.key, request.id);
        throw err;
      }
    }
    // Stored either way: a PENDING or APPROVED request always changes again, and that writes the event first.
    await this.audit.tryWrite(request.id, owed);
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const item = await this.getItem(id);
    return item ? this.toRequest(item) : undefined;
  }

  private async getItem(id: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: requestKey(id), ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));
    this.count('read', out.ConsumedCapacity);
    return out.Item;
  }

  async update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest> {
    return this.write(expected, change, true);
  }

  private async write(expected: AccessRequest, change: RequestChange, mayRereadOwed: boolean): Promise<AccessRequest> {
    // The change was made from the request as read: a change made from another state is a defect, refused before the table.
    if (change.from !== expected.status) throw new IllegalTransitionError(expected.status, change.to);
    assertTransition(expected.status, change.to);
    // The event of the version being replaced is written first; without it, this change is not made.
    const previousRecorded = await this.audit.settle(expected);
    const next = applyChange(expected, change);
    const owed = change.audit ? owedEvent(expected.status, next.status, next.updatedAt, next.version, change.audit) : undefined;
    let stored = next;
    // A request coming back into a slot (a Retry of a failed break-glass) takes the slot again first.
    const lock = lockOf(expected);
    const entering = !lock.holds(expected) && lock.holds(next);
    if (entering) await this.locks.take(lock, next);
    const writeId = newUlid();
    const names: Record<string, string> = { '#version': 'version', '#status': 'status' };
    const values: Record<string, unknown> = { ':expected': expected.version, ':expectedStatus': expected.status };
    const sets: string[] = [];
    const removes: string[] = [];
    let i = 0;
    const fields = { ...change.fields, status: next.status, version: next.version, updatedAt: next.updatedAt, writeId, auditOwed: owed };
    for (const [field, value] of Object.entries(fields)) {
      names[`#f${i}`] = field;
      if (value === undefined) {
        removes.push(`#f${i}`);
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
          // An event the table still owes for the version replaced is never overwritten unwritten.
          ConditionExpression: `#version = :expected AND #status = :expectedStatus${previousRecorded ? '' : ' AND attribute_not_exists(auditOwed)'}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          // What the table holds now: a field changed without a new version (a notice marked delivered) is not lost.
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.count('write', out.ConsumedCapacity);
      if (out.Attributes) stored = this.toRequest(out.Attributes);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) {
        if (entering) await this.locks.release(lock.key, expected.id).catch(() => undefined);
        throw err;
      }
      // dynalite returns no Item with ALL_OLD, and the returned item is in wire format anyway:
      // a consistent read gives every backend the same, current view of the winner's state.
      const item = await this.getItem(expected.id);
      const current = item ? this.toRequest(item) : undefined;
      // The SDK retries a call whose answer was lost (a reset, a timeout): when the earlier attempt
      // did land, the retry meets this very write in the table. It is this call's, not a conflict.
      if (current && item?.writeId === writeId) {
        stored = current;
      } else if (mayRereadOwed && current?.auditOwed && current.version === expected.version && current.status === expected.status) {
        // Not another writer: the table owes an event this copy did not carry. It is written, then this change.
        if (entering) await this.locks.release(lock.key, expected.id).catch(() => undefined);
        return this.write(current, change, false);
      } else {
        throw new RequestConflictError(`Request ${expected.id} changed meanwhile.`, current, { cause: err });
      }
    }
    if (owed && (await this.audit.tryWrite(stored.id, owed))) {
      delete stored.auditOwed;
    } else if (owed && isFinalStatus(stored.status) && stored.noticeDue !== 'DUE') {
      // Nothing changes a final request again: the sweeper's pass over due notices writes the event.
      await this.markNoticeDue(stored).catch(() => undefined);
    }
    // After the audit event: a lock left behind is taken over once its request no longer holds it.
    if (lock.holds(expected) && !lock.holds(next)) await this.locks.release(lock.key, expected.id).catch(() => undefined);
    return stored;
  }

  async appendNote(request: AccessRequest, note: AuditInput & { at: string }): Promise<void> {
    // The key is new to this call: a retried put that meets it met its own first attempt.
    let out: PutCommandOutput;
    try {
      out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...auditNoteKey(request.id, request.version, newUlid(Date.parse(note.at))),
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
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw err;
    }
    this.count('write', out.ConsumedCapacity);
  }

  private async markNoticeDue(request: AccessRequest): Promise<void> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: requestKey(request.id),
        UpdateExpression: 'SET noticeDue = :due',
        ConditionExpression: 'version = :v',
        ExpressionAttributeValues: { ':v': request.version, ':due': 'DUE' },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.count('write', out.ConsumedCapacity);
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

  async clearNoticeDue(request: AccessRequest): Promise<void> {
    // The event the item still carries is written first; without it, the notices stay due and the sweeper comes back.
    const owedWritten = await this.audit.settle(request);
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: requestKey(request.id),
          UpdateExpression: owedWritten ? 'REMOVE noticeDue, auditOwed' : 'REMOVE noticeDue',
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': request.version },
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
    return items.map(this.toRequest);
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
    return items.map(this.toRequest);
  }

  async listByIamUser(iamUserName: string): Promise<AccessRequest[]> {
    const items = await this.queryAll({
      IndexName: INDEX.byIamUser,
      KeyConditionExpression: 'iamUserName = :u',
      ExpressionAttributeValues: { ':u': iamUserName },
    });
    return items.map(this.toRequest);
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
    return items.map(this.toRequest);
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
    return items.map(this.toRequest);
  }

  async listCreatedBetween(from: string, to: string): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    for (const month of monthsBetween(from, to)) {
      const items = await this.queryAll({
        IndexName: INDEX.byCreatedMonth,
        KeyConditionExpression: 'createdMonth = :m AND createdAt BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':m': month, ':from': from, ':to': to },
      });
      out.push(...items.map(this.toRequest).filter((r) => r.createdAt < to));
    }
    return out;
  }

  async auditEvents(requestId: string): Promise<AuditEvent[]> {
    // The request's partition: its audit records, then the item, which may still carry the latest event.
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': requestKey(requestId).pk },
      ConsistentRead: true,
    });
    return trailOf(requestId, items);
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

  firstStartedAt(now: string): Promise<string> {
    return this.periods.firstStartedAt(now);
  }

  getPeriod(firingAt: string): Promise<PeriodClaim | undefined> {
    return this.periods.getPeriod(firingAt);
  }

  claimPeriod(firingAt: string, claimant: string, now: string, staleBefore: string): Promise<boolean> {
    return this.periods.claimPeriod(firingAt, claimant, now, staleBefore);
  }

  markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void> {
    return this.periods.markPeriodPosted(firingAt, claimant, now);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...looseAuditKey(event.requestId, event.at, newUlid(Date.parse(event.at))), entity: 'audit', ...event, auditMonth: monthOf(event.at) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  getLink(userId: string): Promise<IdentityLink | undefined> {
    return this.links.getLink(userId);
  }

  linkHolder(iamUserName: string): Promise<IdentityLink | undefined> {
    return this.links.linkHolder(iamUserName);
  }

  putLink(link: IdentityLink): Promise<void> {
    return this.links.putLink(link);
  }
}

/** The month buckets ("YYYY-MM") that [from, to] touches, in order. */
function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  const cursor = new Date(`${monthOf(from)}-01T00:00:00.000Z`);
  const last = monthOf(to);
  while (monthOf(cursor.toISOString()) <= last) {
    months.push(monthOf(cursor.toISOString()));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}
