/**
 * The in-memory RequestStore's conditional writes, which the GrantExecutor tests rely on: a stale
 * version or status loses with a conflict, undefined keys are removed, and a second pending
 * request for the same user and level is refused.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { activate, approve, fail, retry } from '../../src/domain/transitions.js';
import { ConflictError, RequestConflictError } from '../../src/errors.js';
import { ADMIN, makeRequest, START } from '../support/grant-fixtures.js';
import { MemoryRequestStore } from '../support/memory-store.js';

let store = new MemoryRequestStore();
beforeEach(() => {
  store = new MemoryRequestStore();
});

describe('MemoryRequestStore conditional writes', () => {
  it('throws ConflictError with the current item on a version mismatch', async () => {
    const request = makeRequest();
    store.seed(request);
    const updated = await store.update(request, activate(request, ADMIN, START, 'added'));
    expect(updated.version).toBe(request.version + 1);
    const err = await store.update(request, fail(request, ADMIN, START, { name: 'X', message: 'y', membershipUnknown: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestConflictError);
    expect((err as RequestConflictError).current).toEqual(updated);
  });

  it('throws ConflictError on a status mismatch at the same version', async () => {
    const request = makeRequest();
    store.seed(request);
    const pending = { ...request, status: 'PENDING' as const, approverIds: [], approvals: [] };
    await expect(store.update(pending, approve(pending, { by: ADMIN, at: START }))).rejects.toBeInstanceOf(RequestConflictError);
    expect((await store.get(request.id))?.status).toBe('APPROVED');
  });

  it('removes keys given as undefined and refuses a second pending request for the same user and level', async () => {
    const request = makeRequest({ status: 'FAILED', failure: { name: 'X', message: 'y', at: START } });
    store.seed(request);
    const next = await store.update(request, retry(request, ADMIN, START));
    expect('failure' in next).toBe(false);
    await store.create(makeRequest({ id: '01K6FZ2222DDDDDDDDDDDDDDDD', status: 'PENDING' }), { actor: 'U0EMPLOYEE', detail: 'asked' });
    await expect(
      store.create(makeRequest({ id: '01K6FZ3333EEEEEEEEEEEEEEEE', status: 'PENDING' }), { actor: 'U0EMPLOYEE', detail: 'asked' }),
    ).rejects.toBeInstanceOf(ConflictError);
  });
});
