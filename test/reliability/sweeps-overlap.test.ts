/**
 * Two sweeps at once (issue 14, suspected duplicate "expired" DMs): in one process (a slow sweep
 * still running when the next one starts) and across two replicas on the same table. The overlap
 * is made deterministic at the HTTP edges: the tests' AWS proxy holds RemoveUserFromGroup (IAM
 * slower than the sweep interval), and a relay in front of the Slack stand-in holds the first
 * sweep's expiry DM at the door, so its notice is still due while the second sweep runs; the
 * second sweep is then let run to its end (or to that same door, if it sends the DM again).
 *
 * Each requester must get exactly one expiry DM and the admins one thread reply per grant
 * (PRODUCT §2: replicas racing tell each person once). A notice the live path could not deliver
 * is sent again by one sweep only, however many overlap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { Sweeper, SweepReport } from '../../src/services/sweeper.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import { admin3, DAY, deliveredGrant, employee, HOUR, MINUTE, outsider, threadOf, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { messageContent, stored } from '../support/scenario-helpers.js';
import { SlackRelay } from '../support/slack-relay.js';

/** Three requesters with a 1-day grant each, a minute apart (so they expire in a known order). */
const HOLDERS = [
  { slackId: employee, iamUser: 'jane.doe' },
  { slackId: outsider.id, iamUser: 'mallory' },
  { slackId: admin3.id, iamUser: 'carol.admin' },
];
/** The next sweep interval (SWEEP_INTERVAL_SECONDS, 300 by default), past the 60 s notice grace. */
const INTERVAL_MS = 5 * MINUTE;

interface Overlap {
  /** For scenario ids: `sweeps-overlap-<name>`. */
  name: string;
  words: string;
  /** The sweeper of the second sweep: the same process's, or a replica's. */
  second(h: Harness): Promise<Sweeper>;
}

const OVERLAPS: Overlap[] = [
  { name: 'one-process', words: 'in one process', second: async (h) => h.bot.deps.sweeper },
  { name: 'two-replicas', words: 'on two replicas', second: async (h) => (await h.startReplica()).deps.sweeper },
];

