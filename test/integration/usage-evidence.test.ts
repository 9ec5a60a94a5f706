/**
 * Usage evidence through the real bot over signed HTTP, with moto for IAM and the tests' AWS proxy
 * answering IAM access advisor (which moto lacks) from what each test sets per user: the access
 * review shows each grant's and member's last use of a billing service, flags grants never used
 * or unused for 30 days with their Revoke button beside the finding, counts them in the headline,
 * and says "usage unknown" with why where access advisor could not be read; the expiry and revoke
 * DMs say whether the access was used, read after the user left the group.
 */
import { AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL } from '../support/harness.js';
import { admin1, admin2, admin3, adminMessageOf, at, DAY, employee, HOUR, MINUTE, outsider, T0, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { eventually } from '../support/process-rig.js';
import { activeGrant, messageContent, stored } from '../support/scenario-helpers.js';
import { blockTexts, buttonsIn } from '../support/summary-fixtures.js';
import { clickOnMessage, memberLine, onDemandSummaries, summaryParts, textOf } from '../support/summary-helpers.js';

/** Slack's date token for an ISO time, as the bot writes it (`<!date^seconds^…`). */
const dateToken = (iso: string) => `<!date^${Math.floor(Date.parse(iso) / 1000)}^`;

/** The text of a grant's section in the summary (the grant line and its usage evidence). */
function grantSection(message: StoredMessage, grant: AccessRequest): string {
  return blockTexts((message.blocks ?? []).filter((b) => (b as { block_id?: string }).block_id === `grant_${grant.id}`)).join('\n');
}

/** The block right after a grant's section: its Keep / Revoke buttons. */
function buttonsBeside(message: StoredMessage, grant: AccessRequest) {
  const blocks = message.blocks ?? [];
  const index = blocks.findIndex((b) => (b as { block_id?: string }).block_id === `grant_${grant.id}`);
  return buttonsIn(blocks.slice(index + 1, index + 2));
}

describe('usage evidence', () => {
  const { clock, start } = useClockedHarness();

  describe('in the access review', () => {
    it('shows used, never used (flagged, Revoke beside it), unused 40 days (flagged), a job in progress then done, and a failed job as usage unknown; the headline counts the unused', async () => {
      const h = await start({ users: ['jane.doe', 'alice.admin', 'bob.admin', 'carol.admin', 'mallory', 'hand.added'].map((name) => ({ name })) });
      const jane = await activeGrant(h, employee, 'read-only 90d month-end close', admin1.id);
      const alice = await activeGrant(h, admin1.id, 'read-only 90d budget review', admin2.id);
      const bob = await activeGrant(h, admin2.id, 'read-only 90d cost anomaly', admin1.id);
      const carol = await activeGrant(h, admin3.id, 'read-only 90d savings plans', admin1.id);
      const mallory = await activeGrant(h, outsider.id, 'read-only 90d invoice check', admin1.id);
      await h.iam.send(new AddUserToGroupCommand({ GroupName: 'BillingReadOnly', UserName: 'hand.added' }));

      clock.set(at(T0, 41 * DAY));
      const now = clock.now().getTime();
      const ago = (ms: number) => new Date(now - ms).toISOString();
      const janeUsed = ago(2 * DAY);
      const bobUsed = at(T0, DAY);
      const carolUsed = ago(3 * DAY);
      const handUsed = ago(5 * DAY);
      // A later use of a service outside BILLING_NAMESPACES does not count.
      h.iamProxy.accessAdvisor('jane.doe', { lastUsed: { ce: janeUsed, s3: ago(HOUR) } });
      h.iamProxy.accessAdvisor('alice.admin', { lastUsed: { s3: ago(DAY) } });
      h.iamProxy.accessAdvisor('bob.admin', { lastUsed: { billing: bobUsed } });
      h.iamProxy.accessAdvisor('carol.admin', { inProgressPolls: 2, lastUsed: { budgets: carolUsed } });
      h.iamProxy.accessAdvisor('mallory', { failure: { code: 'InternalFailure', message: 'The report could not be generated.' } });
      h.iamProxy.accessAdvisor('hand.added', { lastUsed: { 'aws-portal': handUsed } });
      h.iamProxy.resetCounts();

      await h.bot.deps.summaries.postOnDemand(admin3.id, ADMIN_CHANNEL);
      const [summary] = onDemandSummaries(h);
      if (!summary) throw new Error('no summary was posted');
      const parts = summaryParts(h, summary);
      expect(parts).toHaveLength(1);
      const text = textOf(summary);

      // The headline counts the two unused grants, and the one whose usage is unknown.
      expect(text).toContain('*Unused grants*\n2 (usage unknown for 1)');

      // Never used: flagged, with its Revoke button right below the finding.
      expect(grantSection(summary, alice)).toContain(`:warning: *unused*: billing services not used since it was granted ${dateToken(alice.decidedAt ?? '')}`);
      expect(grantSection(summary, alice)).toContain('(never used)');
      expect(buttonsBeside(summary, alice).map((b) => [b.label, b.value])).toEqual([
        ['Keep', alice.id],
        ['Revoke', alice.id],
      ]);
      // Used once, 40 days ago: flagged.
      expect(grantSection(summary, bob)).toContain(`:warning: *unused*: billing services last used ${dateToken(bobUsed)}`);
      expect(grantSection(summary, bob)).toContain('40 days ago');
      expect(buttonsBeside(summary, bob).map((b) => b.label)).toEqual(['Keep', 'Revoke']);
      // Used two days ago: no finding.
      expect(grantSection(summary, jane)).toContain(`billing services last used ${dateToken(janeUsed)}`);
      expect(grantSection(summary, jane)).not.toContain('unused');
      // A job in progress for two polls, then done.
      expect(grantSection(summary, carol)).toContain(`billing services last used ${dateToken(carolUsed)}`);
      expect(grantSection(summary, carol)).not.toContain('unused');
      // A failed job: usage unknown and why, never unused.
      expect(grantSection(summary, mallory)).toContain(':grey_question: usage unknown: the access advisor job failed (InternalFailure)');
      expect(grantSection(summary, mallory)).not.toContain('unused');

      // The unused grants come first.
      const order = (summary.blocks ?? []).flatMap((b) => {
        const id = (b as { block_id?: string }).block_id ?? '';
        return id.startsWith('grant_') ? [id.slice('grant_'.length)] : [];
      });
      expect(order.slice(0, 2).sort()).toEqual([alice.id, bob.id].sort());

      // The access review of the group: every member's last use, the hand-added one's too.
      expect(memberLine(text, 'alice.admin')).toContain(':warning: billing services never used (unused grant: Revoke is offered below)');
      expect(memberLine(text, 'bob.admin')).toContain(`:warning: billing services last used ${dateToken(bobUsed)}`);
      expect(memberLine(text, 'jane.doe')).toContain(`billing services last used ${dateToken(janeUsed)}`);
      expect(memberLine(text, 'jane.doe')).not.toContain(':warning: billing');
      expect(memberLine(text, 'mallory')).toContain('usage unknown: the access advisor job failed');
      expect(memberLine(text, 'hand.added')).toContain(`billing services last used ${dateToken(handUsed)}`);

      // One job per user, ARNs from the review's own GetUser: no extra GetUser for access advisor.
      expect(h.iamProxy.count('GenerateServiceLastAccessedDetails')).toBe(6);
      expect(h.iamProxy.count('GetServiceLastAccessedDetails')).toBe(6 + 2);
      expect(h.iamProxy.count('GetUser')).toBe(6);

      // Revoke beside the finding ends the grant, and alice is told it was not used.
      expect((await clickOnMessage(h, admin2.id, 'revoke', alice.id, summary)).status).toBe(200);
      const revoked = await h.waitForStatus(alice.id, 'REVOKED');
      expect(revoked.usage).toEqual({ known: true });
      await h.idle();
      expect(await groupsOf(h.iam, 'alice.admin')).not.toContain('BillingReadOnly');
      const dm = await h.slack.waitFor(() => h.dms(admin1.id).find((m) => /was ended by/.test(m.text)));
      expect(messageContent(dm)).toContain('Billing services were not used while it was granted');
    });

    it('a grant younger than USAGE_GRACE_HOURS is not called unused; with USAGE_GRACE_HOURS=1 it is', async () => {
      const h = await start({ users: [{ name: 'jane.doe' }] });
      const grant = await activeGrant(h, employee, 'read-only 7d month-end close', admin1.id);
      clock.set(at(T0, 3 * HOUR));
      await h.bot.deps.summaries.postOnDemand(admin1.id, ADMIN_CHANNEL);
      const first = onDemandSummaries(h)[0] as StoredMessage;
      expect(textOf(first)).toContain('*Unused grants*\n0');
      expect(grantSection(first, grant)).toContain('billing services not used yet (granted less than 24 h ago');

      const restarted = await h.restartWith({ USAGE_GRACE_HOURS: '1' });
      await restarted.deps.summaries.postOnDemand(admin1.id, ADMIN_CHANNEL);
      const second = onDemandSummaries(h)[1] as StoredMessage;
      expect(textOf(second)).toContain('*Unused grants*\n1');
      expect(grantSection(second, grant)).toContain(':warning: *unused*: billing services not used since it was granted');
    });

    it('throttling and access denied are "usage unknown" with why, never unused', async () => {
      const h = await start({ users: [{ name: 'jane.doe' }, { name: 'alice.admin' }] });
      const jane = await activeGrant(h, employee, 'read-only 7d month-end close', admin1.id);
      const alice = await activeGrant(h, admin1.id, 'read-only 7d budget review', admin2.id);
      clock.set(at(T0, 10 * DAY));
      const arnOf = (name: string) => (body: string) => decodeURIComponent(body).includes(`user/${name}`);
      // The SDK retries throttling (five attempts); every one is throttled.
      h.iamProxy.failNext(
        'GenerateServiceLastAccessedDetails',
        { status: 400, code: 'Throttling', message: 'Rate exceeded' },
        { times: Number.POSITIVE_INFINITY, match: arnOf('jane.doe') },
      );
      h.iamProxy.failNext(
        'GenerateServiceLastAccessedDetails',
        { status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/bot is not authorized' },
        { times: Number.POSITIVE_INFINITY, match: arnOf('alice.admin') },
      );
      await h.bot.deps.summaries.postOnDemand(admin2.id, ADMIN_CHANNEL);
      const summary = onDemandSummaries(h)[0] as StoredMessage;
      expect(textOf(summary)).toContain('*Unused grants*\n0 (usage unknown for 2)');
      expect(grantSection(summary, jane)).toContain(
        ':grey_question: usage unknown: IAM throttled GenerateServiceLastAccessedDetails (Throttling), after retries',
      );
      expect(grantSection(summary, alice)).toContain(
        ':grey_question: usage unknown: the bot may not call iam:GenerateServiceLastAccessedDetails (AccessDenied)',
      );
      expect(textOf(summary)).not.toContain('*unused*');
      expect(h.iamProxy.failed('GenerateServiceLastAccessedDetails')).toBeGreaterThan(2);
    });
  });

  describe('in the expiry and revoke DMs', () => {
    it('the expiry DM says when billing was last used, or that it was not; the removal never waits for the usage read', async () => {
      const h = await start({ users: [{ name: 'jane.doe' }, { name: 'alice.admin' }] });
      const jane = await activeGrant(h, employee, 'read-only 1d month-end close', admin1.id);
      // A minute later: jane's grant expires first, so the sweep reads her usage first.
      clock.advance(MINUTE);
      const alice = await activeGrant(h, admin1.id, 'read-only 1d budget review', admin2.id);
      const janeUsed = at(T0, 2 * HOUR);
      h.iamProxy.accessAdvisor('jane.doe', { inProgressPolls: 1, lastUsed: { ce: janeUsed } });
      // Used before the grant only: not used while granted.
      h.iamProxy.accessAdvisor('alice.admin', { lastUsed: { billing: at(T0, -20 * DAY) } });

      clock.set(at(T0, 25 * HOUR));
      h.iamProxy.hold('GenerateServiceLastAccessedDetails');
      const sweep = h.sweep();
      await h.slack.waitFor(() => h.iamProxy.held('GenerateServiceLastAccessedDetails') === 1);
      // The first job is held: jane leaves the group all the same, and nobody is told before her usage is read.
      await eventually(
        'jane out of the group while her usage read is held',
        async () => !(await groupsOf(h.iam, 'jane.doe')).includes('BillingReadOnly'),
        10_000,
      );
      expect(h.iamProxy.held('GenerateServiceLastAccessedDetails')).toBe(1);
      expect(h.dms(employee).filter((m) => /expired/.test(m.text))).toHaveLength(0);
      h.iamProxy.release('GenerateServiceLastAccessedDetails');
      const report = await sweep;
      expect(report.expired).toBe(2);
      expect(report.errors).toBe(0);
      await h.idle();

      const janeDm = h.dms(employee).find((m) => /expired/.test(m.text));
      expect(messageContent(janeDm)).toContain(`Billing services were last used ${dateToken(janeUsed)}`);
      expect((await stored(h, jane.id)).usage).toEqual({ known: true, lastUsedAt: janeUsed, service: 'ce' });
      const aliceDm = h.dms(admin1.id).find((m) => /expired/.test(m.text));
      expect(messageContent(aliceDm)).toContain('Billing services were not used while it was granted');
      expect(await groupsOf(h.iam, 'alice.admin')).not.toContain('BillingReadOnly');
      // The admin message says it too.
      expect(messageContent(adminMessageOf(h, await stored(h, alice.id)))).toContain('Billing services were not used while it was granted');
    });

    it('when access advisor cannot be read, the user still leaves the group and is told "usage unknown"; the admins see why', async () => {
      const h = await start({ users: [{ name: 'jane.doe' }] });
      const jane = await activeGrant(h, employee, 'read-only 1d month-end close', admin1.id);
      h.iamProxy.failNext(
        'GenerateServiceLastAccessedDetails',
        { status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/bot is not authorized' },
        { times: Number.POSITIVE_INFINITY },
      );
      clock.set(at(T0, 25 * HOUR));
      const report = await h.sweep();
      expect(report.expired).toBe(1);
      expect(report.errors).toBe(0);
      await h.idle();
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
      const dm = h.dms(employee).find((m) => /expired/.test(m.text));
      expect(messageContent(dm)).toContain('Billing usage unknown: IAM access advisor could not be read.');
      expect(messageContent(dm)).not.toContain('AccessDenied');
      const ended = await stored(h, jane.id);
      expect(ended.status).toBe('EXPIRED');
      expect(ended.usage).toEqual({ known: false, reason: 'the bot may not call iam:GenerateServiceLastAccessedDetails (AccessDenied)' });
      expect(messageContent(adminMessageOf(h, ended))).toContain(
        'Billing usage unknown: the bot may not call iam:GenerateServiceLastAccessedDetails (AccessDenied)',
      );
    });

    it('the DM of a holder who ends their own access with done says it was used', async () => {
      const h = await start({ users: [{ name: 'jane.doe' }] });
      const jane = await activeGrant(h, employee, 'read-only 7d month-end close', admin1.id);
      const used = at(T0, HOUR);
      h.iamProxy.accessAdvisor('jane.doe', { lastUsed: { 'cost-optimization-hub': at(T0, 2 * HOUR), ce: used } });
      clock.set(at(T0, 3 * HOUR));
      const res = await h.command(employee, 'done');
      expect(res.status).toBe(200);
      const ended = await h.waitForStatus(jane.id, 'REVOKED');
      expect(ended.usage).toEqual({ known: true, lastUsedAt: used, service: 'ce' });
      const dm = await h.slack.waitFor(() => h.dms(employee).find((m) => /was ended by/.test(m.text)));
      expect(messageContent(dm)).toContain(`Billing services were last used ${dateToken(used)}`);
    });
  });
});
