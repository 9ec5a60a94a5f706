/**
 * The Sweeper over its ports (PRODUCT §1 "Pending requests do not wait forever", "Expire and
 * revoke", §2 time-outs, crash safety, at-least-once Slack delivery), driven with a manual clock.
 * SWEEP_INTERVAL_SECONDS=60, so the live path has a 60 s grace before the sweeper takes over.
 */
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ACTORS, buildRig, requestOf, START } from '../support/fakes.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString();

describe('pending requests', () => {
  it('time out after PENDING_TIMEOUT_HOURS: TIMED_OUT by system, buttons removed, requester told', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    const { request: younger } = await rig.submit('joe', 'read-only');

    rig.clock.set(at(24 * HOUR - 1));
    expect((await rig.services.sweeper.sweep()).timedOut).toBe(0);
    expect((await rig.stored(request.id)).status).toBe('PENDING');

    rig.clock.set(at(24 * HOUR));
    rig.notifier.clear();
    const report = await rig.services.sweeper.sweep();
    expect(report.timedOut).toBe(2);
    const stored = await rig.stored(request.id);
    expect(stored).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'system', decidedAt: at(24 * HOUR) });
    expect(stored.noticeDue).toBeUndefined();
    expect((await rig.trail(request.id)).at(-1)).toMatchObject({ from: 'PENDING', to: 'TIMED_OUT', actor: 'system', at: at(24 * HOUR) });
    expect(rig.notifier.about(request.id)).toEqual(['updated: TIMED_OUT', `requester ${ACTORS.jane.id}: TIMED_OUT`]);
    expect((await rig.stored(younger.id)).status).toBe('TIMED_OUT');

    // Once is enough: a later sweep tells nobody again.
    rig.clock.advance(HOUR);
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).timedOut).toBe(0);
    expect(rig.notifier.notices).toEqual([]);
  });

  it('a request created later is left pending while the older one times out', async () => {
    const rig = buildRig();
    const { request: old } = await rig.submit('jane', 'read-only');
    rig.clock.advance(2 * HOUR);
    const { request: recent } = await rig.submit('joe', 'read-only');
    rig.clock.set(at(24 * HOUR));
    await rig.services.sweeper.sweep();
    expect((await rig.stored(old.id)).status).toBe('TIMED_OUT');
    expect((await rig.stored(recent.id)).status).toBe('PENDING');
  });

  it("reminds in the admin message's thread with growing gaps (1 h, 3 h, 7 h after the request), once each", async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    const reminders = () => rig.notifier.notices.filter((n) => n.kind === 'thread').map((n) => (n.kind === 'thread' ? n.text : ''));

    rig.clock.set(at(HOUR - 1));
    await rig.services.sweeper.sweep();
    expect(reminders()).toEqual([]);

    rig.clock.set(at(HOUR));
    expect((await rig.services.sweeper.sweep()).reminded).toBe(1);
    expect(reminders()).toEqual([':bell: Reminder: this request is still waiting for a decision (times out in about 23 h).']);
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', remindersSent: 1, lastReminderAt: at(HOUR) });

    // The same sweep again, and one an hour later: the next gap is 2 h.
    expect((await rig.services.sweeper.sweep()).reminded).toBe(0);
    rig.clock.set(at(2 * HOUR));
    expect((await rig.services.sweeper.sweep()).reminded).toBe(0);

    rig.clock.set(at(3 * HOUR));
    expect((await rig.services.sweeper.sweep()).reminded).toBe(1);
    rig.clock.set(at(7 * HOUR - 1));
    await rig.services.sweeper.sweep();
    rig.clock.set(at(7 * HOUR));
    await rig.services.sweeper.sweep();
    expect(reminders()).toEqual([
      ':bell: Reminder: this request is still waiting for a decision (times out in about 23 h).',
      ':bell: Reminder: this request is still waiting for a decision (times out in about 21 h).',
      ':bell: Reminder: this request is still waiting for a decision (times out in about 17 h).',
    ]);
    expect((await rig.stored(request.id)).remindersSent).toBe(3);
  });

  it('a request the admin channel never saw is posted by the sweeper after the grace period, once', async () => {
    const rig = buildRig();
    rig.notifier.down.add('requestPosted');
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.down.delete('requestPosted');

    rig.clock.set(at(30_000));
    expect((await rig.services.sweeper.sweep()).reposted).toBe(0);
    expect(rig.notifier.notices.filter((n) => n.kind === 'posted')).toEqual([]);

    rig.clock.set(at(2 * MINUTE));
    expect((await rig.services.sweeper.sweep()).reposted).toBe(1);
    expect(rig.notifier.about(request.id)).toEqual(['posted: PENDING']);
    expect((await rig.stored(request.id)).adminMessage).toMatchObject({ channel: rig.config.adminChannelId });

    rig.clock.set(at(3 * MINUTE));
    expect((await rig.services.sweeper.sweep()).reposted).toBe(0);
    expect(rig.notifier.about(request.id)).toEqual(['posted: PENDING']);
  });
});

