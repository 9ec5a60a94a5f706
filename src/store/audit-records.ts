/**
 * The audit records of request changes. A change and its audit event are two items (dynalite has
 * no transactions), so the change's own conditional write also carries its event on the request
 * item (`auditOwed`); this module writes that event as its own record, idempotently, remembers
 * which records it has seen written, and reads a request's trail with an event its item still
 * carries.
 */
import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessRequest, AuditEvent, OwedAuditEvent, RequestStatus } from '../domain/request.js';
import { errorMessage, errorName } from '../errors.js';
import type { AuditInput } from '../services/ports.js';
import type { DocumentSender } from './document-client.js';
import { auditKey, monthOf } from './keys.js';

/** How many written records are remembered, so one is not written again. */
const RECORDED_MEMORY = 10_000;

export type AuditLog = { warn(obj: object, msg?: string): void };

export class AuditRecords {
  /** `id#version` of the records seen written, oldest first. */
  private readonly recorded = new Set<string>();

  constructor(
    private readonly doc: DocumentSender,
    private readonly tableName: string,
    private readonly onWrite: (consumed: ConsumedCapacity | undefined) => void,
    private readonly log?: AuditLog,
  ) {}

  /** Whether the record of the event of this request version is known written. */
  has(requestId: string, version: number): boolean {
    return this.recorded.has(recordKey(requestId, version));
  }

  /**
   * Writes the event the request still carries, if any; then whether the event of its current
   * version is known written (false: the item may still carry one this copy did not).
   */
  async settle(request: AccessRequest): Promise<boolean> {
    if (!request.auditOwed) return this.has(request.id, request.version);
    await this.write(request.id, request.auditOwed);
    return true;
  }

  /** Writes the record of an event (a repeated write is a no-op: records are never rewritten). */
  async write(requestId: string, owed: OwedAuditEvent): Promise<void> {
    const key = recordKey(requestId, owed.version);
    if (this.recorded.has(key)) return;
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...auditKey(requestId, owed.version),
            entity: 'audit',
            requestId,
            at: owed.at,
            actor: owed.actor,
            from: owed.from,
            to: owed.to,
            detail: owed.detail,
            auditMonth: monthOf(owed.at),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.onWrite(out.ConsumedCapacity);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    this.recorded.add(key);
    if (this.recorded.size > RECORDED_MEMORY) this.recorded.delete(this.recorded.values().next().value as string);
  }

  /** As `write`; false (logged) when the record could not be written and the item keeps the event. */
  async tryWrite(requestId: string, owed: OwedAuditEvent): Promise<boolean> {
    try {
      await this.write(requestId, owed);
      return true;
    } catch (err) {
      this.log?.warn(
        { event: 'store.audit_deferred', requestId, version: owed.version, to: owed.to, error: errorName(err), message: errorMessage(err) },
        'audit event kept on the request item; written later',
      );
      return false;
    }
  }
}

/** The event a change carries on its item until its record is written. */
export function owedEvent(from: RequestStatus | null, to: RequestStatus, at: string, version: number, audit: AuditInput): OwedAuditEvent {
  return { version, at, actor: audit.actor, from, to, detail: audit.detail };
}

export function toAudit(item: Record<string, unknown>): AuditEvent {
  const { requestId, at, actor, from, to, detail } = item as unknown as AuditEvent;
  return { requestId, at, actor, from: from ?? null, to, detail };
}

/** A request's trail from its partition's items: its records, then the event its item still carries if that has no record yet. */
export function trailOf(requestId: string, items: Record<string, unknown>[]): AuditEvent[] {
  const records = items.filter((i) => i.entity === 'audit');
  const owed = items.find((i) => i.entity === 'request')?.auditOwed as OwedAuditEvent | undefined;
  const events = records.map(toAudit);
  if (owed && !records.some((r) => r.sk === auditKey(requestId, owed.version).sk)) {
    const { version: _version, ...event } = owed;
    events.push({ requestId, ...event });
  }
  return events;
}

function recordKey(requestId: string, version: number): string {
  return `${requestId}#${version}`;
}
