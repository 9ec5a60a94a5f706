/**
 * SummaryService over its ports (PRODUCT §1 "Weekly summary", access review, Keep): posted
 * exactly once per period across replicas and crashes, late firings posted once, nothing old on
 * a new install, the period's contents, the IAM review, on-demand posting, and Keep.
 * The schedule is the default, Monday 09:00 UTC; START is Monday 2030-01-07 09:00 UTC.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { summarySchedule } from '../../src/deps.js';
import { NotAllowedError, RequestNotFoundError, RequestRefusedError } from '../../src/errors.js';
import { GroupMembership } from '../../src/services/membership.js';
import { type SummaryPoster, SummaryService } from '../../src/services/summary-service.js';
import { ACTORS, ADMIN_CHANNEL, at, buildRig, DAY, HOUR, MINUTE, OTHER_CHANNEL, type Rig, refusal, refused, START } from '../support/fakes.js';
import { MemoryRequestStore } from '../support/memory-store.js';

const WEEK = 7 * DAY;

describe('runDue: exactly once per period', () => {
  it("posts each firing's period once, with the requests created in it by outcome; a second replica posts nothing", async () => {
    const a = buildRig({ replicaId: 'replica-a' });
    const b = buildRig({ store: a.store, iam: a.iam, clock: a.clock, replicaId: 'replica-b' });
    a.clock.set(at(-HOUR));
    expect(await a.services.summaries.runDue()).toBe(0);

    // Before this Monday's firing: in the period that ends at START.
    a.clock.set(at(-30 * MINUTE));
    const { request: early } = await a.submit('carol', 'read-only');
    a.clock.set(at(30_000));
    expect(await a.services.summaries.runDue()).toBe(1);
    expect(a.notifier.summaries[0]).toMatchObject({ from: at(-WEEK), to: START, late: false, onDemand: false, stats: { total: 1 } });

    // The week: one granted after 30 min, one denied after 90 min.
    a.clock.set(at(DAY + HOUR));
    const { request: granted } = await a.submit('jane', 'read-only');
    a.clock.advance(30 * MINUTE);
    await a.approve('alice', granted.id);
    a.clock.set(at(2 * DAY + HOUR));
    const { request: denied } = await a.submit('joe', 'read-only');
    a.clock.advance(90 * MINUTE);
    await a.deny('bob', denied.id, 'not needed');

    a.clock.set(at(WEEK + 30_000));
    expect(await a.services.summaries.runDue()).toBe(1);
    expect(await a.services.summaries.runDue()).toBe(0);
    expect(await b.services.summaries.runDue()).toBe(0);
    expect(a.notifier.summaries).toHaveLength(2);
    expect(b.notifier.summaries).toHaveLength(0);

    const report = a.notifier.summaries[1];
    expect(report).toMatchObject({
      from: START,
      to: at(WEEK),
      late: false,
      stats: { total: 2, byStatus: { ACTIVE: 1, DENIED: 1 }, medianDecisionMinutes: 60 },
    });
    // Carol's request still waits: past half the timeout, it is listed (and was counted in its own period, not this one).
    expect(report?.stalePending.map((r) => r.id)).toEqual([early.id]);
    expect(report?.stalePendingHours).toBe(12);
    expect(await a.store.getPeriod(at(WEEK))).toMatchObject({ posted: true, claimedBy: 'replica-a' });
  });

  it('firings missed while no replica ran are posted once when one is back, oldest first, marked late', async () => {
    const rig = buildRig();
    rig.clock.set(at(-HOUR));
    expect(await rig.services.summaries.runDue()).toBe(0);
    rig.clock.set(at(WEEK + DAY + 3 * HOUR));
    expect(await rig.services.summaries.runDue()).toBe(2);
    expect(rig.notifier.summaries.map((s) => [s.from, s.to, s.late])).toEqual([
      [at(-WEEK), START, true],
      [START, at(WEEK), true],
    ]);
    expect(await rig.services.summaries.runDue()).toBe(0);
    expect(rig.notifier.summaries).toHaveLength(2);
  });

  it('only the latest firing, caught within minutes, is on time: the earlier ones a replica missed are late', async () => {
    // Every minute, so that missed firings are still recent.
    const rig = buildRig({ config: { summaryCron: '* * * * *' } });
    rig.clock.set(at(-2 * MINUTE - 30_000));
    expect(await rig.services.summaries.runDue()).toBe(0);
    rig.clock.set(at(30_000));
    expect(await rig.services.summaries.runDue()).toBe(3);
    expect(rig.notifier.summaries.map((s) => [s.to, s.late])).toEqual([
      [at(-2 * MINUTE), true],
      [at(-MINUTE), true],
      [START, false],
    ]);
  });

  it('a new install posts nothing from before it started, then the next firing on time', async () => {
    const rig = buildRig();
    rig.clock.set(at(2 * DAY));
    expect(await rig.services.summaries.runDue()).toBe(0);
    expect(rig.notifier.summaries).toEqual([]);
    rig.clock.set(at(WEEK + MINUTE));
    expect(await rig.services.summaries.runDue()).toBe(1);
    expect(rig.notifier.summaries[0]).toMatchObject({ from: START, to: at(WEEK), late: false });
  });

  it('a replica that claimed a period and died before posting: another posts it once the 30-second lease lapsed, and only then', async () => {
    const a = buildRig({ replicaId: 'replica-a' });
    const b = buildRig({ store: a.store, iam: a.iam, clock: a.clock, replicaId: 'replica-b' });
    a.clock.set(at(-HOUR));
    await a.services.summaries.runDue();

    a.clock.set(at(30_000));
    a.notifier.down.add('postSummary');
    await expect(a.services.summaries.runDue()).rejects.toThrow(/postSummary/);
    expect(await a.store.getPeriod(START)).toMatchObject({ posted: false, claimedBy: 'replica-a', leaseUntil: at(60_000) });

    a.clock.set(at(60_000));
    expect(await b.services.summaries.runDue()).toBe(0);
    a.clock.set(at(60_001));
    expect(await b.services.summaries.runDue()).toBe(1);
    expect(await a.store.getPeriod(START)).toMatchObject({ posted: true, claimedBy: 'replica-b' });

    a.notifier.down.delete('postSummary');
    a.clock.set(at(10 * MINUTE));
    expect(await a.services.summaries.runDue()).toBe(0);
    expect(a.notifier.summaries).toHaveLength(0);
    expect(b.notifier.summaries).toHaveLength(1);
  });

  it('a claimant whose post failed posts the period again at its next run, without waiting for its own lease', async () => {
    const a = buildRig({ replicaId: 'replica-a' });
    a.clock.set(at(-HOUR));
    await a.services.summaries.runDue();
    a.clock.set(at(30_000));
    a.notifier.down.add('postSummary');
    await expect(a.services.summaries.runDue()).rejects.toThrow(/postSummary/);

    a.notifier.down.delete('postSummary');
    a.clock.set(at(35_000));
    expect(await a.services.summaries.runDue()).toBe(1);
    expect(await a.services.summaries.runDue()).toBe(0);
    expect(a.notifier.summaries).toHaveLength(1);
  });

  it('two runs at once in one process (the cron and a sweep) post the period once', async () => {
    const a = buildRig({ replicaId: 'replica-a' });
    a.clock.set(at(-HOUR));
    await a.services.summaries.runDue();
    a.clock.set(at(30_000));
    const counts = await Promise.all([a.services.summaries.runDue(), a.services.summaries.runDue()]);
    expect(counts.sort()).toEqual([0, 1]);
    expect(a.notifier.summaries).toHaveLength(1);
  });
});

/** Polls `check` until it holds (the lease's renewals run on a real timer). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${what}`);
}

/** A store whose first listCreatedBetween (the start of a build) runs `duringBuild` first. */
class StallingStore extends MemoryRequestStore {
  duringBuild: (() => Promise<void>) | undefined;

