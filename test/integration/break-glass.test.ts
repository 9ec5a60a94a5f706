import { afterEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { ManualClock } from '../support/clock.js';
import { Harness, PEOPLE } from '../support/harness.js';

describe('break-glass', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('grants at once for at most BREAK_GLASS_MAX_HOURS, loudly, with a Revoke button', async () => {
    const clock = new ManualClock('2030-05-06T10:00:00.000Z');
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), clock, env: { BREAK_GLASS_MAX_HOURS: '4' } });
    const res = await h.command(PEOPLE.employee.id, 'read-only break-glass production outage, need cost data now');
    expect(res.status).toBe(200);
    const granted = await h.slack.waitFor(() => h?.replies(res.key)[0]);
    expect(granted).toContain('Break-glass access granted');
    const [stored] = await h.requestsOf(PEOPLE.employee.id);
    expect(stored?.status).toBe('ACTIVE');
    expect(stored?.breakGlass).toBe(true);
    expect(stored?.decidedBy).toBe(PEOPLE.employee.id);
    expect(stored?.expiresAt).toBe('2030-05-06T14:00:00.000Z');
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    await h.idle();
    const [message] = h.adminMessages();
    expect(message?.text).toContain('BREAK-GLASS');
    expect(JSON.stringify(message?.blocks)).toContain('"Revoke"');
    const events = await h.bot.deps.store.auditEvents(stored?.id ?? '');
    expect(events.map((e) => e.to)).toEqual(['APPROVED', 'ACTIVE']);
  });

  it('is refused, changing nothing, when BREAK_GLASS_MAX_HOURS is not set', async () => {
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint() });
    const res = await h.command(PEOPLE.employee.id, 'read-only break-glass production outage, need cost data now');
    expect(JSON.stringify(res.json)).toContain('Break-glass is not enabled');
    expect(await h.requestsOf(PEOPLE.employee.id)).toEqual([]);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
  });

  describe('cannot be stretched', () => {
    const BREAK_GLASS = 'read-only break-glass production outage, need cost data now';
    /** A harness at 10:00 where the employee has just taken read-only break-glass (until 14:00). */
    async function startWithBreakGlass(): Promise<{ h: Harness; clock: ManualClock; grant: AccessRequest }> {
      const clock = new ManualClock('2030-05-06T10:00:00.000Z');
      const started = await Harness.start({
        awsEndpoint: workerAwsEndpoint(),
        clock,
        env: { BREAK_GLASS_MAX_HOURS: '4', MAX_DURATION_DAYS: '90', APPROVALS_REQUIRED: 'full=1' },
      });
      h = started;
      const first = await started.command(PEOPLE.employee.id, BREAK_GLASS);
      expect(await started.slack.waitFor(() => started.replies(first.key)[0])).toContain('Break-glass access granted');
      await started.idle();
      const [grant] = await started.requestsOf(PEOPLE.employee.id);
      if (!grant) throw new Error('no break-glass grant was stored');
      expect(grant.expiresAt).toBe('2030-05-06T14:00:00.000Z');
      return { h: started, clock, grant };
    }

    it('a second break-glass on the level it holds is refused: no extension, the expiry stays within its hours of the grant', async () => {
      const { h, clock, grant } = await startWithBreakGlass();

      // Repeated every hour, break-glass used to be stored as an extension moving the expiry by days.
      for (let i = 0; i < 3; i++) {
        clock.advanceHours(1);
        const again = await h.command(PEOPLE.employee.id, BREAK_GLASS);
        const reply = await h.slack.waitFor(() => h.replies(again.key)[0]);
        expect(reply).toContain('break-glass is refused');
        expect(reply).toContain(grant.id);
      }
      await h.idle();
      const mine = await h.requestsOf(PEOPLE.employee.id);
      expect(mine).toHaveLength(1);
      expect(mine[0]?.expiresAt).toBe('2030-05-06T14:00:00.000Z');
      expect(h.adminMessages()).toHaveLength(1);

      // Past its hours the sweeper ends it like any grant.
      clock.set('2030-05-06T14:00:00.000Z');
      expect((await h.sweep()).expired).toBe(1);
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    });

    it('a break-glass on another level while one is live is refused', async () => {
      const { h, clock } = await startWithBreakGlass();
      clock.advanceHours(3);
      const other = await h.command(PEOPLE.employee.id, 'full break-glass production outage, need to fix the card');
      const reply = await h.slack.waitFor(() => h.replies(other.key)[0]);
      expect(reply).toContain('only one break-glass grant may be live');
      await h.idle();
      expect(await h.requestsOf(PEOPLE.employee.id)).toHaveLength(1);
      expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingFull');
    });

    it('extending a break-glass grant is an ordinary request that needs an admin', async () => {
      const { h, clock, grant } = await startWithBreakGlass();
      clock.advanceHours(1);
      const extension = await h.requestByText(PEOPLE.employee.id, 'read-only 2d the outage review runs into tomorrow');
      expect(extension.status).toBe('PENDING');
      expect(extension.extendsRequestId).toBe(grant.id);
      expect((await h.bot.deps.store.get(grant.id))?.expiresAt).toBe('2030-05-06T14:00:00.000Z');

      await h.click(PEOPLE.admin1.id, 'approve', extension.id);
      await h.waitForStatus(extension.id, 'EXTENDED');
      expect((await h.bot.deps.store.get(grant.id))?.expiresAt).toBe('2030-05-08T14:00:00.000Z');
    });
  });
});
