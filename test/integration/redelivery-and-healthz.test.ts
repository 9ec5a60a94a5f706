/**
 * The sweeper catching up: a Slack notice that failed on the live path is delivered after its
 * grace period, and /healthz reports the last sweep and turns 503 while a grant is overdue.
 */
import { describe, expect, it } from 'vitest';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import { admin1, adminMessageOf, at, deliveredGrant, employee, MINUTE, NOTHING_DONE, quiet, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';

async function healthz(h: Harness): Promise<{ status: number; body: { ok?: boolean; lastSweep?: string | null; requestId?: string } }> {
  const res = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok?: boolean; lastSweep?: string | null; requestId?: string } };
}

describe('grant lifecycle: Slack delivery', () => {
  const { clock, start } = useClockedHarness();

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
    for (const dm of dms) expect(messageContent(dm)).toMatch(/approved by/);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);

    const callsBefore = h.slack.calls().length;
    clock.advance(5 * MINUTE);
    expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
    expect(h.slack.calls().length).toBe(callsBefore);
  });
});

describe('grant lifecycle: healthz', () => {
  const { clock, start } = useClockedHarness();

  it('answers 200 with the last sweep; 503 when a grant is overdue by more than two sweep intervals', async () => {
    const h = await start();
    const before = await healthz(h);
    expect(before.status).toBe(200);
    expect(before.body.lastSweep).toBeNull();

    const grant = await deliveredGrant(h, employee, 'read-only 1d month-end close for October');
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