describe('Two sweeps overlapping over expiring grants', () => {
  const { clock, start } = useClockedHarness();
  let relay: SlackRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  /** A Harness whose bot (and replicas) reach Slack through a relay; three delivered 1-day grants, all due. */
  async function threeDueGrants(): Promise<{ h: Harness; r: SlackRelay; grants: AccessRequest[] }> {
    const h = await start({ users: HOLDERS.map((x) => ({ name: x.iamUser })) });
    relay = await SlackRelay.start(h.slack.apiUrl);
    await h.restartWith({ SLACK_API_URL: relay.apiUrl });
    const grants: AccessRequest[] = [];
    for (const holder of HOLDERS) {
      grants.push(await deliveredGrant(h, holder.slackId, 'read-only 1d month-end close for October'));
      clock.advance(MINUTE);
    }
    clock.advance(DAY + HOUR);
    expect((await h.bot.deps.store.listExpiring('ACTIVE', clock.now().toISOString())).map((g) => g.id)).toEqual(grants.map((g) => g.id));
    return { h, r: relay, grants };
  }

  /**
   * Runs `first` to the relay's door (a DM held there), then `second` until it ends or reaches
   * the same door; opens the door and waits for both.
   */
  async function overlap(h: Harness, r: SlackRelay, first: () => Promise<SweepReport>, second: () => Promise<SweepReport>): Promise<SweepReport[]> {
    const one = first();
    await h.slack.waitFor(() => r.gated >= 1, 15_000);
    let secondEnded = false;
    const two = second().finally(() => {
      secondEnded = true;
    });
    await h.slack.waitFor(() => secondEnded || r.gated >= 2, 15_000);
    r.open();
    const reports = await Promise.all([one, two]);
    await h.idle();
    return reports;
  }

  function expiryDms(h: Harness, userId: string): number {
    return h.dms(userId).filter((m) => /expired/i.test(messageContent(m))).length;
  }

  function expiredReplies(h: Harness, grant: AccessRequest): number {
    return threadOf(h, grant).filter((m) => m.text.includes('Access expired')).length;
  }

  async function expectAllExpired(h: Harness, grants: AccessRequest[]): Promise<void> {
    for (const [i, grant] of grants.entries()) {
      const after = await stored(h, grant.id);
      expect(after.status).toBe('EXPIRED');
      expect(after.noticeDue).toBeUndefined();
      expect(await groupsOf(h.iam, HOLDERS[i]?.iamUser as string)).toEqual([]);
    }
  }

  it.each(OVERLAPS)('$name: IAM slower than the interval; each requester gets one expiry DM and each grant one thread reply', async (o) => {
    const s = scenario({
      id: `sweeps-overlap-expiry-${o.name}`,
      area: 'Replicas',
      injected: `two sweeps ${o.words} over three due grants: RemoveUserFromGroup held past the next interval (the clock moved 5 min), the first sweep's expiry DM held at Slack's door while the second ran`,
    });
    const { h, r, grants } = await threeDueGrants();
    const other = await o.second(h);
    const [slow] = grants as [AccessRequest];

    h.iamProxy.hold('RemoveUserFromGroup');
    const [first, second] = await overlap(
      h,
      r,
      async () => {
        const sweeping = h.sweep();
        await h.slack.waitFor(() => h.iamProxy.held('RemoveUserFromGroup') >= 1);
        // The removal outlasts the interval: the clock moves on before IAM answers.
        clock.advance(INTERVAL_MS);
        r.gate('chat.postMessage', (a) => a.channel === slow.requesterId);
        h.iamProxy.release('RemoveUserFromGroup');
        return sweeping;
      },
      () => other.sweep(),
    );

    // The sweeps did overlap: the first ended the slow grant, the second the others meanwhile; the first lost those.
    expect([first?.expired, second?.expired]).toEqual([1, 2]);
    await expectAllExpired(h, grants);
    for (const grant of grants) {
      expect(expiryDms(h, grant.requesterId), `expiry DMs to ${grant.requesterId}`).toBe(1);
      expect(expiredReplies(h, grant), `thread replies on ${grant.id}`).toBe(1);
    }
    const events = await Promise.all(grants.map((g) => h.bot.deps.store.auditEvents(g.id)));
    for (const e of events) expect(e.filter((x) => x.to === 'EXPIRED')).toHaveLength(1);
    s.held({
      times: 1,
      userSaw: 'each requester: one expiry DM; admins: one "Access expired" reply per grant',
      finalState: 'all three EXPIRED once, out of their groups',
      lost: 'nothing',
    });
  });

  it.each(OVERLAPS)('$name: a notice still due after a Slack failure is sent again by one of two overlapping sweeps', async (o) => {
    const s = scenario({
      id: `sweeps-overlap-redeliver-${o.name}`,
      area: 'Replicas',
      injected: `an expiry thread reply refused by Slack (channel_not_found, once), then two sweeps ${o.words} re-delivering it; the first one's DM held at Slack's door while the second ran`,
    });
    const { h, r, grants } = await threeDueGrants();
    const other = await o.second(h);
    const [owed] = grants as [AccessRequest];
    h.slack.setFault('chat.postMessage', { kind: 'error', error: 'channel_not_found' }, { times: 1, when: (a) => a.thread_ts === owed.adminMessage?.ts });
    const report = await h.sweep();
    expect(report.expired).toBe(3);
    await h.idle();
    expect((await stored(h, owed.id)).noticeDue).toBe('DUE');
    expect(expiredReplies(h, owed)).toBe(0);
    expect(expiryDms(h, owed.requesterId)).toBe(1);

    clock.advance(INTERVAL_MS);
    r.gate('chat.postMessage', (a) => a.channel === owed.requesterId);
    const [first, second] = await overlap(
      h,
      r,
      () => h.sweep(),
      () => other.sweep(),
    );

    expect([first?.redelivered, second?.redelivered]).toEqual([1, 0]);
    await expectAllExpired(h, grants);
    expect(expiredReplies(h, owed)).toBe(1);
    // The live DM, and one more from the sweep that re-sent the notice: twice at worst (PRODUCT §2).
    expect(expiryDms(h, owed.requesterId)).toBe(2);
    for (const grant of grants.slice(1)) {
      expect(expiryDms(h, grant.requesterId)).toBe(1);
      expect(expiredReplies(h, grant)).toBe(1);
    }
    s.held({
      times: 1,
      userSaw:
        'admins: the missing thread reply once, from one of the two sweeps; the requester: the expiry DM twice (live, and with the re-sent notice); the others once',
      finalState: 'all three EXPIRED, noticeDue cleared',
      lost: 'nothing',
    });
  });
});
