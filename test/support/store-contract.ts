/**
 * One file: storeContract() is the single entry point both store test files call, and its eight
 * sections close over the per-test `store` it sets up (seven also use the `created()`/`activeGrant()`
 * helpers built on it), so a split would have to thread that state through every section or change
 * both callers.
 *
 * The contract every RequestStore & SummaryStore keeps, through its public API only: the
 * DynamoDB store on dynalite and on moto_server (test/integration/store-contract.test.ts) and
 * the in-memory store the unit and model-based tests use (test/unit/memory-store-contract.test.ts),
 * so the fake cannot drift from the real one. What only the DynamoDB store has (item shapes, lock
 * items, capacity, a write held open) is tested beside it, in the integration file.
 */
import { ulid } from 'ulid';
import { beforeEach, describe, expect, it } from 'vitest';
import { type AccessRequest, type AuditEvent, IllegalTransitionError } from '../../src/domain/request.js';
import { activate, approve, cancel, deny, expire, fail, keep, moveExpiry, retry, timeOut } from '../../src/domain/transitions.js';
import { LinkConflictError, RequestConflictError } from '../../src/errors.js';
import type { AuditInput, RequestStore, SummaryStore } from '../../src/services/ports.js';
import { seededChange } from './changes.js';
import { buildRequest } from './requests.js';

export type ContractStore = RequestStore & SummaryStore;

export interface StoreTraits {
  /**
   * Whether a conditional write is atomic under concurrent requests, as in DynamoDB. moto_server
   * 5.2.1 is not: it serves requests on threads (`run_simple(threaded=True)`) and UpdateItem checks
   * the condition and applies it without a lock, so two of 12 racing conditional UpdateItems
   * sometimes both succeed (seen in 2 of 30 rounds with raw UpdateCommands, no store involved).
   */
  atomicConditionalWrites: boolean;
}

export const CROCKFORD_ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

export const at = (ms: number) => new Date(ms).toISOString();
export const shift = (isoTime: string, ms: number) => at(Date.parse(isoTime) + ms);

/** A request from defaults plus overrides; the id is a ULID minted at `createdAt`. */
export function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  const createdAt = overrides.createdAt ?? new Date().toISOString();
  return buildRequest({
    requesterTeamId: 'T0CORP',
    requesterEmail: 'jane.doe@corp.example',
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: ['Developers'], warnings: [] },
    createdAt,
    ...overrides,
  });
}

export const requested: AuditInput = { actor: 'U0EMPLOYEE', detail: 'requested' };

