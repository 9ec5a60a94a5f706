/**
 * GrantExecutor.complete on an extension: the held grant's expiry moves by n days (capped at now +
 * MAX_DURATION_DAYS) and the extension is EXTENDED, exactly once through crashes, re-runs and
 * concurrent writers, without adding the user again.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { ConflictError } from '../../src/errors.js';
import { GrantUnfinishedError } from '../../src/services/grant.js';
import { ADMIN, grantRig, MAX_DAYS, makeRequest, plusDays, READ_ONLY_ARN, START } from '../support/grant-fixtures.js';

const GRANT_ID = '01K5AB0000BBBBBBBBBBBBBBBB';
const EXTENSION_ID = '01K6FZ1111CCCCCCCCCCCCCCCC';

let { store, iam, notifier, clock, executor } = grantRig();
beforeEach(() => {
  ({ store, iam, notifier, clock, executor } = grantRig());
});

describe('GrantExecutor.complete: extensions', () => {
  function seedGrantAndExtension(grantExpiresInDays: number, extensionDays: number) {
    const grant = makeRequest({
      id: GRANT_ID,
      status: 'ACTIVE',
      createdAt: '2025-09-01T10:00:00.000Z',
      expiresAt: plusDays(START, grantExpiresInDays),
      version: 3,
    });
    const extension = makeRequest({ id: EXTENSION_ID, extendsRequestId: GRANT_ID, durationDays: extensionDays });
    store.seed(grant, extension);
    return { grant, extension };
  }

  it('moves the held grant’s expiry by n days and marks the extension EXTENDED, without adding the user again', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    const done = await executor.complete(extension, ADMIN);

    const expected = plusDays(START, 10);
    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(expected);
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.status).toBe('ACTIVE');
    expect(storedGrant?.expiresAt).toBe(expected);
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect((await store.get(extension.id))?.status).toBe('EXTENDED');
    expect(iam.added).toEqual([]);
    expect(notifier.notified.map((r) => r.status)).toEqual(['EXTENDED']);
    expect(notifier.updated.map((r) => r.id)).toContain(EXTENSION_ID);
  });

  it('caps the new expiry at now + MAX_DURATION_DAYS', async () => {
    const { grant, extension } = seedGrantAndExtension(80, 30);
    const done = await executor.complete(extension, ADMIN);

    const capped = plusDays(START, MAX_DAYS);
    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(capped);
    expect((await store.get(grant.id))?.expiresAt).toBe(capped);
  });

  it('uses current + n days when that is exactly now + MAX', async () => {
    const { extension } = seedGrantAndExtension(60, 30);
    expect((await executor.complete(extension, ADMIN)).expiresAt).toBe(plusDays(START, MAX_DAYS));
  });

  it('after a crash between moving the grant and marking the extension, a re-run does not extend twice', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    // The process dies right after the grant's expiry moved: every later write for the extension is lost.
    store.crashWhen = (expected) => expected.id === EXTENSION_ID;
    // Both of the extension's writes fail: the clicker is told it is stored and finished later, the cause kept.
    const err = await executor.complete(extension, ADMIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrantUnfinishedError);
    expect((err as Error).cause).toMatchObject({ message: expect.stringContaining('simulated crash') });

    const afterCrash = await store.get(grant.id);
    expect(afterCrash?.expiresAt).toBe(plusDays(START, 10));
    expect(afterCrash?.appliedExtensions).toEqual([EXTENSION_ID]);
    const stuck = await store.get(extension.id);
    expect(stuck?.status).toBe('APPROVED');

    // The next sweep, an hour later, finishes the APPROVED extension.
    store.crashWhen = undefined;
    clock.set(plusDays(START, 1 / 24));
    const done = await executor.complete(stuck as AccessRequest, 'system');

    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(plusDays(START, 10));
    const finalGrant = await store.get(grant.id);
    expect(finalGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(finalGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect(finalGrant?.version).toBe(afterCrash?.version);
    expect(iam.added).toEqual([]);
  });

  it('running complete twice with the same extension item extends once (the second loses)', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    await executor.complete(extension, ADMIN);
    const again = await executor.complete(extension, ADMIN).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect((await store.get(extension.id))?.status).toBe('EXTENDED');
  });

  it('retries when the grant changed meanwhile, and still extends once', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    // Another writer touches the grant between the executor's read and its write, once.
    let touched = false;
    store.crashWhen = (expected) => {
      if (expected.id === GRANT_ID && !touched) {
        touched = true;
        const current = store.items.get(GRANT_ID) as AccessRequest;
        store.items.set(GRANT_ID, { ...current, version: current.version + 1 });
      }
      return false;
    };
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('EXTENDED');
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
  });

  it('fails the extension when the grant it extends is no longer active', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    store.items.set(grant.id, { ...grant, status: 'EXPIRED', endedAt: START, endedBy: 'system' });
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain(GRANT_ID);
    expect((await store.get(grant.id))?.expiresAt).toBe(grant.expiresAt);
    expect(iam.added).toEqual([]);
  });

  it('checks the group policies for an extension too', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: ['backdoor'] });
    const { grant, extension } = seedGrantAndExtension(3, 7);
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain('backdoor');
    expect((await store.get(grant.id))?.expiresAt).toBe(grant.expiresAt);
  });
});
