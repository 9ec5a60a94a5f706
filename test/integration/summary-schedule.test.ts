/**
 * When the weekly summary is posted: exactly once per period however many replicas sweep, nothing
 * from before a new install, missed firings posted once and marked late, and a period claimed by a
 * replica that crashed before posting recovered once after its lease ran out.
 */
import { describe, expect, it } from 'vitest';
import { at, MINUTE, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { headerOf, spanOf, WEEKLY_TITLE, weeklySummaries } from '../support/summary-helpers.js';
import { EVERY_MINUTE, HOURLY } from '../support/summary-schedules.js';

describe('weekly summary', () => {
  const { clock, start } = useClockedHarness();

  /** Both replicas (or one) run the scheduler's sweep at the same moment. */
  async function runDueOn(...services: { runDue(): Promise<number> }[]): Promise<number> {
    const counts = await Promise.all(services.map((s) => s.runDue()));
    return counts.reduce((a, b) => a + b, 0);
  }

  describe('exactly once per period', () => {
    const T0 = '2030-03-04T09:00:30.000Z';

    it('two replicas on the same table with an every-minute schedule post exactly one summary per minute', async () => {
      const h = await start({ at: T0, env: EVERY_MINUTE });
      const replica = await h.startReplica(clock);
      expect(await runDueOn(h.bot.deps.summaries, replica.deps.summaries)).toBe(0);
      expect(weeklySummaries(h)).toHaveLength(0);

      for (let minute = 1; minute <= 3; minute++) {
        clock.advance(MINUTE);
        expect(await runDueOn(h.bot.deps.summaries, replica.deps.summaries)).toBe(1);
        const posted = weeklySummaries(h);
        expect(posted).toHaveLength(minute);
        expect(spanOf(posted[minute - 1]).to).toBe(at('2030-03-04T09:00:00.000Z', minute * MINUTE));
      }
      // A repeated sweep on either replica posts nothing more.
      expect(await runDueOn(h.bot.deps.summaries, replica.deps.summaries)).toBe(0);
      expect(weeklySummaries(h)).toHaveLength(3);
      expect(new Set(weeklySummaries(h).map((m) => spanOf(m).to)).size).toBe(3);
    });

    it('a new install posts nothing old: firings before the first start are never posted', async () => {
      const WEDNESDAY = '2030-03-06T12:00:00.000Z';
      const h = await start({ at: WEDNESDAY });
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      expect(await h.bot.deps.store.getPeriod('2030-03-04T09:00:00.000Z')).toBeUndefined();

      clock.set('2030-03-11T09:00:10.000Z');
      expect(await h.bot.deps.summaries.runDue()).toBe(1);
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      const posted = weeklySummaries(h);
      expect(posted).toHaveLength(1);
      expect(spanOf(posted[0])).toEqual({ from: '2030-03-04T09:00:00.000Z', to: '2030-03-11T09:00:00.000Z' });
      expect(headerOf(posted[0])).toBe(WEEKLY_TITLE);
      expect(await h.bot.deps.store.getPeriod('2030-03-04T09:00:00.000Z')).toBeUndefined();
    });

    it('a new install on an every-minute schedule posts nothing on its first sweep', async () => {
      const h = await start({ at: T0, env: EVERY_MINUTE });
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      expect(h.slack.calls('chat.postMessage')).toHaveLength(0);
    });

    it('firings missed while no replica ran are posted once, marked late; never twice (hourly schedule)', async () => {
      const h = await start({ at: T0, env: HOURLY });
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      clock.set('2030-03-04T10:00:30.000Z');
      expect(await h.bot.deps.summaries.runDue()).toBe(1);

      clock.set('2030-03-04T13:00:30.000Z');
      expect(await h.bot.deps.summaries.runDue()).toBe(3);
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      const posted = weeklySummaries(h);
      expect(posted.map((m) => spanOf(m).to)).toEqual([
        '2030-03-04T10:00:00.000Z',
        '2030-03-04T11:00:00.000Z',
        '2030-03-04T12:00:00.000Z',
        '2030-03-04T13:00:00.000Z',
      ]);
      expect(posted.map(headerOf)).toEqual([WEEKLY_TITLE, `${WEEKLY_TITLE} (late)`, `${WEEKLY_TITLE} (late)`, WEEKLY_TITLE]);
      expect(posted[1]?.text.startsWith(`${WEEKLY_TITLE} (late):`)).toBe(true);
    });

    it('a firing missed on an every-minute schedule (3 minutes without a sweep) is posted once, marked late; never twice', async () => {
      const h = await start({ at: T0, env: EVERY_MINUTE });
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      clock.advance(MINUTE);
      expect(await h.bot.deps.summaries.runDue()).toBe(1);

      clock.advance(3 * MINUTE);
      expect(await h.bot.deps.summaries.runDue()).toBe(3);
      expect(await h.bot.deps.summaries.runDue()).toBe(0);
      const posted = weeklySummaries(h);
      expect(posted.map((m) => spanOf(m).to)).toEqual([
        '2030-03-04T09:01:00.000Z',
        '2030-03-04T09:02:00.000Z',
        '2030-03-04T09:03:00.000Z',
        '2030-03-04T09:04:00.000Z',
      ]);
      // 09:02 and 09:03 passed with no replica sweeping: they are the missed ones.
      expect(posted.map(headerOf)).toEqual([WEEKLY_TITLE, `${WEEKLY_TITLE} (late)`, `${WEEKLY_TITLE} (late)`, WEEKLY_TITLE]);
    });

    it('a crash between claim and post is left alone while its lease runs, then posted exactly once (hourly schedule)', async () => {
      const h = await start({ at: T0, env: HOURLY });
      const summaries = h.bot.deps.summaries;
      const store = h.bot.deps.store;
      expect(await summaries.runDue()).toBe(0);

      const firingAt = '2030-03-04T10:00:00.000Z';
      clock.set('2030-03-04T10:00:10.000Z');
      // A replica claims with a 30-second lease, then dies before posting: nothing renews it.
      expect(await store.claimPeriod(firingAt, 'dead-replica', clock.now().toISOString(), '2030-03-04T10:00:40.000Z')).toBe(true);

      expect(await summaries.runDue()).toBe(0);
      clock.set('2030-03-04T10:00:40.000Z');
      expect(await summaries.runDue()).toBe(0);
      expect(weeklySummaries(h)).toHaveLength(0);
      expect(await store.getPeriod(firingAt)).toMatchObject({ claimedBy: 'dead-replica', posted: false });

      clock.set('2030-03-04T10:00:41.000Z');
      expect(await summaries.runDue()).toBe(1);
      expect(await summaries.runDue()).toBe(0);
      const posted = weeklySummaries(h);
      expect(posted).toHaveLength(1);
      expect(spanOf(posted[0])).toEqual({ from: '2030-03-04T09:00:00.000Z', to: firingAt });
      const period = await store.getPeriod(firingAt);
      expect(period?.posted).toBe(true);
      expect(period?.claimedBy).not.toBe('dead-replica');
      expect(period?.postedAt).toBe('2030-03-04T10:00:41.000Z');
    });

    it('a crash between claim and post on an every-minute schedule is recovered once after its lease ran out', async () => {
      const h = await start({ at: T0, env: EVERY_MINUTE });
      const summaries = h.bot.deps.summaries;
      const store = h.bot.deps.store;
      expect(await summaries.runDue()).toBe(0);

      const firingAt = '2030-03-04T09:01:00.000Z';
      clock.set('2030-03-04T09:01:10.000Z');
      expect(await store.claimPeriod(firingAt, 'dead-replica', clock.now().toISOString(), '2030-03-04T09:01:40.000Z')).toBe(true);
      expect(await summaries.runDue()).toBe(0);

      // Sweeping every minute through the lease and beyond.
      for (let i = 0; i < 8; i++) {
        clock.advance(MINUTE);
        await summaries.runDue();
      }
      const recovered = weeklySummaries(h).filter((m) => spanOf(m).to === firingAt);
      expect(recovered).toHaveLength(1);
      expect((await store.getPeriod(firingAt))?.posted).toBe(true);
    });
  });
});
