/**
 * GrantExecutor.complete refusing or failing a grant: IAM denies the add, or the group guard finds
 * the group holding more than its level's policy (extra managed or inline policies, a customer-
 * managed policy that allows more than billing, policies it could not read). The request goes
 * FAILED with the reason and the user is never added; a Retry can still complete it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { retry } from '../../src/domain/transitions.js';
import { IamUnavailableError } from '../../src/errors.js';
import { ADMIN, accessDenied, CUSTOM_ARN, FULL_ARN, grantRig, makeRequest, READ_ONLY_ARN, START } from '../support/grant-fixtures.js';

let { store, iam, notifier, executor } = grantRig();
beforeEach(() => {
  ({ store, iam, notifier, executor } = grantRig());
});

describe('GrantExecutor.complete: failures', () => {
  it('moves APPROVED → FAILED with the IAM error name and message when AddUserToGroup is denied', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('AccessDenied');
    expect(done.failure?.message).toContain('not authorized to perform: iam:AddUserToGroup');
    expect(done.failure?.at).toBe(START);
    expect(done.expiresAt).toBeUndefined();
    expect(await store.get(approved.id)).toMatchObject({ status: 'FAILED', failure: done.failure, version: done.version });
    const events = await store.auditEvents(approved.id);
    expect(events[0]).toMatchObject({ from: 'APPROVED', to: 'FAILED', actor: ADMIN });
    expect(events[0]?.detail).toContain('AccessDenied');
  });

  it('tells the admin channel and the requester about the failure', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    await executor.complete(approved, ADMIN);
    expect(notifier.updated.map((r) => r.status)).toEqual(['FAILED']);
    expect(notifier.updated[0]?.failure?.name).toBe('AccessDenied');
    expect(notifier.notified.map((r) => r.status)).toEqual(['FAILED']);
  });

  it('refuses a group holding an extra managed policy: FAILED naming it, never added', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN, 'arn:aws:iam::aws:policy/AdministratorAccess'], inlinePolicyNames: [] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('GroupPolicyMismatch');
    expect(done.failure?.message).toContain('arn:aws:iam::aws:policy/AdministratorAccess');
    expect(iam.added).toEqual([]);
    expect(notifier.notified.map((r) => r.status)).toEqual(['FAILED']);
  });

  it('refuses a group holding an inline policy: FAILED naming it, never added', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: ['allow-everything'] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain('allow-everything');
    expect(done.failure?.message.toLowerCase()).toContain('inline');
    expect(iam.added).toEqual([]);
  });

  it('refuses a group that lost its expected policy (or holds another level’s)', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [FULL_ARN], inlinePolicyNames: [] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain(READ_ONLY_ARN);
    expect(done.failure?.message).toContain(FULL_ARN);
    expect(iam.added).toEqual([]);
  });

  it('never grants when the group policies could not be read', async () => {
    iam.policiesError = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('Throttling');
    expect(iam.added).toEqual([]);
  });

  it('grants while a customer-managed policy allows billing only; once its default version allows "*": FAILED naming it, never added', async () => {
    const first = makeRequest({ id: '01K6FZ0000AAAAAAAAAAAAAAAY', level: 'custom', groupName: 'BillingCustom' });
    store.seed(first);
    expect((await executor.complete(first, ADMIN)).status).toBe('ACTIVE');
    expect(iam.added).toEqual([['jane.doe', 'BillingCustom']]);
    iam.added.length = 0;

    iam.versions.set(CUSTOM_ARN, {
      policyArn: CUSTOM_ARN,
      versionId: 'v2',
      document: { Version: '2012-10-17', Statement: [{ Sid: 'Edited', Effect: 'Allow', Action: '*', Resource: '*' }] },
    });
    const approved = makeRequest({ level: 'custom', groupName: 'BillingCustom' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('GroupPolicyMismatch');
    expect(done.failure?.message).toContain(`${CUSTOM_ARN} (default version v2) statement 1 (Edited) allows *`);
    expect(iam.added).toEqual([]);
  });

  it('refuses NotAction, another namespace and account:* in a customer-managed policy', async () => {
    const statements = [
      { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
      { Effect: 'Allow', Action: ['ce:Get*', 'iam:PassRole'], Resource: '*' },
      { Effect: 'Allow', Action: 'account:*', Resource: '*' },
    ];
    for (const [i, statement] of statements.entries()) {
      iam.versions.set(CUSTOM_ARN, { policyArn: CUSTOM_ARN, versionId: `v${i + 2}`, document: { Version: '2012-10-17', Statement: [statement] } });
      const approved = makeRequest({ id: `01K6FZ0000AAAAAAAAAAAAAAA${i}`, level: 'custom', groupName: 'BillingCustom' });
      store.seed(approved);
      const done = await executor.complete(approved, ADMIN);
      expect(done.status, JSON.stringify(statement)).toBe('FAILED');
      expect(done.failure?.message).toMatch(/NotAction|iam:PassRole|account:\*/);
    }
    expect(iam.added).toEqual([]);
  });

  it('never grants when the default version could not be read; dry-run goes on, marked "not checked"', async () => {
    iam.versionError = new IamUnavailableError('reading the default version', Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const live = makeRequest({ level: 'custom', groupName: 'BillingCustom' });
    store.seed(live);
    const failed = await executor.complete(live, ADMIN);
    expect(failed.status).toBe('FAILED');
    expect(failed.failure?.name).toBe('IamUnavailableError');
    expect(iam.added).toEqual([]);

    iam.dryRun = true;
    const dry = makeRequest({ id: '01K6FZ0000AAAAAAAAAAAAAAAZ', level: 'custom', groupName: 'BillingCustom', dryRun: true });
    store.seed(dry);
    const done = await executor.complete(dry, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.auditEvents(dry.id))[0]?.detail).toContain('group policies not checked: AccessDenied');
  });

  it('refuses a level/group pair that is not configured', async () => {
    const approved = makeRequest({ level: 'read-only', groupName: 'BillingFull' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(iam.added).toEqual([]);
  });

  it('a FAILED request retried (FAILED → APPROVED) then completes to ACTIVE', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    const failed = await executor.complete(approved, ADMIN);
    const retried = await store.update(failed, retry(failed, ADMIN, START));
    iam.addError = undefined;
    const done = await executor.complete(retried, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect(done.failure).toBeUndefined();
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
  });
});