  override async listCreatedBetween(from: string, to: string) {
    const during = this.duringBuild;
    this.duringBuild = undefined;
    await during?.();
    return super.listCreatedBetween(from, to);
  }
}

/** A SummaryService over a rig's parts with its own poster and lease length (as src/deps.ts wires it otherwise). */
function summaryService(rig: Rig, replicaId: string, poster: SummaryPoster, claimLeaseMs: number): SummaryService {
  return new SummaryService({
    config: rig.config,
    store: rig.store,
    iam: rig.iam,
    admins: rig.services.admins,
    membership: new GroupMembership(rig.store),
    identity: rig.services.identity,
    poster,
    clock: rig.clock,
    log: pino({ level: 'silent' }),
    replicaId,
    schedule: summarySchedule(rig.config),
    claimLeaseMs,
  });
}

describe('runDue: the claim is a lease its claimant renews', () => {
  it('a claimant that takes long to post keeps the period: its renewals hold the lease, and no other replica posts it', async () => {
    const rig = buildRig({ replicaId: 'replica-a' });
    const b = buildRig({ store: rig.store, iam: rig.iam, clock: rig.clock, replicaId: 'replica-b' });
    rig.clock.set(at(-HOUR));
    await b.services.summaries.runDue();
    const posts: string[] = [];
    const slowPoster: SummaryPoster = {
      async postSummary() {
        // Slack takes ten minutes by the clock: far past the 60 ms lease, renewed meanwhile.
        rig.clock.advance(10 * MINUTE);
        await until('a renewal after the wait', async () => ((await rig.store.getPeriod(START))?.leaseUntil ?? '') > rig.clock.now().toISOString());
        expect(await b.services.summaries.runDue()).toBe(0);
        posts.push('replica-a');
      },
    };
    rig.clock.set(at(30_000));
    expect(await summaryService(rig, 'replica-a', slowPoster, 60).runDue()).toBe(1);
    expect(posts).toEqual(['replica-a']);
    expect(b.notifier.summaries).toHaveLength(0);
    expect(await rig.store.getPeriod(START)).toMatchObject({ posted: true, claimedBy: 'replica-a' });
  });

  it('a claimant that stalled past its lease while it built the report, and was taken over, posts nothing', async () => {
    const store = new StallingStore();
    const a = buildRig({ store, replicaId: 'replica-a' });
    const b = buildRig({ store, iam: a.iam, clock: a.clock, replicaId: 'replica-b' });
    a.clock.set(at(-HOUR));
    await a.services.summaries.runDue();
    a.clock.set(at(30_000));
    store.duringBuild = async () => {
      a.clock.advance(MINUTE);
      expect(await b.services.summaries.runDue()).toBe(1);
    };
    expect(await a.services.summaries.runDue()).toBe(0);
    expect(a.notifier.calls).not.toContain('postSummary');
    expect(b.notifier.summaries).toHaveLength(1);
    expect(await store.getPeriod(START)).toMatchObject({ posted: true, claimedBy: 'replica-b' });
  });

  it('a claimant taken over while it posts stops before its next message, and does not mark the period', async () => {
    const rig = buildRig({ replicaId: 'replica-a' });
    const b = buildRig({ store: rig.store, iam: rig.iam, clock: rig.clock, replicaId: 'replica-b' });
    rig.clock.set(at(-HOUR));
    await b.services.summaries.runDue();
    const sent: string[] = [];
    const stallingPoster: SummaryPoster = {
      async postSummary(_report, options) {
        sent.push('part 1');
        // This replica stalls past its lease; another takes the period over and posts it.
        rig.clock.advance(MINUTE);
        expect(await b.services.summaries.runDue()).toBe(1);
        await until('the renewal to find the period taken over', () => options?.signal?.aborted === true);
        options?.signal?.throwIfAborted();
        sent.push('part 2');
      },
    };
    rig.clock.set(at(30_000));
    expect(await summaryService(rig, 'replica-a', stallingPoster, 60).runDue()).toBe(0);
    expect(sent).toEqual(['part 1']);
    expect(b.notifier.summaries).toHaveLength(1);
    expect(await rig.store.getPeriod(START)).toMatchObject({ posted: true, claimedBy: 'replica-b' });
  });
});

