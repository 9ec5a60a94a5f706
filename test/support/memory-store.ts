import { iamUserKey, sameIamUser } from '../../src/domain/iam-user.js';
import { type AccessRequest, type AuditEvent, assertTransition, IllegalTransitionError, type RequestStatus } from '../../src/domain/request.js';
import { applyChange, type RequestChange } from '../../src/domain/transitions.js';
import { LinkConflictError, RequestConflictError } from '../../src/errors.js';
import type { AuditInput, IdentityLink, PeriodClaim, RequestStore, SummaryStore } from '../../src/services/ports.js';

const clone = <T>(value: T): T => structuredClone(value);

/**
 * The one-at-a-time slot a request occupies, as `lockOf` in src/store/slot-locks.ts keys it:
 * a live (APPROVED or ACTIVE) break-glass grant per IAM user, a PENDING request per IAM user and
 * level; IAM user names compared case-insensitively. undefined: it holds no slot.
 */
function slotOf(request: AccessRequest): string | undefined {
  if (request.breakGlass) return request.status === 'APPROVED' || request.status === 'ACTIVE' ? `BREAKGLASS#${iamUserKey(request.iamUserName)}` : undefined;
  return request.status === 'PENDING' ? `PENDING#${iamUserKey(request.iamUserName)}#${request.level}` : undefined;
}

/** Where a request's audit event sorts, as the DynamoDB store's sort key: by the version it records, a note after the event of the version it follows. */
const versionKey = (version: number) => String(version).padStart(6, '0');

/**
 * An in-memory RequestStore with the same write semantics as the DynamoDB store, held to the
 * same contract (test/support/store-contract.ts, run by test/unit/memory-store-contract.test.ts):
 * `update` applies a domain change only while the stored item still has the expected version
 * and status (else RequestConflictError carrying the current item), bumps the version, removes
 * keys given as undefined, and appends the change's audit event; a request entering a slot
 * another request holds is refused with that request. Items are copied in and out, so callers
 * never share state with the store.
 *
 * Known differences, outside the contract:
 * - A second `create` with an id already stored is a RequestConflictError here; the DynamoDB
 *   store lets the SDK's ConditionalCheckFailedException through (ids are ULIDs: a defect).
 * - `markPeriodPosted` by another claimant throws a plain Error here, the SDK's
 *   ConditionalCheckFailedException there.
 */
export class MemoryRequestStore implements RequestStore, SummaryStore {
  readonly items = new Map<string, AccessRequest>();
  /** Every audit event in the order it was written: those of requests and those about no request (`appendAudit`). */
  readonly audit: AuditEvent[] = [];
  readonly links = new Map<string, IdentityLink>();
  readonly periods = new Map<string, PeriodClaim>();
  private installedAt: string | undefined;
  /** The sort key of each request's audit event within its request; events about no request have none. */
  private readonly auditOrder = new WeakMap<AuditEvent, string>();
  private notes = 0;

  /** Puts an item as-is (test setup), without an audit event. */
  seed(...requests: AccessRequest[]): void {
    for (const r of requests) this.items.set(r.id, clone(r));
  }

  /** The other request holding the slot `request` is in, if any. */
  private slotHolder(request: AccessRequest): AccessRequest | undefined {
    const slot = slotOf(request);
    if (!slot) return undefined;
    for (const other of this.items.values()) if (other.id !== request.id && slotOf(other) === slot) return other;
    return undefined;
  }

  private slotConflict(holder: AccessRequest): RequestConflictError {
    const what = holder.breakGlass ? 'A live break-glass grant for this IAM user' : 'A pending request for this level';
    return new RequestConflictError(`${what} already exists (${holder.id}).`, clone(holder));
  }

  private pushRequestEvent(event: AuditEvent, key: string): void {
    this.audit.push(event);
    this.auditOrder.set(event, key);
  }

  async create(request: AccessRequest, audit: AuditInput): Promise<void> {
    // As the DynamoDB store: the slot first, then the item.
    const holder = this.slotHolder(request);
    if (holder) throw this.slotConflict(holder);
    if (this.items.has(request.id)) throw new RequestConflictError(`Request ${request.id} already exists.`, clone(this.items.get(request.id)));
    this.items.set(request.id, clone(request));
    this.pushRequestEvent(
      { requestId: request.id, at: request.createdAt, actor: audit.actor, from: null, to: request.status, detail: audit.detail },
      versionKey(request.version),
    );
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const item = this.items.get(id);
    return item ? clone(item) : undefined;
  }

  async update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest> {
    if (change.from !== expected.status) throw new IllegalTransitionError(expected.status, change.to);
    assertTransition(expected.status, change.to);
    // As the DynamoDB store: a request coming back into a slot (a Retry of a failed break-glass) takes it before the write.
    const next = applyChange(expected, change);
    if (!slotOf(expected) && slotOf(next)) {
      const holder = this.slotHolder(next);
      if (holder) throw this.slotConflict(holder);
    }
    const stored = this.items.get(expected.id);
    if (!stored || stored.version !== expected.version || stored.status !== expected.status) {
      throw new RequestConflictError(`Request ${expected.id} changed meanwhile.`, stored ? clone(stored) : undefined);
    }
    const updated = applyChange(clone(stored), clone(change));
    this.items.set(updated.id, updated);
    if (change.audit) {
      this.pushRequestEvent(
        { requestId: updated.id, at: change.at, actor: change.audit.actor, from: stored.status, to: updated.status, detail: change.audit.detail },
        versionKey(updated.version),
      );
    }
    return clone(updated);
  }

