import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessRequest, canTransition, IllegalTransitionError, REQUEST_STATUSES, type RequestStatus } from '../../src/domain/request.js';
import {
  activate,
  applyChange,
  approve,
  cancel,
  claim,
  deny,
  expire,
  extend,
  fail,
  keep,
  moveExpiry,
  open,
  oweRevoke,
  posted,
  type RequestChange,
  remind,
  retry,
  revoke,
  settleFailure,
  timeOut,
} from '../../src/domain/transitions.js';
import { RequestRefusedError } from '../../src/errors.js';

const AT = '2030-03-04T10:00:00.000Z';
const LATER = '2030-03-05T10:00:00.000Z';

function draft() {
  return {
    id: '01K6FZ0000AAAAAAAAAAAAAAAA',
    requesterId: 'U0JANE',
    requesterTeamId: 'T0CORP',
    requesterEmail: 'jane@corp.com',
    iamUserName: 'jane',
    level: 'read-only',
    groupName: 'BillingReadOnly',
    durationDays: 7,
    justification: 'month-end close',
    approvalsRequired: 1,
    dryRun: false,
    iam: { mfa: 'present' as const, hasConsolePassword: true, currentGroups: [], warnings: [] },
  };
}

function inStatus(status: RequestStatus, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return { ...open(draft(), AT).request, status, ...overrides };
}

/** Every transition function, applied to a request in any status. */
const MOVES: Record<string, (r: AccessRequest) => RequestChange> = {
  approve: (r) => approve(r, { by: 'U0ADMIN', at: LATER }),
  deny: (r) => deny(r, 'U0ADMIN', LATER, 'no'),
  cancel: (r) => cancel(r, 'U0JANE', LATER),
  timeOut: (r) => timeOut(r, LATER, 24),
  activate: (r) => activate(r, 'system', LATER, 'added jane to BillingReadOnly'),
  fail: (r) => fail(r, 'system', LATER, { name: 'AccessDenied', message: 'no', membershipUnknown: false }),
  retry: (r) => retry(r, 'U0ADMIN', LATER),
  extend: (r) => extend(r, 'system', LATER, LATER),
  moveExpiry: (r) => moveExpiry(r, 'X', LATER, 'system', LATER),
  expire: (r) => expire(r, LATER, 'removed'),
  revoke: (r) => revoke(r, 'U0ADMIN', LATER, 'removed'),
  oweRevoke: (r) => oweRevoke(r, 'U0ADMIN', LATER, 'Throttling'),
  remind: (r) => remind(r, LATER),
  keep: (r) => keep(r, 'U0ADMIN', LATER),
};