describe('the access review, read from IAM', () => {
  it('lists each member with the grants that explain it, MFA, and members added by hand as drift (report: kept)', async () => {
    const rig = buildRig();
    const jane = await rig.grant('jane', 'read-only');
    const joe = await rig.grant('joe', 'read-only', { durationDays: 30 });
    rig.iam.handEdit('add', 'bob.admin', 'BillingReadOnly');
    rig.iam.setMfa('gus', false);
    rig.iam.handEdit('add', 'gus', 'BillingFull');
    rig.clock.set(at(DAY));

    const report = await rig.services.summaries.build(START, at(DAY));
    const readOnly = report.groups.find((g) => g.groupName === 'BillingReadOnly');
    const full = report.groups.find((g) => g.groupName === 'BillingFull');
    expect(readOnly?.members).toEqual([
      expect.objectContaining({ userName: 'jane.doe', grantIds: [jane.id], mfa: true, drift: false, removed: false }),
      expect.objectContaining({ userName: 'Joe.Smith', grantIds: [joe.id], mfa: true, drift: false, removed: false }),
      expect.objectContaining({ userName: 'bob.admin', grantIds: [], drift: true, removed: false }),
    ]);
    expect(full?.members).toEqual([expect.objectContaining({ userName: 'gus', mfa: false, drift: true, removed: false })]);
    expect(readOnly?.policyProblems).toEqual([]);
    expect(report.driftPolicy).toBe('report');
    // Reported, not removed.
    expect(rig.iam.isMember('bob.admin', 'BillingReadOnly')).toBe(true);
    expect(rig.iam.isMember('gus', 'BillingFull')).toBe(true);

    expect(report.activeGrants.map((g) => g.id).sort()).toEqual([jane.id, joe.id].sort());
    // Expiring in the next 7 days: jane's (day 7), not joe's (day 30).
    expect(report.expiringSoon.map((g) => g.id)).toEqual([jane.id]);
  });

  it('DRIFT_POLICY=remove takes hand-added members out, says so, and audits it; holders of grants stay', async () => {
    const rig = buildRig({ config: { driftPolicy: 'remove' } });
    await rig.grant('jane', 'read-only');
    rig.iam.handEdit('add', 'bob.admin', 'BillingReadOnly');
    const report = await rig.services.summaries.build(at(-WEEK), START);
    const readOnly = report.groups.find((g) => g.groupName === 'BillingReadOnly');
    expect(readOnly?.members.find((m) => m.userName === 'bob.admin')).toMatchObject({ drift: true, removed: true });
    expect(readOnly?.members.find((m) => m.userName === 'jane.doe')).toMatchObject({ drift: false, removed: false });
    expect(rig.iam.isMember('bob.admin', 'BillingReadOnly')).toBe(false);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect(await rig.looseAudit('drift:BillingReadOnly:bob.admin')).toEqual([
      expect.objectContaining({
        actor: 'system',
        from: 'MEMBER',
        to: 'REMOVED',
        at: START,
        detail: expect.stringContaining('removed bob.admin from BillingReadOnly'),
      }),
    ]);
  });

  it('names any policy on a group beyond the expected one', async () => {
    const rig = buildRig();
    const real = rig.iam.groupPolicies.bind(rig.iam);
    rig.iam.groupPolicies = async (groupName: string) => {
      const state = await real(groupName);
      return groupName === 'BillingFull'
        ? { ...state, attachedPolicyArns: [...state.attachedPolicyArns, 'arn:aws:iam::aws:policy/AdministratorAccess'], inlinePolicyNames: ['extra'] }
        : state;
    };
    const report = await rig.services.summaries.build(at(-WEEK), START);
    expect(report.groups.find((g) => g.groupName === 'BillingReadOnly')?.policyProblems).toEqual([]);
    expect(report.groups.find((g) => g.groupName === 'BillingFull')?.policyProblems).toEqual([
      'unexpected managed policy arn:aws:iam::aws:policy/AdministratorAccess',
      'inline policy extra',
    ]);
  });

  it('a group IAM cannot read is reported as such; the other groups and the summary still go out', async () => {
    const rig = buildRig();
    await rig.grant('jane', 'read-only');
    const real = rig.iam.groupMembers.bind(rig.iam);
    rig.iam.groupMembers = async (groupName) => {
      if (groupName === 'BillingFull') throw Object.assign(new Error('User is not authorized to perform iam:GetGroup'), { name: 'AccessDenied' });
      return real(groupName);
    };
    await rig.services.summaries.postOnDemand(ACTORS.bob.id, ADMIN_CHANNEL);
    expect(rig.notifier.summaries).toHaveLength(1);
    const report = rig.notifier.summaries[0];
    expect(report?.groups.find((g) => g.groupName === 'BillingFull')?.error).toMatch(/^AccessDenied: /);
    expect(report?.groups.find((g) => g.groupName === 'BillingReadOnly')?.members.map((m) => m.userName)).toEqual(['jane.doe']);
  });
});

