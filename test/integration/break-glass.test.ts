import { afterEach, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { Harness, PEOPLE } from '../support/harness.js';
import { groupsOf } from '../support/iam-fixtures.js';

describe('break-glass', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('grants at once for at most BREAK_GLASS_MAX_HOURS, loudly, with a Revoke button', async () => {
    const clock = new ManualClock('2030-05-06T10:00:00.000Z');
    h = await Harness.start({ awsEndpoint: inject('awsEndpoint'), clock, env: { BREAK_GLASS_MAX_HOURS: '4' } });
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
    h = await Harness.start({ awsEndpoint: inject('awsEndpoint') });
    const res = await h.command(PEOPLE.employee.id, 'read-only break-glass production outage, need cost data now');
    expect(JSON.stringify(res.json)).toContain('Break-glass is not enabled');
    expect(await h.requestsOf(PEOPLE.employee.id)).toEqual([]);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
  });
});
