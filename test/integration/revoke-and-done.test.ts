/**
 * An ACTIVE grant ended before its time: by an admin (the revoke command or the Revoke button) or
 * by its holder (/request-billing done). Only admins may revoke; the holder leaves the group, is
 * told, and a replayed revoke changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import {
  admin2,
  admin3,
  adminMessageOf,
  at,
  deliveredGrant,
  employee,
  HOUR,
  outsider,
  T0,
  threadOf,
  useClockedHarness,
} from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, stored } from '../support/scenario-helpers.js';

describe('grant lifecycle: revoke and done', () => {
  const { clock, start } = useClockedHarness();

  it('an admin revokes with /request-billing revoke <@user>: REVOKED by the admin, out of the group, holder DM’d and the admin answered', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October');
    clock.advanceHours(2);

    const res = await h.adminCommand(admin2.id, `revoke <@${employee}>`);
    expect(res.status).toBe(200);
    const reply = await h.waitForReply(res.key);
    expect(reply).toContain('Revoked');
    expect(reply).toContain(grant.id);
    const revoked = await h.waitForStatus(grant.id, 'REVOKED');
    await h.idle();

    expect(revoked.endedBy).toBe(admin2.id);
    expect(revoked.endedAt).toBe(at(T0, 2 * HOUR));
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    const holderDms = h.dms(employee);
    expect(holderDms).toHaveLength(2);
    expect(messageContent(holderDms[1])).toContain(`<@${admin2.id}>`);
    expect(messageContent(holderDms[1])).toMatch(/ended/);
    expect(h.slack.responses(res.key)).toHaveLength(1);
    expect(h.slack.responses(res.key)[0]?.body.response_type).toBe('ephemeral');
    expect(h.dms(admin2.id)).toHaveLength(0);
    expect(buttonLabels(adminMessageOf(h, revoked))).toEqual([]);
    expect(adminMessageOf(h, revoked)?.text).toContain(`revoked by <@${admin2.id}>`);
    expect(threadOf(h, revoked).map((m) => m.text)).toEqual([expect.stringContaining(`revoked by <@${admin2.id}>`)]);
    const last = (await h.bot.deps.store.auditEvents(grant.id)).at(-1);
    expect(last).toMatchObject({ from: 'ACTIVE', to: 'REVOKED', actor: admin2.id });

    // Nothing left to revoke: the admin is told, nothing changes.
    const again = await h.adminCommand(admin2.id, `revoke <@${employee}>`);
    // The mention is a mention, not the escaped text of one (the error carries the user, the Slack layer renders it).
    expect(await h.waitForReply(again.key)).toBe(`<@${employee}> holds no active grant.`);
    expect(h.dms(employee)).toHaveLength(2);
  });

  it('a non-admin cannot revoke by command: refused, the grant stays', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October');

    for (const who of [outsider.id, employee]) {
      const res = await h.adminCommand(who, `revoke <@${employee}>`);
      expect(res.status).toBe(200);
      expect(await h.waitForReply(res.key)).toMatch(/Only billing admins can revoke/);
    }
    await h.idle();
    expect((await stored(h, grant.id)).status).toBe('ACTIVE');
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(0);
    expect(h.dms(employee)).toHaveLength(1);
  });

  it('the Revoke button works for an admin and is refused for a non-admin', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October');
    expect(buttonLabels(adminMessageOf(h, grant))).toEqual(['Revoke']);

    const refused = await h.click(outsider.id, 'revoke', grant.id);
    expect(refused.status).toBe(200);
    const told = await h.slack.waitFor(() => h.ephemeralsFor(outsider.id)[0]);
    expect(told.text).toMatch(/Only billing admins can revoke/);
    await h.idle();
    expect((await stored(h, grant.id)).status).toBe('ACTIVE');
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');

    const res = await h.click(admin3.id, 'revoke', grant.id);
    expect(res.status).toBe(200);
    const revoked = await h.waitForStatus(grant.id, 'REVOKED');
    await h.idle();
    expect(revoked.endedBy).toBe(admin3.id);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(buttonLabels(adminMessageOf(h, revoked))).toEqual([]);
    expect(h.dms(employee)).toHaveLength(2);
    expect(h.ephemeralsFor(admin3.id)).toHaveLength(0);

    // A replayed click on an ended grant changes nothing and tells the clicker.
    await h.click(admin3.id, 'revoke', grant.id);
    await h.slack.waitFor(() => h.ephemeralsFor(admin3.id)[0]);
    await h.idle();
    expect((await h.bot.deps.store.auditEvents(grant.id)).filter((e) => e.to === 'REVOKED')).toHaveLength(1);
    expect(h.dms(employee)).toHaveLength(2);
  });

  it('the holder ends their own grant with /request-billing done: REVOKED by the holder, out of the group', async () => {
    const h = await start();
    const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October');
    clock.advanceHours(3);

    const res = await h.command(employee, 'done');
    expect(res.status).toBe(200);
    expect(await h.waitForReply(res.key)).toMatch(/Done/);
    const revoked = await h.waitForStatus(grant.id, 'REVOKED');
    await h.idle();
    expect(revoked.endedBy).toBe(employee);
    expect(revoked.endedAt).toBe(at(T0, 3 * HOUR));
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect((await h.bot.deps.store.auditEvents(grant.id)).at(-1)).toMatchObject({ from: 'ACTIVE', to: 'REVOKED', actor: employee });
    expect(buttonLabels(adminMessageOf(h, revoked))).toEqual([]);
    expect(threadOf(h, revoked)).toHaveLength(1);

    const again = await h.command(employee, 'done');
    expect(await h.waitForReply(again.key)).toMatch(/no active/);
  });
});
