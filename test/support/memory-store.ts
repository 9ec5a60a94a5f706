import { sameIamUser } from '../../src/domain/iam-user.js';
import { type AccessRequest, type AuditEvent, assertTransition, IllegalTransitionError, type RequestStatus } from '../../src/domain/request.js';
import { applyChange, keep, type RequestChange } from '../../src/domain/transitions.js';
import { LinkConflictError, RequestConflictError } from '../../src/errors.js';
import type { AuditInput, IdentityLink, PeriodClaim, RequestStore, SummaryStore } from '../../src/services/ports.js';

const clone = <T>(value: T): T => structuredClone(value);

/**
 * An in-memory RequestStore with the same write semantics as the DynamoDB store:
 * `update` applies a domain change only while the stored item still has the expected version
 * and status (else RequestConflictError carrying the current item), bumps the version, removes
 * keys given as undefined, and appends the change's audit event.
 * Items are copied in and out, so callers never share state with the store.
 */
export class MemoryRequestStore implements RequestStore, SummaryStore {
  readonly items = new Map<string, AccessRequest>();
  readonly audit: AuditEvent[] = [];
  readonly links = new Map<string, IdentityLink>();
  readonly periods = new Map<string, PeriodClaim>();
  private installedAt: string | undefined;

  /** Puts an item as-is (test setup), without an audit event. */
  seed(...requests: AccessRequest[]): void {
    for (const r of requests) this.items.set(r.id, clone(r));
  }

  async create(request: AccessRequest, audit: AuditInput): Promise<void> {
    if (this.items.has(request.id)) throw new RequestConflictError(`Request ${request.id} already exists.`, clone(this.items.get(request.id)));
    for (const other of this.items.values()) {
      if (!sameIamUser(other.iamUserName, request.iamUserName)) continue;
      if (request.status === 'PENDING' && other.status === 'PENDING' && other.level === request.level) {
        throw new RequestConflictError(`A pending request for this level already exists (${other.id}).`, clone(other));
      }
      if (request.breakGlass && other.breakGlass && (other.status === 'APPROVED' || other.status === 'ACTIVE')) {
        throw new RequestConflictError(`A live break-glass grant for this IAM user already exists (${other.id}).`, clone(other));
      }
    }
    this.items.set(request.id, clone(request));
    this.audit.push({ requestId: request.id, at: request.createdAt, actor: audit.actor, from: null, to: request.status, detail: audit.detail });
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const item = this.items.get(id);
    return item ? clone(item) : undefined;
  }

  async update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest> {
    if (change.from !== expected.status) throw new IllegalTransitionError(expected.status, change.to);
    assertTransition(expected.status, change.to);
    const stored = this.items.get(expected.id);
    if (!stored || stored.version !== expected.version || stored.status !== expected.status) {
      throw new RequestConflictError(`Request ${expected.id} changed meanwhile.`, stored ? clone(stored) : undefined);
    }
    const live = (r: AccessRequest) => r.status === 'APPROVED' || r.status === 'ACTIVE';
    const updated = applyChange(clone(stored), clone(change));
    if (stored.breakGlass && live(updated) && !live(stored)) {
      const other = [...this.items.values()].find((r) => r.id !== stored.id && r.breakGlass && live(r) && sameIamUser(r.iamUserName, stored.iamUserName));
      if (other) throw new RequestConflictError(`A live break-glass grant for this IAM user already exists (${other.id}).`, clone(other));
    }
    this.items.set(updated.id, updated);
    if (change.audit) {
      this.audit.push({ requestId: updated.id, at: change.at, actor: change.audit.actor, from: stored.status, to: updated.status, detail: change.audit.detail });
    }
    return clone(updated);
  }

  /** Removes `noticeDue` without changing the version, and only if nothing changed since `version`. */
  async clearNoticeDue(id: string, version: number): Promise<void> {
    const item = this.items.get(id);
    if (item?.version === version) delete item.noticeDue;
  }

  async listNoticeDue(before: string, limit = 100): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.noticeDue === 'DUE' && r.updatedAt <= before,
      (r) => r.updatedAt,
    ).slice(0, limit);
  }

  async listByRequester(requesterId: string, limit?: number): Promise<AccessRequest[]> {
    const newestFirst = this.sorted(
      (r) => r.requesterId === requesterId,
      (r) => r.id,
    ).reverse();
    return limit === undefined ? newestFirst : newestFirst.slice(0, limit);
  }

  async appendNote(request: AccessRequest, note: AuditInput & { at: string }): Promise<void> {
    this.audit.push({ requestId: request.id, at: note.at, actor: note.actor, from: request.status, to: request.status, detail: note.detail });
  }

  async listByIamUser(iamUserName: string): Promise<AccessRequest[]> {
    return this.sorted(
      (r) => r.iamUserName === iamUserName,
      (r) => r.id,
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

  async auditEvents(requestId: string): Promise<AuditEvent[]> {
    return this.audit.filter((e) => e.requestId === requestId).map(clone);
  }

  async *auditEventsSince(since: string): AsyncIterable<AuditEvent[]> {
    const events = this.audit.filter((e) => e.at >= since).map(clone);
    if (events.length) yield events;
  }

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
    this.links.set(link.userId, clone(link));
  }

  async firstStartedAt(now: string): Promise<string> {
    this.installedAt ??= now;
    return this.installedAt;
  }

  async getPeriod(firingAt: string): Promise<PeriodClaim | undefined> {
    const period = this.periods.get(firingAt);
    return period ? clone(period) : undefined;
  }

  async claimPeriod(firingAt: string, claimant: string, now: string, staleBefore: string): Promise<boolean> {
    const period = this.periods.get(firingAt);
    if (period && (period.posted || period.claimedAt >= staleBefore)) return false;
    this.periods.set(firingAt, { firingAt, claimedBy: claimant, claimedAt: now, posted: false });
    return true;
  }

  async markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void> {
    const period = this.periods.get(firingAt);
    if (period?.claimedBy !== claimant) throw new Error(`period ${firingAt} is not claimed by ${claimant}`);
    this.periods.set(firingAt, { ...period, posted: true, postedAt: now });
  }

  async recordReview(request: AccessRequest, by: string, at: string): Promise<AccessRequest> {
    return this.update(request, keep(request, by, at));
  }

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
