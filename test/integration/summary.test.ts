/**
 * The weekly summary's content and what it offers: the period's counts by outcome and median
 * decision time, the access review of every billing group's members (and DRIFT_POLICY=remove),
 * splitting a large period within Slack's limits, the Keep and Revoke buttons, and the on-demand
 * /request-billing summary. When and how often it is posted is in summary-schedule.test.ts.
 */
import { AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf, type UserFixture } from '../../testkit/iam-fixtures.js';
import type { StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, type Harness, PEOPLE } from '../support/harness.js';
import { at, HOUR, MINUTE, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { stored, waitForAnswer } from '../support/scenario-helpers.js';
import { buttonsIn, grantIdsIn } from '../support/summary-fixtures.js';
import {
  clickOnMessage,
  headerOf,
  looseAuditEvents,
  memberLine,
  ON_DEMAND_TITLE,
  onDemandSummaries,
  seedActiveGrants,
  spanOf,
  summaryParts,
  textOf,
  WEEKLY_TITLE,
  weeklySummaries,
} from '../support/summary-helpers.js';
import { EVERY_MINUTE } from '../support/summary-schedules.js';

const SECOND = 1000;

const { employee, admin1, admin2, outsider } = PEOPLE;

describe('weekly summary', () => {
  const { clock, start } = useClockedHarness();

  async function approve(h: Harness, requestId: string, approver: string): Promise<AccessRequest> {
    expect((await h.click(approver, 'approve', requestId)).status).toBe(200);
    await h.waitForStatus(requestId, 'ACTIVE');
    await h.idle();
    return stored(h, requestId);
  }

  async function grant(h: Harness, userId: string, text: string, approver: string): Promise<AccessRequest> {
    const request = await h.requestByText(userId, text);
    await h.idle();
    return approve(h, request.id, approver);
  }

  describe('counts and median for a seeded week', () => {
    const SUNDAY = '2030-03-03T09:00:00.000Z';
    const WEEK_START = '2030-03-04T09:00:00.000Z'; // a Monday 09:00 UTC firing
    const WEEK_END = '2030-03-11T09:00:00.000Z';

    it('builds the period’s counts by outcome and median decision time, and the posted summary shows them', async () => {
      const h = await start({
        at: SUNDAY,
        users: ['jane.doe', 'mallory', 'alice.admin', 'bob.admin'].map((name) => ({ name, password: false })),
      });
      const summaries = h.bot.deps.summaries;
      expect(await summaries.runDue()).toBe(0);

      // Before the period: not counted in it.
      const earlier = await grant(h, admin2.id, 'full 30d quarterly forecast', admin1.id);
      clock.set(at(WEEK_START, 30 * SECOND));
      expect(await summaries.runDue()).toBe(1);
      expect(weeklySummaries(h)).toHaveLength(1);

      // In the period.
      clock.set(at(WEEK_START, HOUR));
      const approvedIn10 = await h.requestByText(employee.id, 'read-only 7d month-end close for March');
      clock.advance(10 * MINUTE);
      await approve(h, approvedIn10.id, admin1.id);

      clock.set(at(WEEK_START, 2 * HOUR));
      const deniedIn30 = await h.requestByText(outsider.id, 'read-only 7d curious about the bill');
      clock.advance(30 * MINUTE);
      expect((await h.click(admin2.id, 'deny', deniedIn30.id)).status).toBe(200);
      await h.slack.waitFor(() => h.slack.openedViews().length > 0);
      expect((await h.submitDenyModal(admin2.id, deniedIn30.id, 'not needed this week')).status).toBe(200);
      await h.waitForStatus(deniedIn30.id, 'DENIED');

      clock.set(at(WEEK_START, 3 * HOUR));
      const approvedIn60 = await h.requestByText(admin1.id, 'read-only 14d budget review');
      clock.advance(60 * MINUTE);
      await approve(h, approvedIn60.id, admin2.id);

      clock.set(at(WEEK_START, 5 * HOUR));
      const cancelled = await h.requestByText(admin2.id, 'read-only 7d changed my mind later');
      clock.advance(20 * MINUTE);
      const cancel = await h.command(admin2.id, `cancel ${cancelled.id}`);
      expect(await waitForAnswer(h, cancel)).toContain('is cancelled');

      clock.set(at(WEEK_START, 6 * HOUR));
      const timedOut = await h.requestByText(employee.id, 'full 7d nobody will answer this');
      clock.set(at(WEEK_START, 31 * HOUR));
      const sweep = await h.sweep();
      expect(sweep.timedOut).toBe(1);
      expect((await stored(h, timedOut.id)).status).toBe('TIMED_OUT');

      clock.set(at(WEEK_END, -18 * HOUR));
      const stillPending = await h.requestByText(outsider.id, 'full 7d waiting for an answer');
      await h.idle();

      clock.set(at(WEEK_END, MINUTE));
      const report = await summaries.build(WEEK_START, WEEK_END);
      expect(report.stats.total).toBe(6);
      expect(report.stats.byStatus).toEqual({ ACTIVE: 2, DENIED: 1, CANCELLED: 1, TIMED_OUT: 1, PENDING: 1 });
      expect(report.stats.medianDecisionMinutes).toBe(30);
      expect(report.stalePending.map((r) => r.id)).toEqual([stillPending.id]);
      expect(report.expiringSoon.map((r) => r.id)).toEqual([approvedIn10.id]);
      expect(report.activeGrants).toHaveLength(3);

      expect(await summaries.runDue()).toBe(1);
      const posted = weeklySummaries(h);
      expect(posted).toHaveLength(2);
      const summary = posted[1] as StoredMessage;
      expect(summary.text).toBe('Weekly billing access summary: 6 requests, 2 granted, 1 denied, median decision 30 min, 3 active grants, 0 review findings.');
      expect(headerOf(summary)).toBe(WEEKLY_TITLE);
      expect(spanOf(summary)).toEqual({ from: WEEK_START, to: WEEK_END });
      const text = textOf(summary);
      expect(text).toContain('*Requests*\n6');
      expect(text).toContain('*Granted / denied*\n2 / 1');
      expect(text).toContain('*Median time to decision*\n30 min');
      expect(text).toContain('*Pending > 12 h*\n1');
      for (const line of ['• active: 2', '• cancelled: 1', '• denied: 1', '• pending: 1', '• timed out: 1']) expect(text).toContain(line);
      const pendingTs = (await stored(h, stillPending.id)).adminMessage?.ts.replace('.', '');
      expect(text).toContain(`<https://fake-workspace.slack.com/archives/${ADMIN_CHANNEL}/p${pendingTs}|${stillPending.id}>`);
      expect(text).toContain('Expiring in the next 7 days');
      expect(grantIdsIn(summary.blocks ?? []).sort()).toEqual([approvedIn10.id, approvedIn60.id, earlier.id].sort());

      // The earlier summary covered the week before, with the one request made then.
      expect(spanOf(posted[0])).toEqual({ from: '2030-02-25T09:00:00.000Z', to: WEEK_START });
      expect(textOf(posted[0])).toContain('*Requests*\n1');
    });
  });

  describe('access review', () => {
    const reviewUsers: UserFixture[] = [
      { name: 'jane.doe', mfa: false, password: false },
      { name: 'alice.admin', accessKey: true, password: false },
      { name: 'bob.admin' },
      { name: 'hand.added', password: false },
    ];

    it('flags a member without MFA, an old active key, a password never used, and a member added by hand', async () => {
      // Moto dates the access key now; the review judges it by the bot's clock, 91 days on.
      const h = await start({ at: new Date(), users: reviewUsers, env: { REQUIRE_MFA: 'warn' } });
      expect((await h.bot.deps.iam.reviewMember('alice.admin', clock.now())).oldActiveKeys).toEqual([]);
      clock.advanceDays(91);

      await grant(h, employee.id, 'read-only 7d month-end close', admin1.id);
      await grant(h, admin1.id, 'read-only 7d budget review', admin2.id);
      await grant(h, admin2.id, 'read-only 7d cost anomaly', admin1.id);
      await h.iam.send(new AddUserToGroupCommand({ GroupName: 'BillingReadOnly', UserName: 'hand.added' }));

      await h.bot.deps.summaries.postOnDemand(admin1.id, ADMIN_CHANNEL);
      const [summary] = onDemandSummaries(h);
      const text = summaryParts(h, summary as StoredMessage)
        .map(textOf)
        .join('\n');
      expect(text).toContain('Access review: read-only (`BillingReadOnly`), 4 members');

      const jane = memberLine(text, 'jane.doe');
      expect(jane).toContain(':warning: no MFA');
      expect(jane).not.toMatch(/access key|password|no active grant/);

      const alice = memberLine(text, 'alice.admin');
      expect(alice).toContain('MFA ✓');
      expect(alice).toContain(':warning: 1 active access key(s) older than 90 days');
      expect(alice).not.toMatch(/password|no active grant/);

      const bob = memberLine(text, 'bob.admin');
      expect(bob).toContain('MFA ✓');
      expect(bob).toContain(':warning: console password never used');
      expect(bob).not.toMatch(/access key|no active grant/);

      const hand = memberLine(text, 'hand.added');
      expect(hand).toContain(':no_entry: *no active grant from the bot* (added by hand)');
      expect(hand).not.toMatch(/access key|password|removed/);

      expect(text).toContain('*Review findings*\n4 (1 without a grant)');
      // DRIFT_POLICY=report: listed, left in place.
      expect(await groupsOf(h.iam, 'hand.added')).toContain('BillingReadOnly');
      expect(await looseAuditEvents('drift:BillingReadOnly:hand.added')).toEqual([]);
    });

    it('DRIFT_POLICY=remove takes the hand-added member out of the group, records an audit event and says so', async () => {
      const T0 = '2030-03-04T09:00:30.000Z';
      const h = await start({ at: T0, env: { ...EVERY_MINUTE, DRIFT_POLICY: 'remove' }, users: [{ name: 'jane.doe' }, { name: 'hand.added' }] });
      const granted = await grant(h, employee.id, 'read-only 7d month-end close', admin1.id);
      await h.iam.send(new AddUserToGroupCommand({ GroupName: 'BillingReadOnly', UserName: 'hand.added' }));
      expect(await h.bot.deps.summaries.runDue()).toBe(0);

      clock.advance(MINUTE);
      const removedAt = clock.now().toISOString();
      expect(await h.bot.deps.summaries.runDue()).toBe(1);

      expect(await groupsOf(h.iam, 'hand.added')).not.toContain('BillingReadOnly');
      expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
      expect((await stored(h, granted.id)).status).toBe('ACTIVE');

      const events = await looseAuditEvents('drift:BillingReadOnly:hand.added');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        requestId: 'drift:BillingReadOnly:hand.added',
        at: removedAt,
        actor: 'system',
        from: 'MEMBER',
        to: 'REMOVED',
      });
      expect(String(events[0]?.detail)).toContain('removed hand.added from BillingReadOnly');

      const [summary] = weeklySummaries(h);
      const text = textOf(summary);
      expect(memberLine(text, 'hand.added')).toContain(':no_entry: no active grant: *removed from the group* (DRIFT_POLICY=remove)');
      expect(memberLine(text, 'jane.doe')).not.toContain('no active grant');

      // The next period finds nothing left to remove.
      clock.advance(MINUTE);
      expect(await h.bot.deps.summaries.runDue()).toBe(1);
      expect(memberLine(textOf(weeklySummaries(h)[1]), 'hand.added')).toBeUndefined();
      expect(await looseAuditEvents('drift:BillingReadOnly:hand.added')).toHaveLength(1);
    });
  });

  describe('Slack limits', () => {
    it('a 300-grant period splits across a channel message and thread replies, every grant once with Keep and Revoke', async () => {
      const T0 = '2030-03-04T09:00:30.000Z';
      const h = await start({ at: T0, env: EVERY_MINUTE });
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      const grants = await seedActiveGrants(h, 300, T0);

      clock.set('2030-03-04T09:01:05.000Z');
      expect(await h.bot.deps.summaries.runDue()).toBe(1);

      const posted = weeklySummaries(h);
      expect(posted).toHaveLength(1);
      const parts = summaryParts(h, posted[0] as StoredMessage);
      expect(parts.length).toBeGreaterThan(1);
      expect(h.slack.calls('chat.postMessage').every((c) => c.ok)).toBe(true);
      expect(h.slack.calls('chat.postMessage')).toHaveLength(parts.length);
      for (const part of parts) expect(part.blocks?.length ?? 0).toBeLessThanOrEqual(50);
      for (const part of parts.slice(1)) expect(part.threadTs).toBe(posted[0]?.ts);

      const text = textOf(posted[0]);
      expect(text).toContain('*Requests*\n300');
      expect(text).toContain('*Active grants*\n300');

      const shown = parts.flatMap((m) => grantIdsIn(m.blocks ?? []));
      expect(shown).toHaveLength(300);
      expect(new Set(shown)).toEqual(new Set(grants.map((g) => g.id)));
      for (const part of parts) {
        const buttons = buttonsIn(part.blocks ?? []);
        for (const id of grantIdsIn(part.blocks ?? [])) {
          expect(buttons.filter((b) => b.value === id).map((b) => b.label)).toEqual(['Keep', 'Revoke']);
        }
      }
    });
  });

  describe('Keep and Revoke from the summary', () => {
    it('Keep records the review and shows it; Revoke ends the grant; a non-admin or the holder is refused', async () => {
      const h = await start({ at: '2030-03-04T09:00:00.000Z', users: [{ name: 'jane.doe' }, { name: 'alice.admin' }] });
      const readOnly = await grant(h, employee.id, 'read-only 7d month-end close', admin1.id);
      // A later createdAt, so the harness finds this one as the requester's latest.
      clock.advance(MINUTE);
      const full = await grant(h, employee.id, 'full 7d fix a billing alarm', admin1.id);
      const admins = await grant(h, admin1.id, 'read-only 7d budget review', admin2.id);
      expect([readOnly.level, full.level, admins.level]).toEqual(['read-only', 'full', 'read-only']);
      expect(await groupsOf(h.iam, 'jane.doe')).toEqual(expect.arrayContaining(['BillingReadOnly', 'BillingFull']));

      clock.advanceHours(2);
      await h.bot.deps.summaries.postOnDemand(admin2.id, ADMIN_CHANNEL);
      const summaryOf = () => onDemandSummaries(h)[0] as StoredMessage;
      const original = summaryOf();
      expect(buttonsIn(original.blocks ?? []).filter((b) => b.label === 'Keep')).toHaveLength(3);

      // Not an admin.
      expect((await clickOnMessage(h, outsider.id, 'keep', readOnly.id, original)).status).toBe(200);
      const refused = await h.slack.waitFor(() => h.ephemeralsFor(outsider.id)[0]);
      expect(refused.text).toContain('Only billing admins can review access.');
      // An admin on their own grant.
      expect((await clickOnMessage(h, admin1.id, 'keep', admins.id, original)).status).toBe(200);
      const own = await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0]);
      expect(own.text).toContain('You cannot review your own access');
      await h.idle();
      expect((await stored(h, readOnly.id)).reviewedBy).toBeUndefined();
      expect((await stored(h, admins.id)).reviewedBy).toBeUndefined();
      expect(summaryOf().edited).toBeUndefined();

      // Keep by another admin.
      clock.advance(5 * MINUTE);
      const keptAt = clock.now().toISOString();
      expect((await clickOnMessage(h, admin2.id, 'keep', readOnly.id, summaryOf())).status).toBe(200);
      const edited = await h.slack.waitFor(() => (summaryOf().edited ? summaryOf() : undefined));
      const kept = await stored(h, readOnly.id);
      expect(kept.status).toBe('ACTIVE');
      expect(kept.reviewedBy).toBe(admin2.id);
      expect(kept.reviewedAt).toBe(keptAt);
      expect((await h.bot.deps.store.auditEvents(readOnly.id)).at(-1)).toMatchObject({ actor: admin2.id, detail: 'kept after access review' });
      expect(textOf(edited)).toContain(`Kept by <@${admin2.id}>`);
      expect(edited.text).toBe(original.text);
      const remaining = buttonsIn(edited.blocks ?? []);
      expect(remaining.filter((b) => b.value === readOnly.id)).toEqual([]);
      expect(remaining.filter((b) => b.value === full.id).map((b) => b.label)).toEqual(['Keep', 'Revoke']);
      expect(h.ephemeralsFor(admin2.id)).toEqual([]);

      // Revoke from the same summary.
      expect((await clickOnMessage(h, admin2.id, 'revoke', full.id, summaryOf())).status).toBe(200);
      const revoked = await h.waitForStatus(full.id, 'REVOKED');
      expect(revoked.endedBy).toBe(admin2.id);
      await h.idle();
      const groups = await groupsOf(h.iam, 'jane.doe');
      expect(groups).not.toContain('BillingFull');
      expect(groups).toContain('BillingReadOnly');
      expect(h.ephemeralsFor(admin2.id)).toEqual([]);

      // A non-admin's Revoke changes nothing.
      expect((await clickOnMessage(h, outsider.id, 'revoke', readOnly.id, summaryOf())).status).toBe(200);
      await h.slack.waitFor(() => h.ephemeralsFor(outsider.id).length === 2);
      expect(h.ephemeralsFor(outsider.id)[1]?.text).toContain('Only billing admins can revoke access.');
      expect((await stored(h, readOnly.id)).status).toBe('ACTIVE');
    });
  });

  describe('/request-billing summary', () => {
    it('is refused ephemerally to a non-admin, and nothing is posted', async () => {
      const h = await start({ at: '2030-03-04T09:00:00.000Z' });
      const res = await h.adminCommand(outsider.id, 'summary');
      expect(res.status).toBe(200);
      expect(await waitForAnswer(h, res)).toContain('Only billing admins can post the summary.');
      await h.idle();
      expect(h.slack.calls('chat.postMessage')).toHaveLength(0);
      expect(h.adminMessages()).toHaveLength(0);
    });

    it('posts the last 7 days to the admin channel for an admin and tells them where', async () => {
      const h = await start({ at: '2030-03-04T09:00:00.000Z' });
      await grant(h, employee.id, 'read-only 7d month-end close', admin2.id);
      clock.advanceHours(1);
      const before = h.adminMessages().length;
      const res = await h.adminCommand(admin1.id, 'summary');
      expect(res.status).toBe(200);
      expect(await waitForAnswer(h, res)).toContain(`Summary of the last 7 days posted in <#${ADMIN_CHANNEL}> (1 requests, 1 active grants)`);
      const posted = onDemandSummaries(h);
      expect(h.adminMessages()).toHaveLength(before + 1);
      expect(posted).toHaveLength(1);
      expect(headerOf(posted[0])).toBe(ON_DEMAND_TITLE);
      expect(spanOf(posted[0])).toEqual({ from: '2030-02-25T10:00:00.000Z', to: '2030-03-04T10:00:00.000Z' });
      expect(textOf(posted[0])).toContain('*Requests*\n1');
      expect(weeklySummaries(h)).toHaveLength(0);
    });
  });
});
