/**
 * IAM faults at the HTTP level (issue 14, point 1): the tests' AWS proxy answers the bot's IAM
 * calls with throttling, AccessDenied and NoSuchEntity in IAM's own error shape, leaves a call
 * unanswered past the client's timeout, or resets its connection before or after it reached
 * IAM. Each case is checked request by request: the table, IAM group membership, and what the
 * requester and the admins were told (PRODUCT §1 "Decide (admin)", "Expire and revoke", §3).
 */
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { InjectedError } from '../../testkit/aws-proxy.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import { admin1, admin2, adminMessageOf, DAY, deliveredGrant, employee, HOUR, threadOf, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { buttonLabels, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';

const GROUP = 'BillingReadOnly';
const ASK = 'read-only 7d month-end close for October';
/** The bot's IAM client makes up to 5 attempts (src/deps.ts openIam). */
const SDK_ATTEMPTS = 5;

const throttling: InjectedError = { status: 400, code: 'Throttling', message: 'Rate exceeded' };
const accessDenied: InjectedError = {
  status: 403,
  code: 'AccessDenied',
  message: 'User: arn:aws:sts::123456789012:assumed-role/BillingBot/i-0abc is not authorized to perform: iam:AddUserToGroup',
};
const noSuchEntity: InjectedError = { status: 404, code: 'NoSuchEntity', message: 'The user with name jane.doe cannot be found.' };

/** Pieces of raw AWS error text that must never reach an employee (§3). */
const RAW_AWS_TEXT = ['arn:aws', '123456789012', 'assumed-role', 'AccessDenied', 'NoSuchEntity', 'Throttling', 'Rate exceeded'];

const inGroup = async (h: Harness) => (await groupsOf(h.iam, 'jane.doe')).includes(GROUP);

/** Approves and waits until the click's work is done; the request as stored then. */
async function approveAndSettle(h: Harness, request: AccessRequest, approver = admin1.id, action: 'approve' | 'retry' = 'approve'): Promise<AccessRequest> {
  expect((await h.click(approver, action, request.id)).status).toBe(200);
  await h.idle();
  return stored(h, request.id);
}

/**
 * A FAILED approval as PRODUCT §1 wants it: the error's name and message on the request and in
 * the admin message with a Retry button, the requester told once (no raw AWS text), and nobody
 * left in the group.
 */
async function expectFailedClearly(h: Harness, failed: AccessRequest, error: { name: string; message: string }): Promise<void> {
  expect(failed.status).toBe('FAILED');
  expect(failed.failure?.name).toBe(error.name);
  expect(failed.failure?.message).toContain(error.message);
  // A failed add may have reached IAM: the bot has confirmed the user is out again.
  expect(failed.failure?.membershipUnknown).toBeFalsy();
  expect(await inGroup(h)).toBe(false);
  expect(failed.expiresAt).toBeUndefined();

  await h.slack.waitFor(() => h.dms(employee).length > 0);
  const message = adminMessageOf(h, failed);
  expect(message?.text).toContain(error.name);
  expect(messageContent(message)).toContain(error.message);
  expect(buttonLabels(message)).toEqual(['Retry']);
  expect(h.adminMessages()).toHaveLength(1);

  const dms = h.dms(employee);
  expect(dms).toHaveLength(1);
  const told = messageContent(dms[0]);
  expect(told).toMatch(/did not go through/);
  expect(told).toContain(failed.id);
  for (const raw of RAW_AWS_TEXT) expect(told, `the requester saw "${raw}"`).not.toContain(raw);
}

/** Retry after the fault cleared: ACTIVE, in the group, the admin message approved, the requester told of the grant. */
async function expectRetryGrants(h: Harness, request: AccessRequest): Promise<AccessRequest> {
  const active = await approveAndSettle(h, request, admin2.id, 'retry');
  expect(active.status).toBe('ACTIVE');
  expect(active.expiresAt).toBeTruthy();
  expect(await inGroup(h)).toBe(true);
  await h.slack.waitFor(() => h.dms(employee).length === 2);
  expect(messageContent(h.dms(employee)[1])).toMatch(/active until/);
  const message = adminMessageOf(h, active);
  expect(message?.text).toContain(`Approved by <@${admin1.id}>`);
  expect(buttonLabels(message)).toEqual(['Revoke']);
  const events = await h.bot.deps.store.auditEvents(request.id);
  // The second FAILED is the bot confirming, after the failed add, that the user is out of the group.
  expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'FAILED', 'APPROVED', 'ACTIVE']);
  return active;
}

