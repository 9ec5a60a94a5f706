/**
 * A request nobody decides: the sweeper reminds the admin thread at 1 h, 3 h and 7 h (once, even
 * with two sweepers) and times it out after PENDING_TIMEOUT_HOURS, telling the requester.
 */
import { describe, expect, it } from 'vitest';
import { admin1, adminMessageOf, at, employee, HOUR, MINUTE, NOTHING_DONE, quiet, T0, threadOf, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';

describe('grant lifecycle: pending requests', () => {
  const { clock, start } = useClockedHarness();

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
    expect(messageContent(message)).toMatch(/Timed out/);
    const dms = h.dms(employee);
    expect(dms).toHaveLength(1);
    expect(messageContent(dms[0])).toMatch(/timed out/);
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