describe('postOnDemand (/request-billing summary)', () => {
  it('an admin in the admin channel gets the last 7 days, posted at once and not claimed as a period', async () => {
    const rig = buildRig();
    rig.clock.set(at(-5 * DAY));
    await rig.submit('joe', 'read-only');
    rig.clock.set(at(DAY));
    const { request } = await rig.submit('jane', 'read-only');
    rig.clock.set(at(3 * DAY));
    const report = await rig.services.summaries.postOnDemand(ACTORS.alice.id, ADMIN_CHANNEL);
    expect(report).toMatchObject({ from: at(-4 * DAY), to: at(3 * DAY), onDemand: true, late: false, stats: { total: 1, byStatus: { PENDING: 1 } } });
    expect(rig.notifier.summaries).toHaveLength(1);
    expect(rig.notifier.summaries[0]?.stalePending.map((r) => r.id)).toContain(request.id);
    expect(rig.store.periods.size).toBe(0);
  });

  it.each([
    ['a non-admin', 'jane', ADMIN_CHANNEL, 'Only billing admins can post the summary.'],
    ['an admin outside the admin channel', 'alice', OTHER_CHANNEL, 'The summary is only posted from the admin channel.'],
    ['a command naming no channel', 'alice', undefined, 'The summary is only posted from the admin channel.'],
  ] as const)('is refused for %s; nothing is posted', async (_, who, channel, message) => {
    const rig = buildRig();
    const { err, text } = await refused(rig.services.summaries.postOnDemand(ACTORS[who].id, channel));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(text).toBe(message);
    expect(rig.notifier.summaries).toEqual([]);
  });
});