describe('IAM faults during an approval', () => {
  const { start } = useClockedHarness();

  it('AddUserToGroup throttled twice: the SDK retries absorb it, ACTIVE, no error shown to anyone', async () => {
    const s = scenario({ id: 'iam-throttle-absorbed-by-retries', area: 'IAM', injected: 'AddUserToGroup answers Throttling (400) 2 times' });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.failNext('AddUserToGroup', throttling, { times: 2 });

    const active = await approveAndSettle(h, request);
    expect(active.status).toBe('ACTIVE');
    expect(active.failure).toBeUndefined();
    expect(h.iamProxy.failed('AddUserToGroup')).toBe(2);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    expect(await inGroup(h)).toBe(true);

    await h.slack.waitFor(() => h.dms(employee).length === 1);
    expect(messageContent(h.dms(employee)[0])).toMatch(/active until/);
    const message = adminMessageOf(h, active);
    expect(message?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(messageContent(message)).not.toContain('Throttling');
    expect(buttonLabels(message)).toEqual(['Revoke']);
    expect(h.ephemeralsFor(admin1.id)).toHaveLength(0);
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    s.held({
      times: 2,
      userSaw: 'admin: "Approved by" with a Revoke button, no error; requester: the grant DM',
      finalState: 'ACTIVE, in the group',
      lost: 'nothing',
    });
  });

  it('AddUserToGroup throttled on every attempt: FAILED with Retry after the SDK gave up; Retry after the fault cleared grants once', async () => {
    const s = scenario({
      id: 'iam-throttle-past-retries-then-retry',
      area: 'IAM',
      injected: `AddUserToGroup answers Throttling (400) ${SDK_ATTEMPTS} times (every attempt of one call)`,
    });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.failNext('AddUserToGroup', throttling, { times: SDK_ATTEMPTS });

    const failed = await approveAndSettle(h, request);
    // Every attempt the SDK made met the throttle; none reached IAM.
    expect(h.iamProxy.count('AddUserToGroup')).toBe(SDK_ATTEMPTS);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    await expectFailedClearly(h, failed, { name: 'Throttling', message: 'Rate exceeded' });

    await expectRetryGrants(h, failed);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    s.held({
      times: SDK_ATTEMPTS,
      userSaw: 'admin: Throttling and its message in the admin message with a Retry button; requester: one DM "did not go through" with the request id',
      finalState: 'FAILED and not in the group; after Retry, ACTIVE and in the group once',
      lost: 'nothing',
    });
  });

  it('AccessDenied on AddUserToGroup: FAILED at once (not retried), nobody in the group; Retry after the role is fixed grants once', async () => {
    const s = scenario({ id: 'iam-access-denied-mid-approval', area: 'IAM', injected: 'AddUserToGroup answers AccessDenied (403) once' });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.failNext('AddUserToGroup', accessDenied);

    const failed = await approveAndSettle(h, request);
    // Not a retryable error: one attempt, answered by the fault.
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    await expectFailedClearly(h, failed, { name: 'AccessDenied', message: accessDenied.message });

    await expectRetryGrants(h, failed);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    s.held({
      times: 1,
      userSaw: 'admin: AccessDenied and the AWS text in the admin message with a Retry button; requester: one DM "did not go through", no AWS text',
      finalState: 'FAILED and not in the group; after Retry, ACTIVE and in the group once',
      lost: 'nothing',
    });
  });

  it('NoSuchEntity on AddUserToGroup (the user vanished mid-approval): FAILED, nobody in the group, nothing granted twice', async () => {
    const s = scenario({ id: 'iam-no-such-entity-mid-approval', area: 'IAM', injected: 'AddUserToGroup answers NoSuchEntity (404) once' });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.failNext('AddUserToGroup', noSuchEntity);

    const failed = await approveAndSettle(h, request);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    await expectFailedClearly(h, failed, { name: 'NoSuchEntityException', message: noSuchEntity.message });

    // A second click on the failed request is no second approval: nothing more reaches IAM.
    expect((await h.click(admin2.id, 'approve', request.id)).status).toBe(200);
    await h.idle();
    expect((await stored(h, request.id)).status).toBe('FAILED');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);

    await expectRetryGrants(h, failed);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    s.held({
      times: 1,
      userSaw: 'admin: NoSuchEntityException and "cannot be found" with a Retry button; requester: one DM "did not go through"',
      finalState: 'FAILED and not in the group; a second Approve changes nothing; after Retry, ACTIVE once',
      lost: 'nothing',
    });
  });

  it('AddUserToGroup unanswered past the client timeout: the SDK gives up on it and tries again; ACTIVE, in the group', async () => {
    const s = scenario({
      id: 'iam-add-timeout-absorbed',
      area: 'IAM',
      injected: 'AddUserToGroup never answered once (held past the 5 s request timeout)',
    });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.faultNext('AddUserToGroup', { kind: 'stall' });

    const active = await approveAndSettle(h, request);
    // Without a request timeout on the IAM client the approval would wait on the stalled call for good.
    expect(h.iamProxy.stalledCount('AddUserToGroup')).toBe(1);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    expect(active.status).toBe('ACTIVE');
    expect(await inGroup(h)).toBe(true);
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
    s.held({
      times: 1,
      userSaw: 'admin: "Approved by", no error; requester: the grant DM, about 5 s later than usual',
      finalState: 'ACTIVE, in the group',
      lost: 'nothing',
    });
  });

  it('AddUserToGroup connection reset before it left: the SDK retries; ACTIVE, added once', async () => {
    const s = scenario({ id: 'iam-add-reset-absorbed', area: 'IAM', injected: 'AddUserToGroup connection reset before reaching IAM, once' });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.faultNext('AddUserToGroup', { kind: 'reset' });

    const active = await approveAndSettle(h, request);
    expect(h.iamProxy.resetCount('AddUserToGroup')).toBe(1);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(1);
    expect(active.status).toBe('ACTIVE');
    expect(await inGroup(h)).toBe(true);
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    expect(buttonLabels(adminMessageOf(h, active))).toEqual(['Revoke']);
    s.held({ times: 1, userSaw: 'admin: "Approved by", no error; requester: the grant DM', finalState: 'ACTIVE, in the group', lost: 'nothing' });
  });

  it('AddUserToGroup reaches IAM but every answer is lost to a reset: FAILED, the bot takes the user out again; Retry grants', async () => {
    const s = scenario({
      id: 'iam-add-reset-after-reaching-iam',
      area: 'IAM',
      injected: `AddUserToGroup applied in IAM, then its connection reset instead of the answer, ${SDK_ATTEMPTS} times`,
    });
    const h = await start();
    const request = await pendingRequest(h, employee, ASK);
    h.iamProxy.faultNext('AddUserToGroup', { kind: 'reset-after' }, { times: SDK_ATTEMPTS });

    const failed = await approveAndSettle(h, request);
    expect(h.iamProxy.resetCount('AddUserToGroup')).toBe(SDK_ATTEMPTS);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(SDK_ATTEMPTS);
    // The add did reach IAM: the FAILED request must not leave the user in the group.
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(1);
    expect(failed.status).toBe('FAILED');
    expect(failed.failure?.membershipUnknown).toBeFalsy();
    expect(await inGroup(h)).toBe(false);
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    expect(buttonLabels(adminMessageOf(h, failed))).toEqual(['Retry']);
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.detail).join('\n')).toMatch(/removed jane\.doe from BillingReadOnly/);

    await expectRetryGrants(h, failed);
    s.held({
      times: SDK_ATTEMPTS,
      userSaw: 'admin: the connection error with a Retry button; requester: one DM "did not go through"',
      finalState: 'FAILED and taken out of the group again (audited); after Retry, ACTIVE and in the group',
      lost: 'nothing',
    });
  });
});

