/**
 * The one-at-a-time slots of the table: a lock item per slot, taken with a conditional write
 * before the request that occupies it is written, and taken over once stale.
 */
import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessRequest } from '../domain/request.js';
import { RequestConflictError } from '../errors.js';
import { newUlid } from '../ids.js';
import type { DocumentSender } from './document-client.js';
import { breakGlassLockKey, pendingLockKey } from './keys.js';

/** How long a lock without its request is respected before it is taken over. */
export const ORPHANED_LOCK_MS = 60_000;

/**
 * One request at a time in a slot, guarded by a lock item taken with a conditional write:
 * one pending request per IAM user and level, and one live break-glass grant per IAM user
 * (two break-glass commands at once must not both grant).
 */
export interface RequestLock {
  key: Record<string, string>;
  /** Whether this request still occupies the slot. */
  holds(request: AccessRequest): boolean;
  what: string;
}

export function lockOf(request: AccessRequest): RequestLock {
  if (request.breakGlass) {
    return {
      key: breakGlassLockKey(request.iamUserName),
      holds: (r) => r.status === 'APPROVED' || r.status === 'ACTIVE',
      what: 'A live break-glass grant for this IAM user',
    };
  }
  return { key: pendingLockKey(request.iamUserName, request.level), holds: (r) => r.status === 'PENDING', what: 'A pending request for this level' };
}

export class SlotLocks {
  constructor(
    private readonly doc: DocumentSender,
    private readonly tableName: string,
    /** Reads the request a lock names, to tell a live holder from a stale one. */
    private readonly readRequest: (id: string) => Promise<AccessRequest | undefined>,
    private readonly counted: (consumed: ConsumedCapacity | undefined) => void,
  ) {}

  /** Claims a one-at-a-time slot; a stale claim (its request gone, or no longer holding the slot) is taken over. */
  async take(lock: RequestLock, request: AccessRequest): Promise<void> {
    const { key } = lock;
    // Names this call's lock item: a retried put whose first attempt landed (its answer lost) finds it.
    const lockId = newUlid();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, requestId: request.id, lockedAtMs: Date.now(), lockId },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        this.counted(out.ConsumedCapacity);
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      const held = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      const holderId = held.Item?.requestId as string | undefined;
      if (!holderId) continue;
      if (held.Item?.lockId === lockId) return;
      const holder = await this.readRequest(holderId);
      if (holder && lock.holds(holder)) {
        throw new RequestConflictError(`${lock.what} already exists (${holderId}).`, holder);
      }
      // A holder not written yet is still being created by someone else, unless the lock is
      // old enough that its writer must have died between the two writes.
      const lockedAtMs = Number(held.Item?.lockedAtMs ?? 0);
      if (!holder && Date.now() - lockedAtMs < ORPHANED_LOCK_MS) {
        throw new RequestConflictError(`${lock.what} is being created right now.`, undefined);
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
    throw new RequestConflictError('Could not reserve the slot for this request; try again.', undefined);
  }

  async release(key: Record<string, string>, requestId: string): Promise<void> {
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
}