describe('failed requests', () => {
  it('a FAILED request not retried within PENDING_TIMEOUT_HOURS of its failure is closed: TIMED_OUT, requester told', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.clock.set(at(2 * HOUR));
    rig.iam.arm('add', 'before');
    expect((await rig.approve('alice', request.id)).request.status).toBe('FAILED');

    // 24 h after the request, but not after the failure.
    rig.clock.set(at(25 * HOUR));
    expect((await rig.services.sweeper.sweep()).timedOut).toBe(0);
    expect((await rig.stored(request.id)).status).toBe('FAILED');

    rig.clock.set(at(26 * HOUR));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).timedOut).toBe(1);
    expect((await rig.stored(request.id)).status).toBe('TIMED_OUT');
    expect((await rig.trail(request.id)).at(-1)).toMatchObject({ from: 'FAILED', to: 'TIMED_OUT', actor: 'system', at: at(26 * HOUR) });
    expect(rig.notifier.about(request.id)).toEqual(['updated: TIMED_OUT', `requester ${ACTORS.jane.id}: TIMED_OUT`]);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });
});

describe('expiry', () => {
  it('a due ACTIVE grant is EXPIRED and its IAM membership removed; the requester and the admin thread are told', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    expect(grant.expiresAt).toBe(at(7 * DAY));

    rig.clock.set(at(7 * DAY - 1));
    expect((await rig.services.sweeper.sweep()).expired).toBe(0);
    expect((await rig.stored(grant.id)).status).toBe('ACTIVE');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);

    rig.clock.set(at(7 * DAY));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).expired).toBe(1);
    const stored = await rig.stored(grant.id);
    expect(stored).toMatchObject({ status: 'EXPIRED', endedBy: 'system', endedAt: at(7 * DAY) });
    expect(stored.noticeDue).toBeUndefined();
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
    expect((await rig.trail(grant.id)).at(-1)).toMatchObject({
      from: 'ACTIVE',
      to: 'EXPIRED',
      actor: 'system',
      detail: expect.stringContaining('removed jane.doe from BillingReadOnly'),
    });
    expect(rig.notifier.about(grant.id)).toEqual([
      'updated: EXPIRED',
      `requester ${ACTORS.jane.id}: EXPIRED`,
      'thread: Access expired and was removed from `BillingReadOnly`.',
    ]);
  });

  it('obeys the expiry the table holds (an item written by an operator), and removes the membership', async () => {
    const rig = buildRig();
    const id = ulid(Date.parse(START) - 3 * DAY);
    await rig.store.create(
      requestOf({
        id,
        status: 'ACTIVE',
        createdAt: at(-3 * DAY),
        decidedBy: ACTORS.alice.id,
        decidedAt: at(-3 * DAY),
        approvals: [{ by: ACTORS.alice.id, at: at(-3 * DAY) }],
        approverIds: [ACTORS.alice.id],
        expiresAt: at(-MINUTE),
      }),
      { actor: 'operator', detail: 'restored by hand' },
    );
    rig.iam.handEdit('add', 'jane.doe', 'BillingReadOnly');
    expect((await rig.services.sweeper.sweep()).expired).toBe(1);
    expect((await rig.stored(id)).status).toBe('EXPIRED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });

  it('an IAM failure on one grant does not stop the others; the failed one stays ACTIVE and the next sweep ends it', async () => {
    const rig = buildRig();
    const jane = await rig.grant('jane', 'read-only');
    const joe = await rig.grant('joe', 'read-only');
    rig.clock.set(at(7 * DAY));
    rig.iam.arm('remove', 'before');
    const first = await rig.services.sweeper.sweep();
    expect(first).toMatchObject({ expired: 1, errors: 1 });
    const statuses = [(await rig.stored(jane.id)).status, (await rig.stored(joe.id)).status].sort();
    expect(statuses).toEqual(['ACTIVE', 'EXPIRED']);
    expect([rig.iam.isMember('jane.doe', 'BillingReadOnly'), rig.iam.isMember('Joe.Smith', 'BillingReadOnly')].filter(Boolean)).toHaveLength(1);

    const second = await rig.services.sweeper.sweep();
    expect(second).toMatchObject({ expired: 1, errors: 0 });
    expect((await rig.stored(jane.id)).status).toBe('EXPIRED');
    expect((await rig.stored(joe.id)).status).toBe('EXPIRED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
    expect(rig.iam.isMember('Joe.Smith', 'BillingReadOnly')).toBe(false);
  });

  it('two replicas sweeping at once: the grant is ended once and each person is told once', async () => {
    const a = buildRig();
    const b = buildRig({ store: a.store, iam: a.iam, clock: a.clock, replicaId: 'replica-b' });
    const grant = await a.grant('jane', 'read-only');
    a.clock.set(at(7 * DAY));
    a.notifier.clear();
    const [ra, rb] = await Promise.all([a.services.sweeper.sweep(), b.services.sweeper.sweep()]);
    expect(ra.expired + rb.expired).toBe(1);
    expect((await a.stored(grant.id)).status).toBe('EXPIRED');
    const told = [...a.notifier.notices, ...b.notifier.notices].filter((n) => n.kind === 'requester');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ to: ACTORS.jane.id, status: 'EXPIRED' });
  });
});

