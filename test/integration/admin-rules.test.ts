/**
 * Admin rules around ending grants, driven over signed HTTP (PRODUCT §1 "Expire and revoke",
 * §3): revoke and done find every active grant however long the history and by IAM user;
 * revoke, link and summary are admin-channel commands and a Revoke click naming no channel is
 * refused; a level removed from BILLING_GROUPS does not strand the grants made into it.
 */

import { AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTION } from '../../src/slack/ids.js';
import { groupsOf, type UserFixture } from '../../testkit/iam-fixtures.js';
import { buildBlockAction } from '../../testkit/slack-payloads.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { ManualClock } from '../support/clock.js';
import { type DoctorRun, runDoctor } from '../support/doctor-run.js';
import { ADMIN_CHANNEL, BOT_TOKEN, Harness, PEOPLE, SIGNING_SECRET } from '../support/harness.js';
import { buildRequest } from '../support/requests.js';
import { activeGrant, pendingRequest, responseBodies, stored, waitForAnswer } from '../support/scenario-helpers.js';
import { onDemandSummaries } from '../support/summary-helpers.js';

const T0 = '2030-03-04T09:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const OTHER_CHANNEL = 'C0GENERAL';
/** More than the 100 newest requests the old lookup read, so only an index on status finds the grant. */
const HISTORY = 120;
const READ_ONLY_ONLY = { BILLING_GROUPS: 'read-only=BillingReadOnly' };

const employee = PEOPLE.employee.id;
const { admin1, admin2, outsider, partner } = PEOPLE;

const at = (base: string, ms: number) => new Date(Date.parse(base) + ms).toISOString();

/**
 * Puts `count` cancelled requests of the employee into the table, each created a minute after the
 * one before, starting a minute after `after`: a long history newer than the grant.
 */
async function seedCancelledHistory(h: Harness, count: number, after: string): Promise<void> {
  const requests = Array.from({ length: count }, (_, i) => {
    const createdAt = at(after, (i + 1) * MINUTE);
    // The store takes a new request in any status; CANCELLED needs no pending-request slot.
    return buildRequest({ createdAt, status: 'CANCELLED', decidedBy: employee, decidedAt: createdAt, justification: `asked again, number ${i + 1}` });
  });
  // In batches: a few concurrent writes at a time keep dynalite quick without flooding it.
  for (let i = 0; i < requests.length; i += 20) {
    await Promise.all(requests.slice(i, i + 20).map((r) => h.bot.deps.store.create(r, { actor: employee, detail: 'seeded history' })));
  }
}