describe('request transitions (PRODUCT §2)', () => {
  it('every function either refuses the move or makes one the state machine allows, from the status it was given', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUEST_STATUSES), fc.constantFrom(...Object.keys(MOVES)), (status, name) => {
        const request = inStatus(status, { failure: { name: 'E', message: 'm', at: AT } });
        let made: RequestChange;
        try {
          made = (MOVES[name] as (r: AccessRequest) => RequestChange)(request);
        } catch (err) {
          expect(err).toBeInstanceOf(IllegalTransitionError);
          return;
        }
        expect(made.from).toBe(status);
        expect(made.to === status || canTransition(status, made.to)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what PRODUCT §2 does not allow: no grant without an approval, nothing out of a final state', () => {
    expect(() => activate(inStatus('PENDING'), 'system', LATER, 'added')).toThrow(IllegalTransitionError);
    expect(() => approve(inStatus('DENIED'), { by: 'U0ADMIN', at: LATER })).toThrow(IllegalTransitionError);
    expect(() => revoke(inStatus('EXPIRED'), 'U0ADMIN', LATER, 'removed')).toThrow(IllegalTransitionError);
    expect(() => cancel(inStatus('APPROVED'), 'U0JANE', LATER)).toThrow(IllegalTransitionError);
    expect(() => deny(inStatus('FAILED'), 'U0ADMIN', LATER)).toThrow(IllegalTransitionError);
  });

  it('opens a request PENDING, or a break-glass one APPROVED by the requester with its expiry fixed at the cap', () => {
    const pending = open(draft(), AT);
    expect(pending.request).toMatchObject({ status: 'PENDING', version: 1, createdAt: AT, approvals: [], approverIds: [] });
    expect(pending.request.expiresAt).toBeUndefined();
    expect(pending.audit).toEqual({ actor: 'U0JANE', detail: 'request for read-only (BillingReadOnly), 7d' });

    const breakGlass = open(draft(), AT, { maxHours: 4 });
    expect(breakGlass.request).toMatchObject({ status: 'APPROVED', breakGlass: true, decidedBy: 'U0JANE', approverIds: ['U0JANE'] });
    expect(breakGlass.request.expiresAt).toBe('2030-03-04T14:00:00.000Z');
    expect(breakGlass.audit.detail).toMatch(/^break-glass request/);
  });

  it('records an approval while more are needed and approves with the last one', () => {
    const twoNeeded = inStatus('PENDING', { approvalsRequired: 2 });
    const first = approve(twoNeeded, { by: 'U0ALICE', at: AT, iamUsers: ['alice'] });
    expect(first.to).toBe('PENDING');
    expect(first.fields).toMatchObject({ approverIds: ['U0ALICE'], noticeDue: 'DUE' });
    expect(first.audit?.detail).toBe('approval 1 of 2');

    const recorded = applyChange(twoNeeded, first);
    const second = approve(recorded, { by: 'U0BOB', at: LATER });
    expect(second.to).toBe('APPROVED');
    expect(second.fields).toMatchObject({ approverIds: ['U0ALICE', 'U0BOB'], decidedBy: 'U0BOB', decidedAt: LATER });
    expect(second.audit?.detail).toBe('approved by U0ALICE, U0BOB');
  });

  it('activates with the expiry counted from the grant, and keeps an expiry fixed earlier', () => {
    const change = activate(inStatus('APPROVED'), 'system', AT, 'added jane to BillingReadOnly', ' (note)');
    expect(change.fields).toEqual({ expiresAt: '2030-03-11T10:00:00.000Z', noticeDue: 'DUE' });
    expect(change.audit?.detail).toBe('added jane to BillingReadOnly; expires 2030-03-11T10:00:00.000Z (note)');
    const fixed = activate(inStatus('APPROVED', { expiresAt: LATER }), 'system', AT, 'added');
    expect(fixed.fields.expiresAt).toBe(LATER);
  });

  it('a retry refuses while a failed add may still be in IAM, and clears the failure otherwise', () => {
    const unsettled = inStatus('FAILED', { failure: { name: 'TimeoutError', message: 't', at: AT, membershipUnknown: true } });
    expect(() => retry(unsettled, 'U0ADMIN', LATER)).toThrow(RequestRefusedError);
    const settled = applyChange(unsettled, settleFailure(unsettled, 'system', LATER, 'confirmed out'));
    expect(settled.status).toBe('FAILED');
    expect(settled.failure).toEqual({ name: 'TimeoutError', message: 't', at: AT });
    const retried = applyChange(settled, retry(settled, 'U0ADMIN', LATER));
    expect(retried.status).toBe('APPROVED');
    expect('failure' in retried).toBe(false);
  });

  it('a failure keeps at most 1,000 characters of the error and flags an add that may have reached IAM', () => {
    const change = fail(inStatus('APPROVED'), 'system', AT, { name: 'Err', message: 'x'.repeat(3000), membershipUnknown: true });
    expect(change.fields.failure?.message).toHaveLength(1000);
    expect(change.fields.failure?.membershipUnknown).toBe(true);
    expect(change.audit?.detail).toHaveLength('Err: '.length + 500);
  });

  it('an end clears an owed revoke and times the end; an owed revoke keeps the grant ACTIVE', () => {
    const owed = applyChange(inStatus('ACTIVE'), oweRevoke(inStatus('ACTIVE'), 'U0ADMIN', AT, 'Throttling'));
    expect(owed).toMatchObject({ status: 'ACTIVE', endDue: { to: 'REVOKED', by: 'U0ADMIN', at: AT } });
    const ended = applyChange(owed, revoke(owed, 'U0ADMIN', LATER, 'removed jane from BillingReadOnly'));
    expect(ended).toMatchObject({ status: 'REVOKED', endedBy: 'U0ADMIN', endedAt: LATER, noticeDue: 'DUE', version: owed.version + 1, updatedAt: LATER });
    expect('endDue' in ended).toBe(false);
  });

  it('times out a pending request as decided by the system, and a failed one without rewriting its decision', () => {
    expect(timeOut(inStatus('PENDING'), AT, 24).fields).toEqual({ decidedBy: 'system', decidedAt: AT, noticeDue: 'DUE' });
    const failed = timeOut(inStatus('FAILED', { decidedBy: 'U0ADMIN' }), AT, 24);
    expect(failed.fields).toEqual({ noticeDue: 'DUE' });
    expect(failed.audit?.detail).toBe('not retried within 24 h of its failure');
  });

  it('bookkeeping leaves no audit event and keeps the status', () => {
    for (const change of [claim(inStatus('PENDING'), AT), remind(inStatus('PENDING'), AT), posted(inStatus('PENDING'), AT, { channel: 'C1', ts: '1.2' })]) {
      expect(change.to).toBe('PENDING');
      expect(change.audit).toBeUndefined();
    }
    expect(remind(inStatus('PENDING', { remindersSent: 2 }), AT).fields).toEqual({ remindersSent: 3, lastReminderAt: AT });
  });

  it('moving an expiry records the extension on the grant so it is never applied twice', () => {
    const grant = inStatus('ACTIVE', { expiresAt: AT, appliedExtensions: ['A'] });
    const change = moveExpiry(grant, 'B', LATER, 'system', LATER);
    expect(change.fields).toEqual({ expiresAt: LATER, appliedExtensions: ['A', 'B'] });
  });
});
