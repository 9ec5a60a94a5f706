/**
 * A holder asking again for the level they hold: the request is an extension, and approving it
 * moves the grant's expiry (capped at now + MAX_DURATION_DAYS) without a second AddUserToGroup.
 */
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { admin1, admin2, adminMessageOf, at, DAY, deliveredGrant, employee, HOUR, MINUTE, T0, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';

describe('grant lifecycle: extension', () => {
  const { clock, start } = useClockedHarness();

  it('a holder asking for the level again gets an extension: expiry moves by n days, the request is EXTENDED, no second AddUserToGroup', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October');
    const oldExpiry = grant.expiresAt as string;
    expect(oldExpiry).toBe(at(T0, 7 * DAY));
    const grantMessage = adminMessageOf(h, grant);

    clock.advanceDays(1);
    const res = await h.command(employee, 'read-only 30d the audit needs another month');
    const confirmation = await h.waitForReply(res.key);
    expect(confirmation).toMatch(/Extension request/);
    await h.idle();
    const [extension] = await h.requestsOf(employee);
    expect(extension?.id).not.toBe(grant.id);
    expect(extension?.extendsRequestId).toBe(grant.id);
    expect(extension?.status).toBe('PENDING');
    expect(h.adminMessages()).toHaveLength(2);
    const extensionMessage = adminMessageOf(h, extension as AccessRequest);
    expect(extensionMessage?.text).toContain('extension');
    expect(buttonLabels(extensionMessage)).toEqual(['Approve', 'Deny']);

    clock.advanceHours(1);
    await h.click(admin2.id, 'approve', (extension as AccessRequest).id);
    const extended = await h.waitForStatus((extension as AccessRequest).id, 'EXTENDED');
    await h.idle();

    const moved = await stored(h, grant.id);
    expect(moved.status).toBe('ACTIVE');
    expect(moved.expiresAt).toBe(at(oldExpiry, 30 * DAY));
    expect(extended.expiresAt).toBe(moved.expiresAt);
    expect(extended.decidedBy).toBe(admin2.id);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');

    expect((await h.bot.deps.store.auditEvents(extended.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'EXTENDED']);
    const grantEvents = await h.bot.deps.store.auditEvents(grant.id);
    expect(grantEvents.at(-1)).toMatchObject({ from: 'ACTIVE', to: 'ACTIVE' });
    expect(grantEvents.at(-1)?.detail).toContain(extended.id);

    const dms = h.dms(employee);
    expect(dms).toHaveLength(2);
    expect(messageContent(dms[1])).toContain(moved.expiresAt as string);
    expect(buttonLabels(adminMessageOf(h, extended))).toEqual([]);
    expect(adminMessageOf(h, extended)?.text).toContain(`Approved by <@${admin2.id}>`);
    expect(grantMessage).toBeTruthy();

    // The moved expiry is the one the sweeper obeys.
    clock.set(at(oldExpiry, HOUR));
    expect((await h.sweep()).expired).toBe(0);
    expect((await stored(h, grant.id)).status).toBe('ACTIVE');
    clock.set(at(moved.expiresAt as string, MINUTE));
    expect((await h.sweep()).expired).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
  });

  it('an extension is capped at now + MAX_DURATION_DAYS', async () => {
    const h = await start({ env: { MAX_DURATION_DAYS: '40' } });
    const grant = await deliveredGrant(h, employee, 'read-only 30d month-end close for October');
    expect(grant.expiresAt).toBe(at(T0, 30 * DAY));

    clock.advanceDays(1);
    const extension = await pendingRequest(h, employee, 'read-only 30d the audit needs another month');
    expect(extension.extendsRequestId).toBe(grant.id);

    clock.advanceHours(1);
    const approvedAt = clock.now().toISOString();
    await h.click(admin1.id, 'approve', extension.id);
    const extended = await h.waitForStatus(extension.id, 'EXTENDED');
    await h.idle();

    const moved = await stored(h, grant.id);
    expect(moved.expiresAt).toBe(at(approvedAt, 40 * DAY));
    expect(extended.expiresAt).toBe(moved.expiresAt);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
  });
});