  /** Removes `noticeDue` without changing the version, and only if nothing changed since the request's version. */
  async clearNoticeDue(request: AccessRequest): Promise<void> {
    const item = this.items.get(request.id);
    if (item?.version === request.version) delete item.noticeDue;
  }

  async listNoticeDue(before: string, limit = 100): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.noticeDue === 'DUE' && r.updatedAt <= before,
      (r) => r.updatedAt,
    ).slice(0, limit);
  }

  /** Newest first, 50 unless told, as the DynamoDB store's default. */
  async listByRequester(requesterId: string, limit = 50): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.requesterId === requesterId,
      (r) => r.createdAt,
    )
      .reverse()
      .slice(0, limit);
  }

  /** A note sorts after the event of the version it follows, then by its time, as the DynamoDB store's note key. */
  async appendNote(request: AccessRequest, note: AuditInput & { at: string }): Promise<void> {
    this.pushRequestEvent(
      { requestId: request.id, at: note.at, actor: note.actor, from: request.status, to: request.status, detail: note.detail },
      `${versionKey(request.version)}#${note.at}#${String(this.notes++).padStart(8, '0')}`,
    );
  }

  /** Exact name, as the index is keyed: oldest first. */
  async listByIamUser(iamUserName: string): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.iamUserName === iamUserName,
      (r) => r.createdAt,
    );
  }

  async listByStatus(status: RequestStatus, options: { createdBefore?: string; limit?: number } = {}): Promise<AccessRequest[]> {
    const { createdBefore, limit } = options;
    const found = this.sorted(
      (r) => r.status === status && (createdBefore === undefined || r.createdAt <= createdBefore),
      (r) => r.createdAt,
    );
    return limit === undefined ? found : found.slice(0, limit);
  }

  async listExpiring(status: RequestStatus, before: string, limit?: number): Promise<AccessRequest[]> {
    const found = this.sorted(
      (r) => r.status === status && r.expiresAt !== undefined && r.expiresAt <= before,
      (r) => r.expiresAt ?? '',
    );
    return limit === undefined ? found : found.slice(0, limit);
  }

  async listCreatedBetween(from: string, to: string): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.createdAt >= from && r.createdAt < to,
      (r) => r.createdAt,
    );
  }

  /** The request's own trail, in version order: events about no request (`appendAudit`) are never part of it. */
  async auditEvents(requestId: string): Promise<AuditEvent[]> {
    const keyed = this.audit.flatMap((e) => {
      const key = this.auditOrder.get(e);
      return key !== undefined && e.requestId === requestId ? [{ e, key }] : [];
    });
    return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ e }) => clone(e));
  }

  /** Every event, of a request or about none, in [since, until), oldest first. */
  async *auditEventsSince(since: string, until: string = new Date().toISOString()): AsyncIterable<AuditEvent[]> {
    const events = this.audit
      .filter((e) => e.at >= since && e.at < until)
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
      .map(clone);
    if (events.length) yield events;
  }

  /** The link's four fields, as the DynamoDB store reads them back. */
  async getLink(userId: string): Promise<IdentityLink | undefined> {
    const link = this.links.get(userId);
    return link ? clone(link) : undefined;
  }

  async linkHolder(iamUserName: string): Promise<IdentityLink | undefined> {
    const holder = [...this.links.values()].find((l) => sameIamUser(l.iamUserName, iamUserName));
    return holder ? clone(holder) : undefined;
  }

  /** Refuses an IAM user already linked to another Slack user, as the DynamoDB store does. */
  async putLink(link: IdentityLink): Promise<void> {
    const holder = await this.linkHolder(link.iamUserName);
    if (holder && holder.userId !== link.userId) throw new LinkConflictError(`IAM user ${link.iamUserName} is already linked to another Slack user.`, holder);
    const { userId, iamUserName, linkedBy, linkedAt } = link;
    this.links.set(userId, { userId, iamUserName, linkedBy, linkedAt });
  }

  async firstStartedAt(now: string): Promise<string> {
    this.installedAt ??= now;
    return this.installedAt;
  }

  async getPeriod(firingAt: string): Promise<PeriodClaim | undefined> {
    const period = this.periods.get(firingAt);
    return period ? clone(period) : undefined;
  }

  /** The lease as the DynamoDB store keeps it: renewed by its holder, taken over once it lapsed, never once posted. */
  async claimPeriod(firingAt: string, claimant: string, now: string, leaseUntil: string): Promise<boolean> {
    const period = this.periods.get(firingAt);
    // A claim without a lease (written before leases) lapses five minutes after it was made.
    const lapsed = period !== undefined && (period.leaseUntil ?? new Date(Date.parse(period.claimedAt) + 5 * 60_000).toISOString()) < now;
    if (period && (period.posted || (period.claimedBy !== claimant && !lapsed))) return false;
    this.periods.set(firingAt, { firingAt, claimedBy: claimant, claimedAt: now, leaseUntil, posted: false });
    return true;
  }

  async markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void> {
    const period = this.periods.get(firingAt);
    if (period?.claimedBy !== claimant) throw new Error(`period ${firingAt} is not claimed by ${claimant}`);
    this.periods.set(firingAt, { ...period, posted: true, postedAt: now });
  }

  /** An event about no request: in `audit` and `auditEventsSince`, never in a request's `auditEvents`. */
  async appendAudit(event: AuditEvent): Promise<void> {
    this.audit.push(clone(event));
  }

  private sorted(wanted: (r: AccessRequest) => boolean, key: (r: AccessRequest) => string): AccessRequest[] {
    return [...this.items.values()]
      .filter(wanted)
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
      .map(clone);
  }
}
