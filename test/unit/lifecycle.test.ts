import { describe, expect, it } from 'vitest';
import { EndNotFinishedError } from '../../src/services/lifecycle.js';
import { MemoryRequestStore } from '../support/memory-store.js';
import { ACTORS, ADMIN_CHANNEL, TEAM, World } from '../support/model/world.js';

/** Real services over the in-memory store and IAM of the model-based test. */
async function withGrants(levels: ('read-only' | 'full')[]) {
  const world = new World(new MemoryRequestStore());
  const { requests, decisions } = world.services;
  for (const level of levels) {
    const { request } = await requests.submit({
      userId: ACTORS.jane.id,
      teamId: TEAM,
      level,
      durationDays: 7,
      justification: 'month-end close work',
      breakGlass: false,
    });
    for (const admin of level === 'full' ? [ACTORS.alice.id, ACTORS.bob.id] : [ACTORS.alice.id]) {
      await decisions.approve({ userId: admin, channelId: ADMIN_CHANNEL, requestId: request.id });
    }
  }
  return world;
}

describe('revoke and done when IAM does not answer', () => {
  it('every grant is tried; the one IAM refused is recorded as owed, the admin is told so, and the next sweep finishes it', async () => {
    const world = await withGrants(['read-only', 'full']);
    const active = await world.store.listByStatus('ACTIVE');
    expect(active).toHaveLength(2);
    world.iam.arm('remove', 'before');
    const err = await world.services.lifecycle.revoke(ACTORS.bob.id, { userId: ACTORS.jane.id }, ADMIN_CHANNEL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndNotFinishedError);
    const refused = err as EndNotFinishedError;
    expect(refused.owed).toBe(true);
    expect(refused.message).toMatch(/^Not every grant could be ended now \(2 in all\)/);
    expect(refused.message).toContain('The revoke is recorded and the sweeper finishes it within one sweep.');
    expect(refused.message).not.toContain('ThrottlingException');
    // The other grant was ended anyway.
    const after = await world.store.listByStatus('ACTIVE');
    expect(after).toHaveLength(1);
    expect(after[0]?.endDue).toMatchObject({ to: 'REVOKED', by: ACTORS.bob.id });
    expect(world.iam.isMember('jane.doe', after[0]?.groupName ?? '')).toBe(true);

    const report = await world.services.sweeper.sweep();
    expect(report.recovered).toBe(1);
    expect(await world.store.listByStatus('ACTIVE')).toEqual([]);
    expect((await world.store.listByStatus('REVOKED')).map((r) => r.endedBy)).toEqual([ACTORS.bob.id, ACTORS.bob.id]);
    expect(world.iam.isMember('jane.doe', 'BillingReadOnly') || world.iam.isMember('jane.doe', 'BillingFull')).toBe(false);
  });

  it('done from a Slack account does not end a grant of an IAM user that is pinned to another Slack account', async () => {
    const world = new World(new MemoryRequestStore());
    // jane.doe is pinned to joe's account; joe holds read-only access on it.
    await world.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.joe.id, 'jane.doe');
    const { request } = await world.services.requests.submit({
      userId: ACTORS.joe.id,
      teamId: TEAM,
      level: 'read-only',
      durationDays: 7,
      justification: 'month-end close work',
      breakGlass: false,
    });
    await world.services.decisions.approve({ userId: ACTORS.bob.id, channelId: ADMIN_CHANNEL, requestId: request.id });
    expect((await world.store.get(request.id))?.status).toBe('ACTIVE');

    // jane's own account still maps to jane.doe by email, but the IAM user is joe's now: her done finds nothing.
    await expect(world.services.lifecycle.done(ACTORS.jane.id, undefined)).rejects.toThrow(/hold no active/);
    expect((await world.store.get(request.id))?.status).toBe('ACTIVE');
    expect(world.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    // The holder (joe) can end it.
    expect((await world.services.lifecycle.done(ACTORS.joe.id, undefined)).map((g) => g.id)).toEqual([request.id]);
  });
});
