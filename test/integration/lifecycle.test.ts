import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AttachGroupPolicyCommand, DetachGroupPolicyCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { SweepReport } from '../../src/services/sweeper.js';
import { groupsOf, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import { ManualClock } from '../support/clock.js';
import type { StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, Harness, PEOPLE } from '../support/harness.js';
import { activeGrant as grantByAdmin, pendingRequest, stored } from '../support/scenario-helpers.js';

const TABLE = 'billing-access-test';
const T0 = '2030-03-04T09:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const employee = PEOPLE.employee.id;
const { admin1, admin2, admin3, outsider } = PEOPLE;

const at = (base: string, ms: number) => new Date(Date.parse(base) + ms).toISOString();

function buttonLabels(m: StoredMessage | undefined): string[] {
  const labels: string[] = [];
  for (const block of (m?.blocks ?? []) as { type?: string; elements?: { type?: string; text?: { text?: string } }[] }[]) {
    if (block.type !== 'actions') continue;
    for (const el of block.elements ?? []) if (el.type === 'button' && el.text?.text) labels.push(el.text.text);
  }
  return labels;
}

function content(m: StoredMessage | undefined): string {
  return m ? `${m.text}\n${JSON.stringify(m.blocks ?? [])}` : '';
}

/** The request's one message in the admin channel, as it reads now. */
function adminMessageOf(h: Harness, request: AccessRequest): StoredMessage | undefined {
  const ts = request.adminMessage?.ts;
  expect(ts, `request ${request.id} has no admin message`).toBeTruthy();
  return h.adminMessages().find((m) => m.ts === ts);
}

/** Replies in the admin message's thread (not ephemerals). */
function threadOf(h: Harness, request: AccessRequest): StoredMessage[] {
  const ts = request.adminMessage?.ts;
  return h.slack.messages(ADMIN_CHANNEL).filter((m) => m.threadTs !== undefined && m.threadTs === ts && !m.ephemeralTo);
}

function quiet(report: SweepReport): Omit<SweepReport, 'at'> {
  const { at: _at, ...counts } = report;
  return counts;
}

const NOTHING_DONE = { expired: 0, timedOut: 0, reminded: 0, recovered: 0, reposted: 0, redelivered: 0, errors: 0 };

async function approve(h: Harness, requestId: string, approver: string = admin1.id): Promise<AccessRequest> {
  const res = await h.click(approver, 'approve', requestId);
  expect(res.status).toBe(200);
  await h.waitForStatus(requestId, 'ACTIVE');
  await h.idle();
  return stored(h, requestId);
}

/** Requests by text and has admin1 approve it: the ACTIVE grant, every notice delivered. */
async function activeGrant(h: Harness, userId: string, text: string, approver: string = admin1.id): Promise<AccessRequest> {
  const active = await grantByAdmin(h, userId, text, approver);
  expect(active.noticeDue).toBeUndefined();
  return active;
}

async function healthz(h: Harness): Promise<{ status: number; body: { ok?: boolean; lastSweep?: string | null; requestId?: string } }> {
  const res = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok?: boolean; lastSweep?: string | null; requestId?: string } };
}