describe('IAM faults during an expiry', () => {
  const { clock, start } = useClockedHarness();

  /** jane's 1-day grant, delivered, and the clock past its expiry. */
  async function dueGrant(h: Harness): Promise<AccessRequest> {
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    expect(await inGroup(h)).toBe(true);
    clock.advance(DAY + HOUR);
    return grant;
  }

  /** The grant ended by expiry: out of the group, EXPIRED, the holder and the admin thread told once. */
  async function expectExpiredOnce(h: Harness, grant: AccessRequest): Promise<void> {
    const expired = await stored(h, grant.id);
    expect(expired.status).toBe('EXPIRED');
    expect(expired.endedBy).toBe('system');
    expect(await inGroup(h)).toBe(false);
    const dms = h.dms(employee);
    expect(dms).toHaveLength(2);
    expect(messageContent(dms[1])).toMatch(/expired/);
    expect(threadOf(h, grant)).toHaveLength(1);
    expect((await h.bot.deps.store.auditEvents(grant.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE', 'EXPIRED']);
  }

  it('RemoveUserFromGroup unanswered past the client timeout: the SDK tries again and the grant ends within the same sweep', async () => {
    const s = scenario({
      id: 'iam-remove-timeout-expiry',
      area: 'IAM',
      injected: 'RemoveUserFromGroup never answered once during an expiry (held past the 5 s request timeout)',
    });
    const h = await start();
    const grant = await dueGrant(h);
    h.iamProxy.faultNext('RemoveUserFromGroup', { kind: 'stall' });

    const report = await h.sweep();
    expect(report.expired).toBe(1);
    expect(report.errors).toBe(0);
    expect(h.iamProxy.stalledCount('RemoveUserFromGroup')).toBe(1);
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(1);
    await h.idle();
    await expectExpiredOnce(h, grant);
    s.held({
      times: 1,
      userSaw: 'requester: one expiry DM; admins: one reply in the thread',
      finalState: 'EXPIRED within one sweep, out of the group',
      lost: 'nothing',
    });
  });

  it('RemoveUserFromGroup reset on every attempt: the grant stays ACTIVE and due, nobody is told; the next sweep ends it once', async () => {
    const s = scenario({
      id: 'iam-remove-reset-expiry-owed',
      area: 'IAM',
      injected: `RemoveUserFromGroup connection reset ${SDK_ATTEMPTS} times during an expiry (every attempt of one call)`,
    });
    const h = await start();
    const grant = await dueGrant(h);
    h.iamProxy.faultNext('RemoveUserFromGroup', { kind: 'reset' }, { times: SDK_ATTEMPTS });

    const first = await h.sweep();
    expect(first.expired).toBe(0);
    expect(first.errors).toBe(1);
    expect(h.iamProxy.resetCount('RemoveUserFromGroup')).toBe(SDK_ATTEMPTS);
    await h.idle();
    // Still owed: ACTIVE with its expiry past, where the sweeper's index query finds it.
    const owed = await stored(h, grant.id);
    expect(owed.status).toBe('ACTIVE');
    expect((await h.bot.deps.store.listExpiring('ACTIVE', clock.now().toISOString())).map((r) => r.id)).toEqual([grant.id]);
    expect(h.dms(employee)).toHaveLength(1);
    expect(threadOf(h, grant)).toHaveLength(0);

    const second = await h.sweep();
    expect(second.expired).toBe(1);
    expect(second.errors).toBe(0);
    await h.idle();
    await expectExpiredOnce(h, grant);
    s.held({
      times: SDK_ATTEMPTS,
      userSaw: 'nothing until the grant ended; then the requester one expiry DM and the admins one thread reply',
      finalState: 'ACTIVE and due after the failed sweep; EXPIRED and out of the group after the next',
      lost: 'nothing',
    });
  });

  it('RemoveUserFromGroup reaches IAM but its answer is lost to a reset once: the retry finds the user gone, EXPIRED in the same sweep', async () => {
    const s = scenario({
      id: 'iam-remove-reset-after-reaching-iam',
      area: 'IAM',
      injected: 'RemoveUserFromGroup applied in IAM, then its connection reset instead of the answer, once',
    });
    const h = await start();
    const grant = await dueGrant(h);
    h.iamProxy.faultNext('RemoveUserFromGroup', { kind: 'reset-after' });

    const report = await h.sweep();
    expect(report.expired).toBe(1);
    expect(report.errors).toBe(0);
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(2);
    await h.idle();
    await expectExpiredOnce(h, grant);
    s.held({
      times: 1,
      userSaw: 'requester: one expiry DM; admins: one reply in the thread',
      finalState: 'EXPIRED within one sweep, out of the group',
      lost: 'nothing',
    });
  });
});