describe('Keep (the access review from the summary)', () => {
  it('records who reviewed the grant and when, on the item and the audit trail; the grant is unchanged otherwise', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    rig.clock.set(at(DAY));
    const kept = await rig.services.summaries.keep({ userId: ACTORS.bob.id, channelId: ADMIN_CHANNEL, requestId: grant.id });
    expect(kept).toMatchObject({ status: 'ACTIVE', reviewedBy: ACTORS.bob.id, reviewedAt: at(DAY), expiresAt: grant.expiresAt });
    expect(await rig.stored(grant.id)).toMatchObject({ status: 'ACTIVE', reviewedBy: ACTORS.bob.id, reviewedAt: at(DAY), expiresAt: grant.expiresAt });
    expect((await rig.trail(grant.id)).at(-1)).toMatchObject({ actor: ACTORS.bob.id, at: at(DAY), to: 'ACTIVE' });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });

  it('is refused for a non-admin, outside the admin channel, and on one’s own grant', async () => {
    const rig = buildRig();
    const janes = await rig.grant('jane', 'read-only');
    const alices = await rig.grant('alice', 'read-only');
    const cases = [
      [{ userId: ACTORS.joe.id, channelId: ADMIN_CHANNEL, requestId: janes.id }, 'Only billing admins can review access.'],
      [{ userId: ACTORS.bob.id, channelId: OTHER_CHANNEL, requestId: janes.id }, 'Access reviews are only taken in the admin channel.'],
      [{ userId: ACTORS.bob.id, channelId: undefined, requestId: janes.id }, 'Access reviews are only taken in the admin channel.'],
      [{ userId: ACTORS.alice.id, channelId: ADMIN_CHANNEL, requestId: alices.id }, 'You cannot review your own access; another admin must.'],
    ] as const;
    for (const [click, message] of cases) {
      const { err, text } = await refused(rig.services.summaries.keep(click));
      expect(err).toBeInstanceOf(NotAllowedError);
      expect(text).toBe(message);
    }
    expect((await rig.stored(janes.id)).reviewedBy).toBeUndefined();
    expect((await rig.stored(alices.id)).reviewedBy).toBeUndefined();
  });

  it("is refused for one's own IAM user from a second Slack account", async () => {
    const rig = buildRig();
    const alices = await rig.grant('alice', 'read-only');
    await rig.services.requests.link(ACTORS.carol.id, ADMIN_CHANNEL, ACTORS.aliceAlt.id, 'alice.admin');
    const { err, text } = await refused(rig.services.summaries.keep({ userId: ACTORS.aliceAlt.id, channelId: ADMIN_CHANNEL, requestId: alices.id }));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(text).toBe('The IAM user alice.admin is your own, so you cannot keep its access from any Slack account; another admin must.');
    expect((await rig.stored(alices.id)).reviewedBy).toBeUndefined();
  });

  it('is refused on a grant that is no longer active, and on an unknown id', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    rig.clock.set(at(WEEK));
    await rig.services.sweeper.sweep();
    const { err, text } = await refused(rig.services.summaries.keep({ userId: ACTORS.bob.id, channelId: ADMIN_CHANNEL, requestId: grant.id }));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('That grant is no longer active (expired).');
    expect((await rig.stored(grant.id)).reviewedBy).toBeUndefined();
    const unknown = await refusal(rig.services.summaries.keep({ userId: ACTORS.bob.id, channelId: ADMIN_CHANNEL, requestId: '01JZZZZZZZZZZZZZZZZZZZZZZZ' }));
    expect(unknown).toBeInstanceOf(RequestNotFoundError);
  });
});
