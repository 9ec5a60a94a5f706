/**
 * The Announcer, through the services that use it (PRODUCT §2 "Delivery": every state change
 * exactly once, Slack messages about it at least once). Which notices each state calls for,
 * `noticeDue` cleared only when every one of them went out, and the sweeper re-delivering
 * what failed.
 */
import { describe, expect, it } from 'vitest';
import { ACTORS, ADMIN_CHANNEL, buildRig, type Rig, START } from '../support/fakes.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString();
const JANE = ACTORS.jane.id;

/** Drives a request of jane's to a state through the services; returns its id. */
const scenarios: Record<string, (rig: Rig) => Promise<string>> = {
  'one approval of two recorded (PENDING)': async (rig) => {
    const { request } = await rig.submit('jane', 'full');
    rig.notifier.clear();
    await rig.approve('alice', request.id);
    return request.id;
  },
  ACTIVE: async (rig) => {
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    await rig.approve('alice', request.id);
    return request.id;
  },
  DENIED: async (rig) => {
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    await rig.deny('alice', request.id, 'no');
    return request.id;
  },
  CANCELLED: async (rig) => {
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    await rig.services.requests.cancel(JANE, request.id);
    return request.id;
  },
  FAILED: async (rig) => {
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    rig.iam.arm('add', 'before');
    await rig.approve('alice', request.id);
    return request.id;
  },
  TIMED_OUT: async (rig) => {
    const { request } = await rig.submit('jane', 'read-only');
    rig.clock.advance(DAY);
    rig.notifier.clear();
    await rig.services.sweeper.sweep();
    return request.id;
  },
  EXPIRED: async (rig) => {
    const grant = await rig.grant('jane', 'read-only');
    rig.clock.advance(7 * DAY);
    rig.notifier.clear();
    await rig.services.sweeper.sweep();
    return grant.id;
  },
  REVOKED: async (rig) => {
    const grant = await rig.grant('jane', 'read-only');
    rig.notifier.clear();
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: grant.id }, ADMIN_CHANNEL);
    return grant.id;
  },
  EXTENDED: async (rig) => {
    await rig.grant('jane', 'read-only');
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    await rig.approve('alice', request.id);
    return request.id;
  },
};

describe('the notices each state calls for', () => {
  it.each([
    ['one approval of two recorded (PENDING)', ['updated: PENDING']],
    ['ACTIVE', ['updated: ACTIVE', `requester ${JANE}: ACTIVE`]],
    ['DENIED', ['updated: DENIED', `requester ${JANE}: DENIED`]],
    // The requester cancelled it themselves: only the admin message changes.
    ['CANCELLED', ['updated: CANCELLED']],
    ['FAILED', ['updated: FAILED', `requester ${JANE}: FAILED`]],
    ['TIMED_OUT', ['updated: TIMED_OUT', `requester ${JANE}: TIMED_OUT`]],
    ['EXPIRED', ['updated: EXPIRED', `requester ${JANE}: EXPIRED`, 'thread: Access expired and was removed from `BillingReadOnly`.']],
    ['REVOKED', ['updated: REVOKED', `requester ${JANE}: REVOKED`, `thread: Access revoked by <@${ACTORS.bob.id}> and removed from \`BillingReadOnly\`.`]],
    ['EXTENDED', ['updated: EXTENDED', `requester ${JANE}: EXTENDED`]],
  ])('%s', async (state, expected) => {
    const rig = buildRig();
    const drive = scenarios[state];
    if (!drive) throw new Error(`no scenario ${state}`);
    const id = await drive(rig);
    expect(rig.notifier.about(id)).toEqual(expected);
    // Everything went out: nothing is left due.
    expect((await rig.stored(id)).noticeDue).toBeUndefined();
  });
});

describe('delivery: at least once, cleared only when all went out', () => {
  it('a failed Slack call never undoes the state change: the grant stands and its notice stays due', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.down.add('requesterNotified');
    const result = await rig.approve('alice', request.id);
    expect(result.kind).toBe('completed');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'ACTIVE', noticeDue: 'DUE' });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });

  it('one notice of three failing keeps the request due; the sweeper sends them again until all succeed', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    rig.notifier.clear();
    rig.notifier.down.add('threadNews');
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: grant.id }, ADMIN_CHANNEL);
    // The admin message and the DM went out; the thread reply did not.
    expect(rig.notifier.about(grant.id)).toEqual(['updated: REVOKED', `requester ${JANE}: REVOKED`]);
    expect(await rig.stored(grant.id)).toMatchObject({ status: 'REVOKED', noticeDue: 'DUE' });

    // Slack still down for thread replies: the next sweep tries again and it stays due.
    rig.clock.set(at(2 * MINUTE));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(0);
    expect(rig.notifier.calls.filter((m) => m === 'threadNews')).toHaveLength(1);
    expect((await rig.stored(grant.id)).noticeDue).toBe('DUE');

    // Slack back: every notice of the state goes out again (a DM may repeat; none is lost), and it is cleared.
    rig.notifier.down.delete('threadNews');
    rig.clock.set(at(4 * MINUTE));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(1);
    expect(rig.notifier.about(grant.id)).toEqual([
      'updated: REVOKED',
      `requester ${JANE}: REVOKED`,
      `thread: Access revoked by <@${ACTORS.bob.id}> and removed from \`BillingReadOnly\`.`,
    ]);
    expect((await rig.stored(grant.id)).noticeDue).toBeUndefined();

    rig.clock.set(at(6 * MINUTE));
    rig.notifier.clear();
    await rig.services.sweeper.sweep();
    expect(rig.notifier.notices).toEqual([]);
  });

  it('notices of an older state that all went out do not clear the notices a newer state still owes', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    // While the ACTIVE notices are on their way, an admin revokes; the REVOKED thread reply fails.
    let revoked = false;
    rig.notifier.during = async (method, r) => {
      if (method === 'requesterNotified' && r?.status === 'ACTIVE' && !revoked) {
        revoked = true;
        rig.notifier.down.add('threadNews');
        await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: request.id }, ADMIN_CHANNEL);
        rig.notifier.down.delete('threadNews');
      }
    };
    await rig.approve('alice', request.id);
    rig.notifier.during = undefined;
    expect(revoked).toBe(true);
    expect(await rig.stored(request.id)).toMatchObject({ status: 'REVOKED', noticeDue: 'DUE' });

    rig.clock.set(at(2 * MINUTE));
    rig.notifier.clear();
    expect((await rig.services.sweeper.sweep()).redelivered).toBe(1);
    expect(rig.notifier.about(request.id)).toContain(`thread: Access revoked by <@${ACTORS.bob.id}> and removed from \`BillingReadOnly\`.`);
  });
});

describe('a link made', () => {
  it('is announced to the admins, and a Slack failure there does not undo the link or its audit event', async () => {
    const rig = buildRig();
    rig.notifier.down.add('linkMade');
    await rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'dave.ops');
    expect(await rig.store.getLink(ACTORS.dave.id)).toMatchObject({ iamUserName: 'dave.ops', linkedBy: ACTORS.alice.id });
    expect(await rig.looseAudit(`link:${ACTORS.dave.id}`)).toHaveLength(1);
    expect(rig.notifier.calls).toEqual(['linkMade']);
    expect(rig.notifier.notices).toEqual([]);
  });
});
