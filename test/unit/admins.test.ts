/**
 * AdminPolicy (PRODUCT §3: admins are ADMIN_USER_IDS and/or members of ADMIN_USERGROUP_ID),
 * on its own through `services.admins` and as the decisions see it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotAllowedError, plainText } from '../../src/errors.js';
import { AdminsUnknownError } from '../../src/services/admins.js';
import { ACTORS, buildRig, refusal, SlackDown, START } from '../support/fakes.js';

const USERGROUP = 'S0BILLADMINS';

afterEach(() => {
  vi.useRealTimers();
});

describe('admins by ADMIN_USER_IDS', () => {
  it('a listed user is an admin and nobody else is; no usergroup is asked for', async () => {
    const rig = buildRig({ config: { adminUserIds: [ACTORS.alice.id, ACTORS.bob.id], adminUsergroupId: undefined } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.joe.id]);
    expect(await rig.services.admins.isAdmin(ACTORS.alice.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.joe.id)).toBe(false);
    expect(await rig.services.admins.isAdmin(ACTORS.carol.id)).toBe(false);
    expect(rig.directory.usergroupCalls).toBe(0);
  });
});

describe('admins by ADMIN_USERGROUP_ID', () => {
  it('members of the usergroup are admins; others are not', async () => {
    const rig = buildRig({ config: { adminUserIds: [], adminUsergroupId: USERGROUP } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.bob.id, ACTORS.carol.id]);
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.carol.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.alice.id)).toBe(false);
    expect(await rig.services.admins.isAdmin(ACTORS.jane.id)).toBe(false);
  });

  it('a usergroup member can approve; someone outside it cannot', async () => {
    const rig = buildRig({ config: { adminUserIds: [], adminUsergroupId: USERGROUP } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.bob.id]);
    const { request } = await rig.submit('jane', 'read-only');
    const err = await refusal(rig.approve('alice', request.id));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(plainText((err as NotAllowedError).parts)).toBe('Only billing admins can decide on requests.');
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect((await rig.approve('bob', request.id)).kind).toBe('completed');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });

  it('both configured: the listed users and the members are admins; a listed user needs no usergroup lookup', async () => {
    const rig = buildRig({ config: { adminUserIds: [ACTORS.alice.id], adminUsergroupId: USERGROUP } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.bob.id]);
    expect(await rig.services.admins.isAdmin(ACTORS.alice.id)).toBe(true);
    expect(rig.directory.usergroupCalls).toBe(0);
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.joe.id)).toBe(false);
  });

  it('membership is read at most once a minute: a change in Slack counts after the cache minute', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date(START) });
    const rig = buildRig({ config: { adminUserIds: [], adminUsergroupId: USERGROUP } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.bob.id]);
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(true);
    rig.directory.usergroups.set(USERGROUP, [ACTORS.carol.id]);

    vi.setSystemTime(new Date(Date.parse(START) + 60_000));
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(true);
    expect(await rig.services.admins.isAdmin(ACTORS.carol.id)).toBe(false);
    expect(rig.directory.usergroupCalls).toBe(1);

    vi.setSystemTime(new Date(Date.parse(START) + 60_001));
    expect(await rig.services.admins.isAdmin(ACTORS.bob.id)).toBe(false);
    expect(await rig.services.admins.isAdmin(ACTORS.carol.id)).toBe(true);
    expect(rig.directory.usergroupCalls).toBe(2);
  });

  it('a usergroup that cannot be read lets nobody through on it (the decision fails, nothing changes); listed admins still decide', async () => {
    const rig = buildRig({ config: { adminUserIds: [ACTORS.alice.id], adminUsergroupId: USERGROUP } });
    rig.directory.usergroups.set(USERGROUP, [ACTORS.bob.id]);
    rig.directory.usergroupError = new SlackDown('usergroups.users.list failed');
    const { request } = await rig.submit('jane', 'read-only');
    await expect(rig.services.admins.isAdmin(ACTORS.bob.id)).rejects.toThrow(AdminsUnknownError);
    const err = await rig.approve('bob', request.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminsUnknownError);
    expect((err as Error).cause).toBeInstanceOf(SlackDown);
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect(rig.iam.botChanges).toEqual([]);
    expect((await rig.approve('alice', request.id)).kind).toBe('completed');
  });
});
