import { describe, expect, it } from 'vitest';
import { MemoryRequestStore } from '../support/memory-store.js';
import { ACTORS, ADMIN_CHANNEL, OTHER_CHANNEL, World } from '../support/model/world.js';

describe('link', () => {
  it('is an audit event and a notice in the admin channel naming who linked whom, and what it replaced', async () => {
    const store = new MemoryRequestStore();
    const world = new World(store);
    await world.services.requests.link(ACTORS.bob.id, ADMIN_CHANNEL, ACTORS.daveAlt.id, 'dave.ops');
    await world.services.requests.link(ACTORS.carol.id, ADMIN_CHANNEL, ACTORS.daveAlt.id, 'gus');
    const events = store.audit.filter((e) => e.to === 'LINKED');
    expect(events.map((e) => [e.actor, e.detail])).toEqual([
      [ACTORS.bob.id, `linked ${ACTORS.daveAlt.id} to IAM user dave.ops`],
      [ACTORS.carol.id, `linked ${ACTORS.daveAlt.id} to IAM user gus (was dave.ops)`],
    ]);
    expect(world.notifier.adminNotices).toEqual([
      `:link: <@${ACTORS.bob.id}> linked <@${ACTORS.daveAlt.id}> to IAM user \`dave.ops\`.`,
      `:link: <@${ACTORS.carol.id}> linked <@${ACTORS.daveAlt.id}> to IAM user \`gus\` (was \`dave.ops\`).`,
    ]);
  });

  it('outside the admin channel, or by a non-admin, is refused and leaves no trace', async () => {
    const store = new MemoryRequestStore();
    const world = new World(store);
    await expect(world.services.requests.link(ACTORS.bob.id, OTHER_CHANNEL, ACTORS.daveAlt.id, 'dave.ops')).rejects.toThrow(/only done in the admin channel/);
    await expect(world.services.requests.link(ACTORS.jane.id, ADMIN_CHANNEL, ACTORS.daveAlt.id, 'dave.ops')).rejects.toThrow(/Only admins/);
    expect(store.links.size).toBe(0);
    expect(store.audit).toEqual([]);
    expect(world.notifier.adminNotices).toEqual([]);
  });
});