describe('crash safety: a request left APPROVED', () => {
  async function leftApproved(rig: ReturnType<typeof buildRig>) {
    const id = ulid(Date.parse(START) - HOUR);
    await rig.store.create(
      requestOf({
        id,
        status: 'APPROVED',
        createdAt: at(-HOUR),
        decidedBy: ACTORS.alice.id,
        decidedAt: START,
        approvals: [{ by: ACTORS.alice.id, at: START }],
        approverIds: [ACTORS.alice.id],
        updatedAt: START,
      }),
      { actor: ACTORS.alice.id, detail: 'approved; the process died before IAM was called' },
    );
    return id;
  }

  it('is left to the live path during the grace period, then finished: the user added, ACTIVE, the requester told', async () => {
    const rig = buildRig();
    const id = await leftApproved(rig);

    rig.clock.set(at(30_000));
    expect((await rig.services.sweeper.sweep()).recovered).toBe(0);
    expect((await rig.stored(id)).status).toBe('APPROVED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);

    rig.clock.set(at(2 * MINUTE));
    expect((await rig.services.sweeper.sweep()).recovered).toBe(1);
    expect(await rig.stored(id)).toMatchObject({ status: 'ACTIVE', expiresAt: at(2 * MINUTE + 7 * DAY) });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect(rig.notifier.about(id)).toEqual(['updated: ACTIVE', `requester ${ACTORS.jane.id}: ACTIVE`]);
  });

  it('is finished even when the add had already reached IAM before the crash (membership is idempotent)', async () => {
    const rig = buildRig();
    const id = await leftApproved(rig);
    rig.iam.handEdit('add', 'jane.doe', 'BillingReadOnly');
    rig.clock.set(at(2 * MINUTE));
    expect((await rig.services.sweeper.sweep()).recovered).toBe(1);
    expect((await rig.stored(id)).status).toBe('ACTIVE');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });
});

describe('notices still due', () => {
  it('are re-delivered after the grace period, and only until they all went out', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.down.add('requesterNotified');
    await rig.deny('alice', request.id, 'not needed');
    expect((await rig.stored(request.id)).noticeDue).toBe('DUE');

    // Within the grace period the sweeper leaves it to the live path.
    rig.clock.set(at(30_000));
    rig.notifier.down.delete('requesterNotified');
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(0);
    expect(rig.notifier.notices).toEqual([]);

    rig.clock.set(at(2 * MINUTE));
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(1);
    expect(rig.notifier.about(request.id)).toEqual(['updated: DENIED', `requester ${ACTORS.jane.id}: DENIED`]);
    expect((await rig.stored(request.id)).noticeDue).toBeUndefined();

    rig.clock.set(at(5 * MINUTE));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(0);
    expect(rig.notifier.notices).toEqual([]);
  });
});