describe('grant lifecycle', () => {
  let h: Harness | undefined;
  let clock: ManualClock;

  async function start(env: Record<string, string> = {}): Promise<Harness> {
    clock = new ManualClock(T0);
    h = await Harness.start({ awsEndpoint: inject('awsEndpoint'), clock, env });
    return h;
  }

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('expiry', () => {
    it('expires a 1-day grant after 25 h: EXPIRED by system, out of the group, holder DM’d once, one thread reply, no Revoke button; a second sweep does nothing', async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
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
      expect(content(dms[1])).toMatch(/expired/);
      expect(content(dms[1])).toContain(grant.id);

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
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
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
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
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
      await h.iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
      const long = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
      await h.click(admin1.id, 'approve', long.id);
      await h.waitForStatus(long.id, 'FAILED');
      await h.idle();
      await h.iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));

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
      await h.iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
      const later = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
      await h.click(admin1.id, 'approve', later.id);
      await h.waitForStatus(later.id, 'FAILED');
      await h.idle();
      await h.iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));

      clock.advance(MINUTE);
      const ending = await activeGrant(h, employee, 'read-only 1d quarterly cost review');

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
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
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
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
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

  describe('revoke and done', () => {
    it('an admin revokes with /request-billing revoke <@user>: REVOKED by the admin, out of the group, holder DM’d and the admin answered', async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
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
      expect(content(holderDms[1])).toContain(`<@${admin2.id}>`);
      expect(content(holderDms[1])).toMatch(/ended/);
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
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');

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
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
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
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
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

  describe('extension', () => {
    it('a holder asking for the level again gets an extension: expiry moves by n days, the request is EXTENDED, no second AddUserToGroup', async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
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
      expect(content(dms[1])).toContain(moved.expiresAt as string);
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
      const h = await start({ MAX_DURATION_DAYS: '40' });
      const grant = await activeGrant(h, employee, 'read-only 30d month-end close for October');
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

  describe('pending requests', () => {
    it('reminds in the admin thread at 1 h, 3 h and 7 h, never in between', async () => {
      const h = await start();
      const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
      const reminders = () => threadOf(h, request).filter((m) => /Reminder/.test(m.text));

      clock.set(at(T0, 59 * MINUTE));
      expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
      expect(threadOf(h, request)).toHaveLength(0);

      clock.set(at(T0, HOUR));
      expect((await h.sweep()).reminded).toBe(1);
      expect(reminders()).toHaveLength(1);
      expect(reminders()[0]?.text).toContain('23 h');

      clock.set(at(T0, 2 * HOUR));
      expect((await h.sweep()).reminded).toBe(0);
      expect(reminders()).toHaveLength(1);

      clock.set(at(T0, 3 * HOUR));
      expect((await h.sweep()).reminded).toBe(1);
      expect(reminders()).toHaveLength(2);

      for (const hours of [4, 5, 6]) {
        clock.set(at(T0, hours * HOUR));
        expect((await h.sweep()).reminded).toBe(0);
      }
      expect(reminders()).toHaveLength(2);

      clock.set(at(T0, 7 * HOUR));
      expect((await h.sweep()).reminded).toBe(1);
      expect(reminders()).toHaveLength(3);
      expect(threadOf(h, request)).toHaveLength(3);

      const current = await stored(h, request.id);
      expect(current.status).toBe('PENDING');
      expect(current.remindersSent).toBe(3);
      expect(buttonLabels(adminMessageOf(h, current))).toEqual(['Approve', 'Deny']);
      expect(h.dms(employee)).toHaveLength(0);
      expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING']);
    });

    it('two sweepers at a due time post the reminder once', async () => {
      const h = await start();
      const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
      const replica = await h.startReplica(clock);

      clock.set(at(T0, HOUR));
      const [a, b] = await Promise.all([h.sweep(), replica.deps.sweeper.sweep()]);
      expect(a.reminded + b.reminded).toBe(1);
      expect(a.errors + b.errors).toBe(0);
      expect(threadOf(h, request)).toHaveLength(1);

      clock.set(at(T0, 3 * HOUR));
      const [c, d] = await Promise.all([replica.deps.sweeper.sweep(), h.sweep()]);
      expect(c.reminded + d.reminded).toBe(1);
      expect(threadOf(h, request)).toHaveLength(2);
      expect((await stored(h, request.id)).remindersSent).toBe(2);
    });

    it('times out after PENDING_TIMEOUT_HOURS (24 by default): TIMED_OUT by system, buttons gone, requester told', async () => {
      const h = await start();
      const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');

      clock.set(at(T0, 24 * HOUR - MINUTE));
      expect((await h.sweep()).timedOut).toBe(0);
      expect((await stored(h, request.id)).status).toBe('PENDING');

      clock.set(at(T0, 24 * HOUR));
      const report = await h.sweep();
      expect(report.timedOut).toBe(1);
      expect(report.errors).toBe(0);

      const timedOut = await stored(h, request.id);
      expect(timedOut.status).toBe('TIMED_OUT');
      expect(timedOut.decidedBy).toBe('system');
      expect(timedOut.decidedAt).toBe(at(T0, 24 * HOUR));
      expect(timedOut.noticeDue).toBeUndefined();
      const message = adminMessageOf(h, timedOut);
      expect(buttonLabels(message)).toEqual([]);
      expect(content(message)).toMatch(/Timed out/);
      const dms = h.dms(employee);
      expect(dms).toHaveLength(1);
      expect(content(dms[0])).toMatch(/timed out/);
      const last = (await h.bot.deps.store.auditEvents(request.id)).at(-1);
      expect(last).toMatchObject({ from: 'PENDING', to: 'TIMED_OUT', actor: 'system' });

      // An Approve click on the timed-out request grants nothing.
      await h.click(admin1.id, 'approve', request.id);
      await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0]);
      await h.idle();
      expect((await stored(h, request.id)).status).toBe('TIMED_OUT');
      expect(h.iamProxy.count('AddUserToGroup')).toBe(0);

      clock.advanceHours(1);
      expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
      expect(h.dms(employee)).toHaveLength(1);

      // The one-pending-request slot is free again.
      clock.advance(MINUTE);
      const next = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
      expect(next.id).not.toBe(request.id);
    });
  });

  describe('Slack delivery', () => {
    it('a failed chat.update after an approval is retried by the sweeper after its grace period', async () => {
      const h = await start();
      const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');

      h.slack.setFailure('chat.update', 'ratelimited');
      await h.click(admin1.id, 'approve', request.id);
      await h.waitForStatus(request.id, 'ACTIVE');
      await h.idle();
      const active = await stored(h, request.id);
      expect(active.noticeDue).toBe('DUE');
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
      expect(buttonLabels(adminMessageOf(h, active))).toEqual(['Approve', 'Deny']);
      expect(h.slack.calls('chat.update').filter((c) => !c.ok)).toHaveLength(1);
      expect(h.dms(employee)).toHaveLength(1);

      // Within the grace period the notice is left to the live path.
      h.slack.setFailure('chat.update', null);
      clock.advance(30_000);
      expect((await h.sweep()).redelivered).toBe(0);
      expect(buttonLabels(adminMessageOf(h, active))).toEqual(['Approve', 'Deny']);

      // graceMs = min(60 s, SWEEP_INTERVAL_SECONDS): past it the sweeper delivers what is still due.
      clock.advance(31_000);
      const report = await h.sweep();
      expect(report.redelivered).toBe(1);
      expect(report.errors).toBe(0);
      const message = adminMessageOf(h, active);
      expect(buttonLabels(message)).toEqual(['Revoke']);
      expect(message?.text).toContain(`Approved by <@${admin1.id}>`);
      expect((await stored(h, request.id)).noticeDue).toBeUndefined();
      expect(h.adminMessages()).toHaveLength(1);

      // PRODUCT §2: after a failure a message may be repeated, never lost. The announcer re-sends every
      // notice of the state, so the requester's DM (which had gone out) may come a second time, no more.
      const dms = h.dms(employee);
      expect(dms.length).toBeGreaterThanOrEqual(1);
      expect(dms.length).toBeLessThanOrEqual(2);
      for (const dm of dms) expect(content(dm)).toMatch(/approved by/);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);

      const callsBefore = h.slack.calls().length;
      clock.advance(5 * MINUTE);
      expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
      expect(h.slack.calls().length).toBe(callsBefore);
    });
  });

  describe('healthz', () => {
    it('answers 200 with the last sweep; 503 when a grant is overdue by more than two sweep intervals', async () => {
      const h = await start();
      const before = await healthz(h);
      expect(before.status).toBe(200);
      expect(before.body.lastSweep).toBeNull();

      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
      const swept = await h.sweep();
      const after = await healthz(h);
      expect(after.status).toBe(200);
      expect(after.body.ok).toBe(true);
      expect(after.body.lastSweep).toBe(swept.at);

      // SWEEP_INTERVAL_SECONDS defaults to 300: overdue means expiresAt more than 10 min ago.
      const expiresAt = grant.expiresAt as string;
      clock.set(at(expiresAt, 9 * MINUTE));
      expect((await healthz(h)).status).toBe(200);

      clock.set(at(expiresAt, 11 * MINUTE));
      const overdue = await healthz(h);
      expect(overdue.status).toBe(503);
      expect(overdue.body.ok).toBe(false);
      expect(overdue.body.requestId).toBe(grant.id);
      expect(overdue.body.lastSweep).toBe(swept.at);

      const caughtUp = await h.sweep();
      expect(caughtUp.expired).toBe(1);
      const healthy = await healthz(h);
      expect(healthy.status).toBe(200);
      expect(healthy.body.lastSweep).toBe(caughtUp.at);
    });
  });
});
