import { describe, expect, it } from 'vitest';
import { MemoryRequestStore } from '../support/memory-store.js';
import { ACTORS, ADMIN_CHANNEL, TEAM, World } from '../support/model/world.js';

describe('DRIFT_POLICY=remove and a grant approved while the review runs', () => {
  it('a member whose grant became ACTIVE after the review read the grants is not removed as drift', async () => {
    const world = new World(new MemoryRequestStore());
    world.config.driftPolicy = 'remove';
    const { request } = await world.services.requests.submit({
      userId: ACTORS.jane.id,
      teamId: TEAM,
      level: 'read-only',
      durationDays: 7,
      justification: 'month-end close work',
      breakGlass: false,
    });
    // The review reads the ACTIVE grants first (none), then the group's members; the approval lands in between.
    world.iam.handEdit('add', 'bob.admin', 'BillingReadOnly');
    const members = world.iam.groupMembers.bind(world.iam);
    let approved = false;
    world.iam.groupMembers = async (groupName) => {
      if (!approved) {
        approved = true;
        await world.services.decisions.approve({ userId: ACTORS.alice.id, channelId: ADMIN_CHANNEL, requestId: request.id });
      }
      return members(groupName);
    };
    const report = await world.services.summaries.build('2030-01-01T00:00:00.000Z', world.clock.now().toISOString());
    const group = report.groups.find((g) => g.groupName === 'BillingReadOnly');
    const jane = group?.members.find((m) => m.userName === 'jane.doe');
    expect(jane?.drift).toBe(false);
    expect(jane?.removed).toBe(false);
    expect(world.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    // The hand-added member is still drift and removed.
    expect(group?.members.find((m) => m.userName === 'bob.admin')).toMatchObject({ drift: true, removed: true });
  });
});
