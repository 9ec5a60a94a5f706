/**
 * An ACTIVE grant reaching its end by time: the sweeper expires it, takes the IAM user out of the
 * group unless another ACTIVE grant still needs it, and tells the holder and the admin thread,
 * once, however sweeps, replicas, retries and approved extensions interleave with it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AttachGroupPolicyCommand, DetachGroupPolicyCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import {
  admin1,
  admin2,
  adminMessageOf,
  at,
  DAY,
  deliveredGrant,
  employee,
  HOUR,
  MINUTE,
  NOTHING_DONE,
  quiet,
  T0,
  threadOf,
  useClockedHarness,
} from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';

const TABLE = 'billing-access-test';

async function approve(h: Harness, requestId: string, approver: string = admin1.id): Promise<AccessRequest> {
  const res = await h.click(approver, 'approve', requestId);
  expect(res.status).toBe(200);
  await h.waitForStatus(requestId, 'ACTIVE');
  await h.idle();
  return stored(h, requestId);
}

/**
 * jane's request, approved by admin1 while the group lacked its policy, so FAILED (neither ACTIVE
 * nor PENDING); the policy is back when this returns, so a Retry can succeed.
 */
async function failedRequest(h: Harness, text: string): Promise<AccessRequest> {
  await h.iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
  const request = await pendingRequest(h, employee, text);
  await h.click(admin1.id, 'approve', request.id);
  await h.waitForStatus(request.id, 'FAILED');
  await h.idle();
  await h.iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
  return request;
}