/** Awaits a promise that must reject with RequestConflictError and returns the error. */
export async function conflictOf(promise: Promise<unknown>): Promise<RequestConflictError> {
  const outcome = await promise.then(
    () => 'resolved' as const,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(RequestConflictError);
  return outcome as RequestConflictError;
}

/** Awaits a promise that must reject and returns what it rejected with. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => 'resolved' as const,
    (err: unknown) => err,
  );
  expect(outcome).not.toBe('resolved');
  return outcome;
}

/** Registers the contract in the current describe block; `fresh` gives an empty store for each test. */
export function storeContract(fresh: () => Promise<ContractStore>, traits: StoreTraits): void {
  let store: ContractStore;

  beforeEach(async () => {
    store = await fresh();
  });

  /** Creates a PENDING (or any) request and returns what was stored. */
  async function created(overrides: Partial<AccessRequest> = {}, audit: AuditInput = requested): Promise<AccessRequest> {
    const request = aRequest(overrides);
    await store.create(request, audit);
    return request;
  }

  /** An ACTIVE break-glass grant, its expiry fixed when it was opened. */
  async function activeGrant(iamUserName: string, expiresAt: string, now: string): Promise<AccessRequest> {
    const approved = await created({ iamUserName, status: 'APPROVED', breakGlass: true, expiresAt });
    return store.update(approved, activate(approved, 'system', now, `added ${iamUserName}`));
  }

  describe('create and get', () => {
    it('round-trips every PRODUCT §2 attribute of a new request and records its first audit event', async () => {
      const request = await created();
      expect(request.id).toMatch(CROCKFORD_ULID);

      expect(await store.get(request.id)).toEqual(request);
      expect(await store.auditEvents(request.id)).toEqual([
        { requestId: request.id, at: request.createdAt, actor: 'U0EMPLOYEE', from: null, to: 'PENDING', detail: 'requested' },
      ]);
    });

    it('round-trips a break-glass request carrying every optional attribute', async () => {
      const createdAt = new Date().toISOString();
      const request = await created(
        {
          createdAt,
          status: 'APPROVED',
          breakGlass: true,
          decidedBy: 'U0EMPLOYEE',
          decidedAt: createdAt,
          approvals: [{ by: 'U0EMPLOYEE', at: createdAt, iamUsers: ['jane.doe'] }],
          approverIds: ['U0EMPLOYEE'],
          expiresAt: shift(createdAt, 4 * HOUR_MS),
          endedBy: 'U0ADMIN1',
          endedAt: shift(createdAt, HOUR_MS),
          endDue: { to: 'REVOKED', by: 'U0ADMIN1', at: shift(createdAt, HOUR_MS) },
          extendsRequestId: ulid(Date.parse(createdAt) - DAY_MS),
          appliedExtensions: [ulid()],
          linkedBy: 'U0ADMIN2',
          denyReason: 'n/a',
          failure: { name: 'Throttling', message: 'Rate exceeded', at: createdAt, membershipUnknown: true },
          dryRun: true,
          iam: { mfa: 'not-checked', hasConsolePassword: null, currentGroups: null, warnings: ['not checked: ListMFADevices'] },
          adminMessage: { channel: 'C0ADMINS', ts: '1700000000.000100' },
          reviewedBy: 'U0ADMIN1',
          reviewedAt: createdAt,
          remindersSent: 2,
          lastReminderAt: createdAt,
          noticeDue: 'DUE',
        },
        { actor: 'U0EMPLOYEE', detail: 'break-glass: prod billing outage' },
      );

      expect(await store.get(request.id)).toEqual(request);
      expect(await store.auditEvents(request.id)).toEqual([
        { requestId: request.id, at: createdAt, actor: 'U0EMPLOYEE', from: null, to: 'APPROVED', detail: 'break-glass: prod billing outage' },
      ]);
    });

    it('get of an unknown id is undefined', async () => {
      expect(await store.get(ulid())).toBeUndefined();
    });
  });

  describe('update', () => {
    it('applies the change, bumps the version and appends a full audit event', async () => {
      const request = await created();
      const decidedAt = new Date().toISOString();
      const approval = approve(request, { by: 'U0ADMIN1', at: decidedAt });

      const next = await store.update(request, approval);

      expect(next).toEqual({ ...request, ...approval.fields, status: 'APPROVED', version: 2, updatedAt: decidedAt });
      expect(next).toMatchObject({ decidedBy: 'U0ADMIN1', decidedAt, approverIds: ['U0ADMIN1'] });
      expect(await store.get(request.id)).toEqual(next);
      const events = await store.auditEvents(request.id);
      expect(events).toEqual([
        expect.objectContaining({ from: null, to: 'PENDING' }),
        { requestId: request.id, at: decidedAt, actor: 'U0ADMIN1', from: 'PENDING', to: 'APPROVED', detail: 'approved by U0ADMIN1' },
      ]);
    });

    it('rejects a stale version with RequestConflictError carrying the winner as it is stored', async () => {
      const request = await created();
      const now = new Date().toISOString();
      const winner = await store.update(request, approve(request, { by: 'U0ADMIN1', at: now }));

      const err = await conflictOf(store.update(request, deny(request, 'U0ADMIN2', now)));

      expect(err.current).toEqual(winner);
      expect(err.current?.status).toBe('APPROVED');
      expect(err.current?.version).toBe(2);
      expect(await store.get(request.id)).toEqual(winner);
      expect((await store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED']);
    });

    it('rejects an update of a request that does not exist with RequestConflictError and no current item', async () => {
      const ghost = aRequest();
      const err = await conflictOf(store.update(ghost, cancel(ghost, 'U0EMPLOYEE', new Date().toISOString())));
      expect(err.current).toBeUndefined();
      expect(await store.get(ghost.id)).toBeUndefined();
    });

    it('records an ACTIVE → ACTIVE change (an extension moving the expiry) as an audit event', async () => {
      const now = new Date().toISOString();
      const active = await activeGrant('jane.doe', shift(now, DAY_MS), now);
      const later = shift(now, 4 * DAY_MS);
      const extensionId = ulid();

      const extended = await store.update(active, moveExpiry(active, extensionId, later, 'U0ADMIN1', shift(now, 1000)));

      expect(extended).toMatchObject({ status: 'ACTIVE', expiresAt: later, appliedExtensions: [extensionId], version: 3 });
      expect(await store.get(active.id)).toEqual(extended);
      const last = (await store.auditEvents(active.id)).at(-1);
      expect(last).toEqual({
        requestId: active.id,
        at: extended.updatedAt,
        actor: 'U0ADMIN1',
        from: 'ACTIVE',
        to: 'ACTIVE',
        detail: `expiry moved from ${active.expiresAt} to ${later} by extension ${extensionId}`,
      });
    });

    it('removes an attribute given as undefined, in the store and in the returned request', async () => {
      const approved = await created({ status: 'APPROVED', breakGlass: true });
      const now = new Date().toISOString();
      const error = { name: 'NoSuchEntityException', message: 'The user with name jane.doe cannot be found.', membershipUnknown: false };
      const failed = await store.update(approved, fail(approved, 'system', now, error));
      expect((await store.get(approved.id))?.failure).toEqual({ name: error.name, message: error.message, at: now });

      const retried = await store.update(failed, retry(failed, 'U0ADMIN1', shift(now, 1000)));

      expect(retried).not.toHaveProperty('failure');
      expect(retried).toMatchObject({ status: 'APPROVED', version: 3 });
      expect(await store.get(approved.id)).toEqual(retried);
      expect(await store.get(approved.id)).not.toHaveProperty('failure');
    });

    // A notice cleared (clearNoticeDue) keeps the version: a writer holding the copy read before it still wins.
    it('returns the request as it is stored, also when a field was cleared since it was read without a new version', async () => {
      const request = await created({ approvalsRequired: 2 });
      const now = new Date().toISOString();
      const firstApproval = await store.update(request, approve(request, { by: 'U0ADMIN1', at: now }));
      expect(firstApproval).toMatchObject({ status: 'PENDING', noticeDue: 'DUE', version: 2 });
      await store.clearNoticeDue(firstApproval);

      const approved = await store.update(firstApproval, approve(firstApproval, { by: 'U0ADMIN2', at: shift(now, 1000) }));

      expect(approved.status).toBe('APPROVED');
      expect(await store.get(request.id)).toEqual(approved);
    });

    // Skipped where the emulator's conditional writes are not atomic (see StoreTraits).
    it.skipIf(!traits.atomicConditionalWrites)('lets exactly one of 12 concurrent approvals of the same copy win', async () => {
      const request = await created();
      const admins = Array.from({ length: 12 }, (_, i) => `U0ADMIN${String(i).padStart(2, '0')}`);

      const results = await Promise.allSettled(admins.map((admin) => store.update(request, approve(request, { by: admin, at: new Date().toISOString() }))));

      const won = results.filter((r): r is PromiseFulfilledResult<AccessRequest> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(11);
      const winner = won[0]?.value;
      for (const { reason } of lost) {
        expect(reason).toBeInstanceOf(RequestConflictError);
        expect((reason as RequestConflictError).current).toMatchObject({ status: 'APPROVED', version: 2, decidedBy: winner?.decidedBy });
      }
      expect(await store.get(request.id)).toEqual(winner);
      const approvedEvents = (await store.auditEvents(request.id)).filter((e) => e.to === 'APPROVED');
      expect(approvedEvents).toHaveLength(1);
      expect(approvedEvents[0]?.actor).toBe(winner?.decidedBy);
    });
  });

  describe('one pending request per IAM user and level', () => {
    it('refuses a second PENDING request for the same user and level, allows another level, and frees the slot once decided', async () => {
      const first = await created();

      const duplicate = aRequest();
      const err = await conflictOf(store.create(duplicate, requested));
      expect(err.current?.id).toBe(first.id);
      expect(await store.get(duplicate.id)).toBeUndefined();
      expect(await store.auditEvents(duplicate.id)).toEqual([]);

      const otherLevel = await created({ level: 'full', groupName: 'BillingFull' });
      expect((await store.get(otherLevel.id))?.status).toBe('PENDING');

      await store.update(first, deny(first, 'U0ADMIN1', new Date().toISOString()));
      const again = await created();
      expect((await store.get(again.id))?.status).toBe('PENDING');
      const refused = await conflictOf(store.create(aRequest(), requested));
      expect(refused.current?.id).toBe(again.id);
    });
  });

  describe('index queries', () => {
    it('listByStatus: oldest first, createdBefore inclusive, limit', async () => {
      const base = Date.now() - 10 * HOUR_MS;
      const p1 = await created({ createdAt: at(base), iamUserName: 'user.1' });
      const p2 = await created({ createdAt: at(base + HOUR_MS), iamUserName: 'user.2' });
      const p3 = await created({ createdAt: at(base + 2 * HOUR_MS), iamUserName: 'user.3' });
      await created({ createdAt: at(base + 30 * 60 * 1000), iamUserName: 'user.4', status: 'APPROVED', breakGlass: true });

      expect((await store.listByStatus('PENDING')).map((r) => r.id)).toEqual([p1.id, p2.id, p3.id]);
      expect((await store.listByStatus('PENDING', { createdBefore: p2.createdAt })).map((r) => r.id)).toEqual([p1.id, p2.id]);
      expect((await store.listByStatus('PENDING', { createdBefore: shift(p2.createdAt, -1) })).map((r) => r.id)).toEqual([p1.id]);
      expect((await store.listByStatus('PENDING', { limit: 2 })).map((r) => r.id)).toEqual([p1.id, p2.id]);
      expect(await store.listByStatus('PENDING', { createdBefore: shift(p1.createdAt, -1) })).toEqual([]);
    });

    it('listExpiring: grants in the status expiring at or before `before`, soonest first, with a limit', async () => {
      const now = new Date().toISOString();
      const inAnHour = await activeGrant('user.a', shift(now, HOUR_MS), now);
      const anHourAgo = await activeGrant('user.b', shift(now, -HOUR_MS), now);
      const twoDaysAgo = await activeGrant('user.c', shift(now, -2 * DAY_MS), now);
      const inThreeDays = await activeGrant('user.d', shift(now, 3 * DAY_MS), now);
      const exactlyNow = await activeGrant('user.e', now, now);
      const ended = await activeGrant('user.f', shift(now, -3 * DAY_MS), now);
      await store.update(ended, expire(ended, now, 'removed user.f'));
      // Approved, not yet granted: its expiry is fixed but it is not ACTIVE.
      const approved = await created({ iamUserName: 'user.g', status: 'APPROVED', breakGlass: true, expiresAt: shift(now, -DAY_MS) });

      const ids = async (before: string, limit?: number) => (await store.listExpiring('ACTIVE', before, limit)).map((r) => r.id);
      expect(await ids(now)).toEqual([twoDaysAgo.id, anHourAgo.id, exactlyNow.id]);
      expect(await ids(now, 1)).toEqual([twoDaysAgo.id]);
      expect(await ids(shift(now, 4 * DAY_MS))).toEqual([twoDaysAgo.id, anHourAgo.id, exactlyNow.id, inAnHour.id, inThreeDays.id]);
      expect((await store.listExpiring('ACTIVE', now))[0]).toEqual(twoDaysAgo);
      expect((await store.listExpiring('APPROVED', now)).map((r) => r.id)).toEqual([approved.id]);
    });

    it('listByRequester: newest first, with a limit; listByIamUser: all of the user’s requests and nothing else', async () => {
      const base = Date.now() - 5 * DAY_MS;
      const old = await created({ createdAt: at(base), status: 'DENIED' });
      const mid = await created({ createdAt: at(base + DAY_MS), status: 'EXPIRED', level: 'full', groupName: 'BillingFull' });
      const recent = await created({ createdAt: at(base + 2 * DAY_MS) });
      const otherRequester = await created({ createdAt: at(base + 3 * DAY_MS), requesterId: 'U0OTHER', iamUserName: 'john.roe' });
      await store.putLink({ userId: 'U0EMPLOYEE', iamUserName: 'jane.doe', linkedBy: 'U0ADMIN1', linkedAt: new Date().toISOString() });

      expect((await store.listByRequester('U0EMPLOYEE')).map((r) => r.id)).toEqual([recent.id, mid.id, old.id]);
      expect((await store.listByRequester('U0EMPLOYEE', 2)).map((r) => r.id)).toEqual([recent.id, mid.id]);
      expect(await store.listByRequester('U0NOBODY')).toEqual([]);

      const janes = await store.listByIamUser('jane.doe');
      expect(janes.map((r) => r.id).sort()).toEqual([old.id, mid.id, recent.id].sort());
      expect(janes.find((r) => r.id === mid.id)).toEqual(mid);
      expect((await store.listByIamUser('john.roe')).map((r) => r.id)).toEqual([otherRequester.id]);
    });

    it('listCreatedBetween: exactly [from, to) across month and year boundaries, oldest first', async () => {
      const from = '2024-12-20T00:00:00.000Z';
      const to = '2025-02-03T00:00:00.000Z';
      const times = {
        earlierMonth: '2024-11-30T23:59:59.999Z',
        justBeforeFrom: shift(from, -1),
        atFrom: from,
        endOfDecember: '2024-12-31T23:59:59.999Z',
        midJanuary: '2025-01-15T08:30:00.000Z',
        startOfFebruary: '2025-02-01T00:00:00.000Z',
        justBeforeTo: shift(to, -1),
        atTo: to,
        laterMonth: '2025-03-01T00:00:00.000Z',
      };
      const byName: Record<string, AccessRequest> = {};
      let n = 0;
      for (const [name, createdAt] of Object.entries(times)) {
        byName[name] = await created({ createdAt, iamUserName: `user.${n++}`, status: n % 2 === 0 ? 'PENDING' : 'DENIED' });
      }

      const found = await store.listCreatedBetween(from, to);

      const expected = ['atFrom', 'endOfDecember', 'midJanuary', 'startOfFebruary', 'justBeforeTo'].map((name) => byName[name]?.id);
      expect(found.map((r) => r.id)).toEqual(expected);
      expect(found[0]).toEqual(byName.atFrom);
    });

    it('auditEventsSince: pages of events in [since, until), every one of them, those about no request too', async () => {
      const now = Date.now();
      const since = at(now - 45 * DAY_MS);
      const tooOld = await created({ createdAt: at(now - 70 * DAY_MS), iamUserName: 'user.old' });
      const atSince = await created({ createdAt: since, iamUserName: 'user.since' });
      const fortyDays = await created({ createdAt: at(now - 40 * DAY_MS), iamUserName: 'user.forty' });
      const tenDays = await created({ createdAt: at(now - 10 * DAY_MS), iamUserName: 'user.ten' });
      await store.update(tooOld, timeOut(tooOld, at(now - 2000), 72));
      // An event about no request (a link made): on the trail, never one of a request's events.
      const linked: AuditEvent = { requestId: 'link:U0EMPLOYEE', at: at(now - 1000), actor: 'U0ADMIN1', from: null, to: 'LINKED', detail: 'linked U0EMPLOYEE' };
      await store.appendAudit(linked);
      const seenSince = async (from: string, until?: string) => {
        const pages: AuditEvent[][] = [];
        for await (const page of store.auditEventsSince(from, until)) pages.push(page);
        for (const page of pages) {
          expect(page.length).toBeGreaterThan(0);
          for (const event of page) expect(event.at >= from && (until === undefined || event.at < until)).toBe(true);
        }
        return pages
          .flat()
          .map((e) => `${e.requestId}:${e.from}->${e.to}`)
          .sort();
      };

      expect(await seenSince(since)).toEqual(
        [
          `${atSince.id}:null->PENDING`,
          `${fortyDays.id}:null->PENDING`,
          `${tenDays.id}:null->PENDING`,
          `${tooOld.id}:PENDING->TIMED_OUT`,
          'link:U0EMPLOYEE:null->LINKED',
        ].sort(),
      );
      expect(await seenSince(since, tenDays.createdAt)).toEqual([`${atSince.id}:null->PENDING`, `${fortyDays.id}:null->PENDING`].sort());
      expect(await store.auditEvents(linked.requestId)).toEqual([]);
    });
  });

  describe('undelivered notices', () => {
    it('listNoticeDue finds requests still owing notices up to `before`; clearNoticeDue clears only the version it was given', async () => {
      const now = new Date().toISOString();
      const decide = async (iamUserName: string, how: 'deny' | 'cancel', decidedAt: string) => {
        const request = await created({ iamUserName });
        return store.update(request, how === 'deny' ? deny(request, 'U0ADMIN1', decidedAt) : cancel(request, 'U0EMPLOYEE', decidedAt));
      };
      const twoHoursAgo = await decide('user.a', 'deny', shift(now, -2 * HOUR_MS));
      const atBefore = await decide('user.b', 'deny', now);
      await decide('user.c', 'deny', shift(now, 1));
      // A cancel owes no notice.
      const cancelled = await decide('user.d', 'cancel', shift(now, -3 * HOUR_MS));
      expect(cancelled).not.toHaveProperty('noticeDue');

      expect((await store.listNoticeDue(now)).map((r) => r.id).sort()).toEqual([twoHoursAgo.id, atBefore.id].sort());
      expect(await store.listNoticeDue(now, 1)).toHaveLength(1);

      await store.clearNoticeDue({ ...twoHoursAgo, version: twoHoursAgo.version - 1 });
      expect((await store.get(twoHoursAgo.id))?.noticeDue).toBe('DUE');

      await store.clearNoticeDue(twoHoursAgo);
      // The audit event the item carried is written by then: the item no longer carries it.
      const { noticeDue: _cleared, auditOwed: _written, ...withoutNotice } = twoHoursAgo;
      expect(await store.get(twoHoursAgo.id)).toEqual(withoutNotice);
      expect((await store.listNoticeDue(now)).map((r) => r.id)).toEqual([atBefore.id]);
    });
  });

  describe('identity links', () => {
    it('putLink then getLink; a new link replaces the old one; unknown users have none', async () => {
      const link = { userId: 'U0EMPLOYEE', iamUserName: 'jane.doe', linkedBy: 'U0ADMIN1', linkedAt: new Date().toISOString() };
      await store.putLink(link);
      expect(await store.getLink('U0EMPLOYEE')).toEqual(link);

      const relinked = { ...link, iamUserName: 'jane.doe2', linkedBy: 'U0ADMIN2', linkedAt: new Date().toISOString() };
      await store.putLink(relinked);
      expect(await store.getLink('U0EMPLOYEE')).toEqual(relinked);
      expect(await store.getLink('U0NOBODY')).toBeUndefined();
    });

    it('is one-to-one: an IAM user linked to one Slack user is refused to another, whatever its case; linkHolder finds it', async () => {
      const now = new Date().toISOString();
      await store.putLink({ userId: 'U0ALT', iamUserName: 'Boss', linkedBy: 'U0ADMIN1', linkedAt: now });
      const err = await rejectionOf(store.putLink({ userId: 'U0OTHER', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now }));
      expect(err).toBeInstanceOf(LinkConflictError);
      expect((err as LinkConflictError).current?.userId).toBe('U0ALT');
      expect(await store.getLink('U0OTHER')).toBeUndefined();
      expect((await store.linkHolder('BOSS'))?.userId).toBe('U0ALT');
      // The holder itself may be linked again to the same IAM user.
      await store.putLink({ userId: 'U0ALT', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now });
      expect((await store.linkHolder('boss'))?.iamUserName).toBe('boss');
    });

    it('frees the IAM user when its holder is linked elsewhere', async () => {
      const now = new Date().toISOString();
      await store.putLink({ userId: 'U0ALT', iamUserName: 'boss', linkedBy: 'U0ADMIN1', linkedAt: now });
      await store.putLink({ userId: 'U0ALT', iamUserName: 'someone.else', linkedBy: 'U0ADMIN1', linkedAt: now });
      expect(await store.linkHolder('boss')).toBeUndefined();
      await store.putLink({ userId: 'U0BOSS', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now });
      expect((await store.linkHolder('boss'))?.userId).toBe('U0BOSS');
      expect((await store.linkHolder('someone.else'))?.userId).toBe('U0ALT');
    });
  });

  describe('the state machine and the audit trail', () => {
    it('refuses a status change PRODUCT §2 does not allow, before it reaches the store', async () => {
      const pending = await created();
      // The domain would not make this change (approve first): the store must refuse it by itself.
      const skip = seededChange(
        pending,
        'ACTIVE',
        new Date().toISOString(),
        { actor: 'U0ADMIN1', detail: 'skip the approval' },
        { expiresAt: shift(pending.createdAt, DAY_MS) },
      );

      const err = await rejectionOf(store.update(pending, skip));

      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect((err as Error).message).toMatch(/PENDING → ACTIVE/);
      expect(await store.get(pending.id)).toEqual(pending);
      expect((await store.auditEvents(pending.id)).map((e) => e.to)).toEqual(['PENDING']);
    });

    it('refuses a change made from another status than the request it is given with, even a move that status allows', async () => {
      const pending = await created();
      // A Retry made from a FAILED copy (FAILED → APPROVED); PENDING → APPROVED is a move of §2, but not this change's.
      const retryOfFailed = retry({ ...pending, status: 'FAILED' }, 'U0ADMIN1', new Date().toISOString());
      expect(retryOfFailed.from).toBe('FAILED');

      const err = await rejectionOf(store.update(pending, retryOfFailed));

      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(await store.get(pending.id)).toEqual(pending);
      expect((await store.auditEvents(pending.id)).map((e) => e.to)).toEqual(['PENDING']);
    });

    it('appendNote adds an audit event without changing the request, in order after the version it follows', async () => {
      const pending = await created();
      const noteAt = new Date().toISOString();
      await store.appendNote(pending, { actor: 'system', detail: 'removed jane.doe from BillingReadOnly, then lost the ending write', at: noteAt });
      const denied = await store.update(pending, deny(pending, 'U0ADMIN1', shift(noteAt, 1000)));
      expect(denied.version).toBe(2);
      // A note written later from the copy read before the denial follows version 1: it goes before the denial.
      await store.appendNote(pending, { actor: 'system', detail: 'a late note about version 1', at: shift(noteAt, 2000) });

      expect(await store.get(pending.id)).toEqual(denied);
      const events = await store.auditEvents(pending.id);
      expect(events.map((e) => [e.from, e.to])).toEqual([
        [null, 'PENDING'],
        ['PENDING', 'PENDING'],
        ['PENDING', 'PENDING'],
        ['PENDING', 'DENIED'],
      ]);
      expect(events[1]?.detail).toContain('lost the ending write');
      expect(events[2]).toEqual({
        requestId: pending.id,
        at: shift(noteAt, 2000),
        actor: 'system',
        from: 'PENDING',
        to: 'PENDING',
        detail: 'a late note about version 1',
      });
    });

    it('one live break-glass grant per IAM user: a second is refused while the first is live, and a Retry of a failed one takes the slot again', async () => {
      const bg = (overrides: Partial<AccessRequest> = {}) =>
        aRequest({ status: 'APPROVED', breakGlass: true, decidedBy: 'U0EMPLOYEE', decidedAt: new Date().toISOString(), ...overrides });
      const first = bg({ level: 'full', groupName: 'BillingFull' });
      await store.create(first, requested);
      const refused = await conflictOf(store.create(bg({ iamUserName: 'JANE.DOE' }), requested));
      expect(refused.current?.id).toBe(first.id);

      const now = new Date().toISOString();
      const failed = await store.update(first, fail(first, 'system', now, { name: 'AccessDenied', message: 'no', membershipUnknown: false }));
      const second = bg();
      await store.create(second, requested);
      // Retrying the failed one while the second is live would make two.
      const retryRefused = await conflictOf(store.update(failed, retry(failed, 'U0ADMIN1', now)));
      expect(retryRefused.current?.id).toBe(second.id);
      expect(await store.get(first.id)).toEqual(failed);

      const active = await store.update(second, activate(second, 'system', now, 'added jane.doe'));
      await store.update(active, expire(active, now, 'removed jane.doe'));
      expect((await store.update(failed, retry(failed, 'U0ADMIN1', now))).status).toBe('APPROVED');
      expect(await conflictOf(store.create(bg(), requested)).then((e) => e.current?.id)).toBe(first.id);
    });

    it('one pending request per IAM user counts Jane.Doe and jane.doe as one user, as IAM does', async () => {
      await created({ iamUserName: 'jane.doe' });
      const err = await conflictOf(store.create(aRequest({ iamUserName: 'Jane.Doe' }), requested));
      expect(err.current?.iamUserName).toBe('jane.doe');
    });
  });

  describe('summary bookkeeping', () => {
    it('firstStartedAt is the first caller’s time; a period is claimed by one replica, taken over once its lease lapsed and unposted, never once posted', async () => {
      const installed = '2030-01-06T09:00:00.000Z';
      expect(await store.firstStartedAt(installed)).toBe(installed);
      expect(await store.firstStartedAt(shift(installed, DAY_MS))).toBe(installed);

      const firing = '2030-01-13T09:00:00.000Z';
      expect(await store.getPeriod(firing)).toBeUndefined();
      const claimedAt = shift(firing, 1000);
      const leaseUntil = shift(claimedAt, 30_000);
      expect(await store.claimPeriod(firing, 'replica-a', claimedAt, leaseUntil)).toBe(true);
      expect(await store.getPeriod(firing)).toEqual({ firingAt: firing, claimedBy: 'replica-a', claimedAt, leaseUntil, posted: false });

      // replica-a died before posting: its claim is taken over once the lease lapsed, and it can no longer mark the period posted.
      const takenAt = shift(leaseUntil, 1);
      expect(await store.claimPeriod(firing, 'replica-b', takenAt, shift(takenAt, 30_000))).toBe(true);
      await rejectionOf(store.markPeriodPosted(firing, 'replica-a', takenAt));
      const postedAt = shift(takenAt, 1000);
      await store.markPeriodPosted(firing, 'replica-b', postedAt);
      expect(await store.getPeriod(firing)).toEqual({
        firingAt: firing,
        claimedBy: 'replica-b',
        claimedAt: takenAt,
        leaseUntil: shift(takenAt, 30_000),
        posted: true,
        postedAt,
      });

      // Posted: neither a renewal by its claimant nor a claim by another replica takes it, however late.
      expect(await store.claimPeriod(firing, 'replica-b', shift(postedAt, 1), shift(postedAt, 30_000))).toBe(false);
      expect(await store.claimPeriod(firing, 'replica-c', shift(postedAt, DAY_MS), shift(postedAt, DAY_MS + 30_000))).toBe(false);
      expect((await store.getPeriod(firing))?.claimedBy).toBe('replica-b');
      await rejectionOf(store.markPeriodPosted('2030-01-20T09:00:00.000Z', 'replica-a', postedAt));
    });

    it('a period’s lease: other replicas are refused while it runs, up to its last instant; its holder renews it; once it lapsed another takes it over', async () => {
      const firing = '2030-01-13T09:00:00.000Z';
      const claimedAt = shift(firing, 1000);
      expect(await store.claimPeriod(firing, 'replica-a', claimedAt, shift(claimedAt, 30_000))).toBe(true);
      expect(await store.claimPeriod(firing, 'replica-b', shift(claimedAt, 1000), shift(claimedAt, 31_000))).toBe(false);
      expect(await store.claimPeriod(firing, 'replica-b', shift(claimedAt, 30_000), shift(claimedAt, 60_000))).toBe(false);

      // Renewed by its holder (even a moment after it ran out, while nobody took it): it runs on from the renewal.
      const renewedAt = shift(claimedAt, 30_001);
      expect(await store.claimPeriod(firing, 'replica-a', renewedAt, shift(renewedAt, 30_000))).toBe(true);
      expect(await store.getPeriod(firing)).toEqual({
        firingAt: firing,
        claimedBy: 'replica-a',
        claimedAt: renewedAt,
        leaseUntil: shift(renewedAt, 30_000),
        posted: false,
      });
      expect(await store.claimPeriod(firing, 'replica-b', shift(renewedAt, 20_000), shift(renewedAt, 50_000))).toBe(false);

      // It lapsed: replica-b takes it over.
      const takenAt = shift(renewedAt, 30_001);
      expect(await store.claimPeriod(firing, 'replica-b', takenAt, shift(takenAt, 30_000))).toBe(true);
      expect((await store.getPeriod(firing))?.claimedBy).toBe('replica-b');
    });

    it('a renewal or a markPeriodPosted by a replica that no longer holds the period is refused and changes nothing', async () => {
      const firing = '2030-01-13T09:00:00.000Z';
      const claimedAt = shift(firing, 1000);
      expect(await store.claimPeriod(firing, 'replica-a', claimedAt, shift(claimedAt, 30_000))).toBe(true);
      const takenAt = shift(claimedAt, 60_000);
      expect(await store.claimPeriod(firing, 'replica-b', takenAt, shift(takenAt, 30_000))).toBe(true);
      const held = { firingAt: firing, claimedBy: 'replica-b', claimedAt: takenAt, leaseUntil: shift(takenAt, 30_000), posted: false };

      // replica-a, back from a stall, renews within replica-b's lease: refused.
      expect(await store.claimPeriod(firing, 'replica-a', shift(takenAt, 1000), shift(takenAt, 31_000))).toBe(false);
      expect(await store.getPeriod(firing)).toEqual(held);
      await rejectionOf(store.markPeriodPosted(firing, 'replica-a', shift(takenAt, 2000)));
      expect(await store.getPeriod(firing)).toEqual(held);
    });

    it('a Keep (keep) records who kept an ACTIVE grant, with an audit event; a stale copy loses, an ended grant cannot be kept', async () => {
      const now = new Date().toISOString();
      const active = await activeGrant('jane.doe', shift(now, DAY_MS), now);
      const reviewedAt = shift(now, 1000);

      const kept = await store.update(active, keep(active, 'U0ADMIN1', reviewedAt));

      expect(kept).toEqual({ ...active, reviewedBy: 'U0ADMIN1', reviewedAt, version: 3, updatedAt: reviewedAt });
      expect(await store.get(active.id)).toEqual(kept);
      expect((await store.auditEvents(active.id)).at(-1)).toEqual({
        requestId: active.id,
        at: reviewedAt,
        actor: 'U0ADMIN1',
        from: 'ACTIVE',
        to: 'ACTIVE',
        detail: 'kept after access review',
      });
      expect((await conflictOf(store.update(active, keep(active, 'U0ADMIN2', reviewedAt)))).current).toEqual(kept);

      const ended = await store.update(kept, expire(kept, shift(now, 2000), 'removed jane.doe'));
      expect(() => keep(ended, 'U0ADMIN1', shift(now, 3000))).toThrow(IllegalTransitionError);
      expect(await store.get(active.id)).toEqual(ended);
    });
  });
}
