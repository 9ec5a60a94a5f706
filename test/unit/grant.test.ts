/**
 * GrantExecutor.complete on a new grant: the user joins the group and the request goes APPROVED →
 * ACTIVE with its expiry, audited and announced; and when two finishers (the live path and the
 * sweeper) complete one request, the table's answer wins and IAM is made to agree with it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { ConflictError } from '../../src/errors.js';
import { ADMIN, accessDenied, grantRig, makeRequest, plusDays, START } from '../support/grant-fixtures.js';

let { store, iam, notifier, log, executor } = grantRig();
beforeEach(() => {
  ({ store, iam, notifier, log, executor } = grantRig());
});

describe('GrantExecutor.complete: a new grant', () => {
  it('adds the user to the group and moves APPROVED → ACTIVE with expiresAt = now + durationDays', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('ACTIVE');
    expect(done.expiresAt).toBe(plusDays(START, 7));
    expect(done.expiresAt).toBe('2025-10-08T12:00:00.000Z');
    expect(done.version).toBe(approved.version + 1);
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
    expect(await store.get(approved.id)).toMatchObject({ status: 'ACTIVE', expiresAt: done.expiresAt, version: done.version });
    expect(done.failure).toBeUndefined();
  });

  it('uses the request duration', async () => {
    const approved = makeRequest({ durationDays: 30, level: 'full', groupName: 'BillingFull' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.expiresAt).toBe(plusDays(START, 30));
    expect(iam.added).toEqual([['jane.doe', 'BillingFull']]);
  });

  it('records an APPROVED → ACTIVE audit event by the actor', async () => {
    const approved = makeRequest();
    store.seed(approved);
    await executor.complete(approved, ADMIN);
    const events = await store.auditEvents(approved.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from: 'APPROVED', to: 'ACTIVE', actor: ADMIN, at: START });
    expect(events[0]?.detail).toContain('BillingReadOnly');
  });

  it('tells the admin channel and the requester about the ACTIVE grant, then clears the notice', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(notifier.updated.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(notifier.notified.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(done.noticeDue).toBe('DUE');
    expect((await store.get(approved.id))?.noticeDue).toBeUndefined();
  });

  it('marks the audit detail in dry-run', async () => {
    iam.dryRun = true;
    const approved = makeRequest({ dryRun: true });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.auditEvents(approved.id))[0]?.detail).toContain('[dry-run]');
  });

  it('a Slack failure after the grant does not undo it', async () => {
    notifier.updateError = new Error('channel_not_found');
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.get(approved.id))?.status).toBe('ACTIVE');
    expect(notifier.notified.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(log.error).toHaveBeenCalled();
    expect((await store.get(approved.id))?.noticeDue).toBe('DUE');
    expect(await store.listNoticeDue(START)).toHaveLength(1);
  });

  it('a second runner with the same APPROVED item loses with ConflictError and leaves the grant ACTIVE', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const first = await executor.complete(approved, ADMIN);
    const err = await executor.complete(approved, 'U0OTHERADMIN').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError<AccessRequest>).current?.status).toBe('ACTIVE');
    expect(await store.get(approved.id)).toMatchObject({ status: 'ACTIVE', version: first.version, expiresAt: first.expiresAt });
  });
});

describe('GrantExecutor.complete: two finishers of one request (the live path and the sweeper)', () => {
  it('the one whose add failed writes FAILED first; the other, whose add reached IAM, loses its write and takes its add back', async () => {
    const approved = makeRequest();
    store.seed(approved);
    iam.addError = accessDenied();
    const failed = await executor.complete(structuredClone(approved), ADMIN);
    expect(failed.status).toBe('FAILED');

    iam.addError = undefined;
    const err = await executor.complete(structuredClone(approved), 'system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    // The table says FAILED: the add that still reached IAM is taken back, and that is on the audit trail.
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
    expect(iam.removed.at(-1)).toEqual(['jane.doe', 'BillingReadOnly']);
    expect((await store.get(approved.id))?.status).toBe('FAILED');
    const notes = (await store.auditEvents(approved.id)).filter((e) => e.from === 'FAILED' && e.to === 'FAILED');
    expect(notes.map((e) => e.detail).join(' | ')).toContain("a second attempt's add reached IAM after the request was FAILED");
  });

  it('the one whose add failed after the other wrote ACTIVE loses its FAILED write and leaves the membership alone', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const active = await executor.complete(structuredClone(approved), 'system');
    expect(active.status).toBe('ACTIVE');

    iam.addError = accessDenied();
    const err = await executor.complete(structuredClone(approved), ADMIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(iam.removed).toEqual([]);
    expect((await store.get(approved.id))?.status).toBe('ACTIVE');
  });

  it('a request that is no longer APPROVED is returned as it is, with no IAM call', async () => {
    const active = makeRequest({ status: 'ACTIVE', expiresAt: plusDays(START, 7) });
    store.seed(active);
    expect((await executor.complete(active, ADMIN)).status).toBe('ACTIVE');
    expect(iam.added).toEqual([]);
  });
});