describe('grant lifecycle: expiry', () => {
  const { clock, start } = useClockedHarness();

  it('expires a 1-day grant after 25 h: EXPIRED by system, out of the group, holder DM’d once, one thread reply, no Revoke button; a second sweep does nothing', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    expect(grant.expiresAt).toBe(at(T0, DAY));
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(buttonLabels(adminMessageOf(h, grant))).toEqual(['Revoke']);
    expect(h.dms(employee)).toHaveLength(1);

    clock.advanceHours(23);
    expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
    expect((await stored(h, grant.id)).status).toBe('ACTIVE');

    clock.set(at(T0, 25 * HOUR));
    const report = await h.sweep();
    expect(report.expired).toBe(1);
    expect(report.errors).toBe(0);

    const expired = await stored(h, grant.id);
    expect(expired.status).toBe('EXPIRED');
    expect(expired.endedBy).toBe('system');
    expect(expired.endedAt).toBe(at(T0, 25 * HOUR));
    expect(expired.noticeDue).toBeUndefined();
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);

    const dms = h.dms(employee);
    expect(dms).toHaveLength(2);
    expect(messageContent(dms[1])).toMatch(/expired/);
    expect(messageContent(dms[1])).toContain(grant.id);

    const thread = threadOf(h, grant);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.text).toContain('expired');
    expect(thread[0]?.text).toContain('BillingReadOnly');

    const message = adminMessageOf(h, grant);
    expect(buttonLabels(message)).toEqual([]);
    expect(message?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(message?.text).toContain('expired');
    expect(h.adminMessages()).toHaveLength(1);

    const events = await h.bot.deps.store.auditEvents(grant.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE', 'EXPIRED']);
    const last = events.at(-1);
    expect(last?.from).toBe('ACTIVE');
    expect(last?.actor).toBe('system');
    expect(last?.detail).toBe('removed jane.doe from BillingReadOnly');

    const callsBefore = h.slack.calls().length;
    const iamBefore = h.iamProxy.count('RemoveUserFromGroup');
    clock.advanceHours(1);
    expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
    expect(h.slack.calls().length).toBe(callsBefore);
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(iamBefore);
    expect(await h.bot.deps.store.auditEvents(grant.id)).toHaveLength(4);
    expect((await stored(h, grant.id)).version).toBe(expired.version);
  });

  it('a user already removed from the group by hand is not an error: EXPIRED, and the audit detail says so', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    await h.iam.send(new RemoveUserFromGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' }));
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');

    clock.advanceHours(25);
    const report = await h.sweep();
    expect(report.expired).toBe(1);
    expect(report.errors).toBe(0);

    const expired = await stored(h, grant.id);
    expect(expired.status).toBe('EXPIRED');
    expect(expired.endedBy).toBe('system');
    const last = (await h.bot.deps.store.auditEvents(grant.id)).at(-1);
    expect(last?.to).toBe('EXPIRED');
    expect(last?.detail).toMatch(/already removed/);
    expect(last?.detail).toContain('jane.doe');
    expect(h.dms(employee)).toHaveLength(2);
    expect(threadOf(h, grant)).toHaveLength(1);
  });

  it('two sweepers racing on the same due grant: exactly one EXPIRED audit event, one holder DM and one thread reply', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    const replica = await h.startReplica(clock);

    clock.advanceHours(25);
    const [a, b] = await Promise.all([h.sweep(), replica.deps.sweeper.sweep()]);
    expect(a.expired + b.expired).toBe(1);
    expect(a.errors + b.errors).toBe(0);

    const expired = await stored(h, grant.id);
    expect(expired.status).toBe('EXPIRED');
    const events = await h.bot.deps.store.auditEvents(grant.id);
    expect(events.filter((e) => e.to === 'EXPIRED')).toHaveLength(1);
    expect(h.dms(employee).filter((m) => /expired/.test(m.text))).toHaveLength(1);
    expect(h.dms(employee)).toHaveLength(2);
    expect(threadOf(h, grant)).toHaveLength(1);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');

    const [c, d] = await Promise.all([h.sweep(), replica.deps.sweeper.sweep()]);
    expect(quiet(c)).toEqual(NOTHING_DONE);
    expect(quiet(d)).toEqual(NOTHING_DONE);
    expect(h.dms(employee)).toHaveLength(2);
  });

  it('keeps the IAM user in a group another ACTIVE grant still needs; removes it when the last one expires', async () => {
    const h = await start();
    // Someone edits the group: jane's approval fails and leaves her request FAILED (not ACTIVE, not PENDING).
    const long = await failedRequest(h, 'read-only 7d month-end close for October');

    // jane asks again, for a 1-day grant on the same level: a new grant, not an extension (the failed one is not held).
    clock.advance(MINUTE);
    const short = await pendingRequest(h, employee, 'read-only 1d quarterly cost review');
    expect(short.iamUserName).toBe('jane.doe');
    expect(short.extendsRequestId).toBeUndefined();
    const shortActive = await approve(h, short.id, admin1.id);
    expect(shortActive.expiresAt).toBe(at(T0, MINUTE + DAY));

    // Retry of jane's failed request: a second ACTIVE grant of jane.doe in BillingReadOnly.
    clock.advance(MINUTE);
    await h.click(admin2.id, 'retry', long.id);
    await h.waitForStatus(long.id, 'ACTIVE');
    await h.idle();
    const longActive = await stored(h, long.id);
    expect(longActive.expiresAt).toBe(at(T0, 2 * MINUTE + 7 * DAY));
    const actives = (await h.bot.deps.store.listByIamUser('jane.doe')).filter((r) => r.status === 'ACTIVE' && r.groupName === 'BillingReadOnly');
    expect(actives.map((r) => r.id).sort()).toEqual([long.id, short.id].sort());
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');

    clock.set(at(T0, 25 * HOUR));
    const first = await h.sweep();
    expect(first.expired).toBe(1);
    expect(first.errors).toBe(0);
    expect((await stored(h, short.id)).status).toBe('EXPIRED');
    expect((await stored(h, long.id)).status).toBe('ACTIVE');
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(0);
    const kept = (await h.bot.deps.store.auditEvents(short.id)).at(-1);
    expect(kept?.to).toBe('EXPIRED');
    expect(kept?.detail).toContain('kept jane.doe in BillingReadOnly');
    expect(kept?.detail).toContain(long.id);
    expect(h.dms(employee).filter((m) => /expired/.test(m.text))).toHaveLength(1);

    clock.set(at(T0, 8 * DAY));
    const second = await h.sweep();
    expect(second.expired).toBe(1);
    expect(second.errors).toBe(0);
    expect((await stored(h, long.id)).status).toBe('EXPIRED');
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
    expect((await h.bot.deps.store.auditEvents(long.id)).at(-1)?.detail).toBe('removed jane.doe from BillingReadOnly');
    expect(h.dms(employee).filter((m) => /expired/.test(m.text))).toHaveLength(2);
  });

  it('does not leave an ACTIVE grant without its group when another grant of the same IAM user ends at the same moment', async () => {
    const h = await start();
    const later = await failedRequest(h, 'read-only 7d month-end close for October');

    clock.advance(MINUTE);
    const ending = await deliveredGrant(h, employee, 'read-only 1d quarterly cost review');

    // The sweeper has decided that nothing else needs the group and is removing jane.doe ...
    clock.advanceHours(25);
    h.iamProxy.hold('RemoveUserFromGroup');
    const sweep = h.sweep();
    await h.slack.waitFor(() => h.iamProxy.held('RemoveUserFromGroup') >= 1);

    // ... while an admin retries the other grant, which becomes ACTIVE.
    await h.click(admin2.id, 'retry', later.id);
    await h.waitForStatus(later.id, 'ACTIVE');
    await h.idle();
    h.iamProxy.release('RemoveUserFromGroup');
    const report = await sweep;
    expect(report.errors).toBe(0);
    expect((await stored(h, ending.id)).status).toBe('EXPIRED');
    expect((await stored(h, later.id)).status).toBe('ACTIVE');

    // PRODUCT §1: a user is removed from a group only if no other ACTIVE grant of theirs needs it.
    // Whatever the interleaving, once both writes are done the ACTIVE grant's member is in its group
    // (or the next sweep puts it back).
    await h.sweep();
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
  });

  it('an expiry that loses its write to an approved extension puts the user back in the group and audits the removal', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    clock.advanceHours(2);
    const extension = await pendingRequest(h, employee, 'read-only 7d the close runs late this month');
    expect(extension.extendsRequestId).toBe(grant.id);

    // The sweeper finds the grant due and takes jane.doe out of the group ...
    clock.set(at(T0, DAY + HOUR));
    h.iamProxy.hold('RemoveUserFromGroup');
    const sweep = h.sweep();
    await h.slack.waitFor(() => h.iamProxy.held('RemoveUserFromGroup') >= 1);
    // ... while an admin approves the extension, which moves the grant's expiry.
    await h.click(admin2.id, 'approve', extension.id);
    await h.waitForStatus(extension.id, 'EXTENDED');
    h.iamProxy.release('RemoveUserFromGroup');
    const report = await sweep;
    await h.idle();

    // The table is the truth: the grant is ACTIVE until its new expiry, so the user is back in the group.
    const now = await stored(h, grant.id);
    expect(now.status).toBe('ACTIVE');
    expect(now.expiresAt).toBe(at(T0, 8 * DAY));
    expect(report.expired).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
    // Both IAM changes are on the grant's audit trail; the status did not change.
    const notes = (await h.bot.deps.store.auditEvents(grant.id)).filter((e) => e.from === 'ACTIVE' && e.to === 'ACTIVE');
    expect(notes.map((e) => e.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/removed jane\.doe from BillingReadOnly, then lost the ending write.*re-added jane\.doe in BillingReadOnly/),
      ]),
    );
    // Nobody was told the access expired.
    expect(h.dms(employee).filter((m) => /expired/.test(m.text))).toHaveLength(0);
  });

  it('obeys an expiresAt an operator edited in the table: later is kept, past is expired by the next sweep', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const setExpiry = (expiresAt: string) =>
      doc.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { pk: `REQ#${grant.id}`, sk: 'REQUEST' },
          UpdateExpression: 'SET expiresAt = :e',
          ExpressionAttributeValues: { ':e': expiresAt },
        }),
      );
    try {
      await setExpiry(at(T0, 3 * DAY));
      clock.advanceHours(25);
      expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
      expect((await stored(h, grant.id)).status).toBe('ACTIVE');
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');

      await setExpiry(at(clock.now().toISOString(), -MINUTE));
      const report = await h.sweep();
      expect(report.expired).toBe(1);
      const expired = await stored(h, grant.id);
      expect(expired.status).toBe('EXPIRED');
      expect(expired.endedBy).toBe('system');
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    } finally {
      doc.destroy();
    }
  });
});