/** The request body of a Revoke click whose payload names no channel (neither `channel` nor `container.channel_id`). */
function revokeClickWithoutChannel(h: Harness, userId: string, requestId: string): string {
  const form = new URLSearchParams(
    buildBlockAction({ userId, channelId: ADMIN_CHANNEL, actionId: ACTION.revoke, value: requestId, responseUrl: h.slack.responseUrl(`click-${userId}`) }),
  );
  const payload = JSON.parse(form.get('payload') ?? '{}') as Record<string, unknown>;
  delete payload.channel;
  const container = payload.container as Record<string, unknown>;
  delete container.channel_id;
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** `npm run doctor` on the harness's table, Slack stand-in and moto. */
function doctorOn(h: Harness, env: Record<string, string>): Promise<DoctorRun> {
  return runDoctor({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: h.slack.apiUrl,
    ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
    ADMIN_USER_IDS: `${admin1.id},${admin2.id}`,
    ALLOWED_EMAIL_DOMAINS: 'corp.com',
    IAM_MODE: 'live',
    STORE: 'dynamodb',
    TABLE_NAME: 'billing-access-test',
    AWS_ENDPOINT_URL: workerAwsEndpoint(),
    // The harness's table lives in its dynalite, not in moto.
    AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env,
  });
}

describe('admin rules', () => {
  let h: Harness | undefined;
  let clock: ManualClock;

  async function start(users: UserFixture[] = [{ name: 'jane.doe' }]): Promise<Harness> {
    clock = new ManualClock(T0);
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), clock, users });
    return h;
  }

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('revoke and done find every active grant', () => {
    it(`revoke <@employee> ends a grant older than ${HISTORY} newer requests of the same Slack user`, async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
      await seedCancelledHistory(h, HISTORY, grant.createdAt);
      // The grant is past the newest 100 requests of the requester: a lookup by recent history misses it.
      expect((await h.bot.deps.store.listByRequester(employee, 100)).map((r) => r.id)).not.toContain(grant.id);
      clock.set(at(T0, 3 * HOUR));

      const res = await h.adminCommand(admin1.id, `revoke <@${employee}>`);
      expect(res.status).toBe(200);
      const answer = await waitForAnswer(h, res);
      expect(answer).toContain('Revoked');
      expect(answer).toContain(grant.id);
      const revoked = await h.waitForStatus(grant.id, 'REVOKED');
      await h.idle();
      expect(revoked.endedBy).toBe(admin1.id);
      expect(revoked.endedAt).toBe(at(T0, 3 * HOUR));
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
      expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
    });

    it(`done by the holder ends a grant older than ${HISTORY} newer requests of theirs`, async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
      await seedCancelledHistory(h, HISTORY, grant.createdAt);
      expect((await h.bot.deps.store.listByRequester(employee, 100)).map((r) => r.id)).not.toContain(grant.id);
      clock.set(at(T0, 3 * HOUR));

      const res = await h.command(employee, 'done');
      expect(res.status).toBe(200);
      expect(await waitForAnswer(h, res)).toMatch(/Done/);
      const revoked = await h.waitForStatus(grant.id, 'REVOKED');
      await h.idle();
      expect(revoked.endedBy).toBe(employee);
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
      expect((await h.bot.deps.store.auditEvents(grant.id)).at(-1)).toMatchObject({ from: 'ACTIVE', to: 'REVOKED', actor: employee });
    });

    it('revoke <@employee> ends a grant of their IAM user requested from another Slack account', async () => {
      const h = await start();
      // jane.doe's grant, asked for from a second Slack account (pat): only the IAM user ties it to the employee.
      const decidedAt = at(T0, -DAY);
      const elsewhere = buildRequest({
        createdAt: at(T0, -DAY - HOUR),
        status: 'ACTIVE',
        requesterId: partner.id,
        requesterEmail: partner.email,
        iamUserName: 'jane.doe',
        level: 'full',
        groupName: 'BillingFull',
        approvals: [{ by: admin2.id, at: decidedAt }],
        approverIds: [admin2.id],
        decidedBy: admin2.id,
        decidedAt,
        expiresAt: at(decidedAt, 7 * DAY),
      });
      await h.bot.deps.store.create(elsewhere, { actor: admin2.id, detail: 'seeded grant' });
      await h.iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingFull' }));
      expect(await h.requestsOf(employee)).toEqual([]);

      const res = await h.adminCommand(admin1.id, `revoke <@${employee}>`);
      const answer = await waitForAnswer(h, res);
      expect(answer).toContain('Revoked');
      expect(answer).toContain(elsewhere.id);
      const revoked = await h.waitForStatus(elsewhere.id, 'REVOKED');
      await h.idle();
      expect(revoked.endedBy).toBe(admin1.id);
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingFull');
      expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
    });
  });

  describe('admin commands only in the admin channel', () => {
    it('revoke, link and summary typed in another channel are refused ephemerally and change nothing; in the admin channel they work', async () => {
      const h = await start([{ name: 'jane.doe' }, { name: 'mallory' }]);
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
      const postedBefore = h.adminMessages().length;
      const removalsBefore = h.iamProxy.count('RemoveUserFromGroup');

      const refusals: [string, RegExp][] = [
        [`revoke <@${employee}>`, /Revoking is only done in the admin channel/],
        [`link <@${outsider.id}> mallory`, /Linking is only done in the admin channel/],
        ['summary', /summary is only posted from the admin channel/],
      ];
      for (const [text, says] of refusals) {
        const res = await h.command(admin1.id, text, { channelId: OTHER_CHANNEL });
        expect(res.status).toBe(200);
        expect(await waitForAnswer(h, res), text).toMatch(says);
        for (const body of responseBodies(h, res.key)) expect(body.response_type, text).toBe('ephemeral');
      }
      await h.idle();

      const unchanged = await stored(h, grant.id);
      expect(unchanged.status).toBe('ACTIVE');
      expect(unchanged.version).toBe(grant.version);
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
      expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(removalsBefore);
      expect(await h.bot.deps.store.getLink(outsider.id)).toBeUndefined();
      expect(h.adminMessages()).toHaveLength(postedBefore);
      expect(onDemandSummaries(h)).toEqual([]);
      expect(h.slack.messages(OTHER_CHANNEL).filter((m) => !m.ephemeralTo)).toEqual([]);

      // The same commands in the admin channel.
      const link = await h.adminCommand(admin1.id, `link <@${outsider.id}> mallory`);
      expect(await waitForAnswer(h, link)).toMatch(/now linked/);
      expect(await h.bot.deps.store.getLink(outsider.id)).toMatchObject({ userId: outsider.id, iamUserName: 'mallory', linkedBy: admin1.id });

      const summary = await h.adminCommand(admin1.id, 'summary');
      expect(await waitForAnswer(h, summary)).toMatch(/Summary of the last 7 days posted/);
      await h.idle();
      expect(onDemandSummaries(h)).toHaveLength(1);

      const revoke = await h.adminCommand(admin1.id, `revoke <@${employee}>`);
      expect(await waitForAnswer(h, revoke)).toContain(grant.id);
      await h.waitForStatus(grant.id, 'REVOKED');
      await h.idle();
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    });

    it('a Revoke click whose payload names no channel is refused and the grant stays', async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
      const dmsBefore = h.dms(employee).length;

      const res = await h.post(revokeClickWithoutChannel(h, admin1.id, grant.id));
      expect(res.status).toBe(200);
      await h.idle();
      const unchanged = await stored(h, grant.id);
      expect(unchanged.status).toBe('ACTIVE');
      expect(unchanged.version).toBe(grant.version);
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
      expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(0);
      expect(h.dms(employee)).toHaveLength(dmsBefore);

      // The same click from the admin channel goes through: the missing channel was the reason.
      await h.click(admin1.id, 'revoke', grant.id);
      await h.waitForStatus(grant.id, 'REVOKED');
      await h.idle();
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    });
  });

  describe('a level removed from BILLING_GROUPS', () => {
    it('its grant still expires at its time and leaves the group; a new request for it is an unknown level; doctor names the grant', {
      timeout: 90_000,
    }, async () => {
      const h = await start();
      const grant = await activeGrant(h, employee, 'full 1d fix a billing alarm');
      expect(grant.groupName).toBe('BillingFull');
      expect(grant.expiresAt).toBe(at(T0, DAY));
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingFull');

      await h.restartWith(READ_ONLY_ONLY);
      expect(h.bot.deps.config.levels.map((l) => l.level)).toEqual(['read-only']);

      const asked = await h.command(employee, 'full 7d fix the billing alarm again');
      expect(asked.status).toBe(200);
      const refusal = await waitForAnswer(h, asked);
      expect(refusal).toMatch(/Unknown access level "full"/);
      expect(refusal).toContain('read-only');
      await h.idle();
      expect((await h.requestsOf(employee)).map((r) => r.id)).toEqual([grant.id]);

      const doctor = await doctorOn(h, READ_ONLY_ONLY);
      const line = doctor.stdout.split('\n').find((l) => l.includes('Grants into groups no longer configured'));
      expect(line, `doctor printed:\n${doctor.stdout}\n${doctor.stderr}`).toBeDefined();
      expect(line).toMatch(/✗ /);
      expect(line).toContain(`${grant.id} (jane.doe in BillingFull`);
      expect(doctor.code).toBe(1);

      clock.set(at(T0, DAY - MINUTE));
      expect((await h.sweep()).expired).toBe(0);
      expect((await stored(h, grant.id)).status).toBe('ACTIVE');
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingFull');

      clock.set(at(T0, DAY));
      const report = await h.sweep();
      expect(report.expired).toBe(1);
      expect(report.errors).toBe(0);
      const expired = await stored(h, grant.id);
      expect(expired.status).toBe('EXPIRED');
      expect(expired.endedBy).toBe('system');
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingFull');
      expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
      expect((await h.bot.deps.store.auditEvents(grant.id)).at(-1)?.detail).toBe('removed jane.doe from BillingFull');
      await h.idle();
      expect(h.dms(employee).some((m) => /expired/.test(m.text))).toBe(true);
    });

    it('its grant can be revoked, and a request for it made before the change is refused at approval and stays PENDING', async () => {
      const h = await start([{ name: 'jane.doe' }, { name: 'mallory' }]);
      const grant = await activeGrant(h, employee, 'full 7d fix a billing alarm');
      const pending = await pendingRequest(h, outsider.id, 'full 7d review the invoice settings');
      expect(pending.groupName).toBe('BillingFull');

      await h.restartWith(READ_ONLY_ONLY);
      clock.advanceHours(2);

      const res = await h.adminCommand(admin2.id, `revoke <@${employee}>`);
      const answer = await waitForAnswer(h, res);
      expect(answer).toContain('Revoked');
      expect(answer).toContain(grant.id);
      const revoked = await h.waitForStatus(grant.id, 'REVOKED');
      await h.idle();
      expect(revoked.endedBy).toBe(admin2.id);
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingFull');
      expect((await h.bot.deps.store.auditEvents(grant.id)).at(-1)?.detail).toBe('removed jane.doe from BillingFull');

      const addsBefore = h.iamProxy.count('AddUserToGroup');
      expect((await h.click(admin1.id, 'approve', pending.id)).status).toBe(200);
      const told = await h.slack.waitFor(() => h.ephemeralsFor(admin1.id).find((m) => /no longer configured/.test(m.text)));
      expect(told.text).toContain('BillingFull');
      expect(told.text).toMatch(/stays pending/);
      await h.idle();
      const still = await stored(h, pending.id);
      expect(still.status).toBe('PENDING');
      expect(still.version).toBe(pending.version);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(addsBefore);
      expect(await groupsOf(h.iam, 'mallory')).not.toContain('BillingFull');
    });
  });
});
