/**
 * RequestService over its ports (PRODUCT §1 Request, Identity, Break-glass): submit with its
 * pre-checks, status, cancel and link, with the real services wired over in-memory fakes.
 */
import { describe, expect, it, vi } from 'vitest';
import { NotAllowedError, RequestNotFoundError, RequestRefusedError, ValidationError } from '../../src/errors.js';
import { ACTORS, ADMIN_CHANNEL, at, buildRig, DAY, HOUR, OTHER_CHANNEL, refusal, refused, START } from '../support/fakes.js';
import { MemoryRequestStore } from '../support/memory-store.js';

describe('submit: a request is stored PENDING and posted to the admin channel', () => {
  it('stores every attribute audit tooling reads, one audit event, and one admin message whose place is kept on the item', async () => {
    const rig = buildRig();
    const result = await rig.submit('jane', 'read-only', { durationDays: 7, justification: 'month-end close for <!channel> October' });

    const stored = await rig.stored(result.request.id);
    expect(stored).toMatchObject({
      status: 'PENDING',
      requesterId: ACTORS.jane.id,
      requesterEmail: 'jane.doe@corp.com',
      iamUserName: 'jane.doe',
      level: 'read-only',
      groupName: 'BillingReadOnly',
      durationDays: 7,
      justification: 'month-end close for <!channel> October',
      createdAt: START,
      approvals: [],
      approvalsRequired: 1,
      iam: { mfa: 'present', hasConsolePassword: true, currentGroups: [], warnings: [] },
      adminMessage: { channel: ADMIN_CHANNEL },
    });
    expect(stored.decidedBy).toBeUndefined();
    expect(stored.expiresAt).toBeUndefined();
    expect(stored.extendsRequestId).toBeUndefined();
    expect(result.request.adminMessage).toEqual(stored.adminMessage);
    expect(result.extends).toBeUndefined();
    expect(result.adminPostFailed).toBeUndefined();

    expect(await rig.trail(stored.id)).toEqual([
      { requestId: stored.id, at: START, actor: ACTORS.jane.id, from: null, to: 'PENDING', detail: expect.stringContaining('read-only') },
    ]);
    // One admin-channel post; the requester's confirmation is the handler's ephemeral reply, not a DM.
    expect(rig.notifier.about(stored.id)).toEqual(['posted: PENDING']);
    expect(rig.iam.botChanges).toEqual([]);
  });

  it('a level with APPROVALS_REQUIRED=2 is stored needing two approvals', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full');
    expect((await rig.stored(request.id)).approvalsRequired).toBe(2);
  });

  it('ids sort by time: a later request has a larger id', async () => {
    const rig = buildRig();
    const first = await rig.submit('jane', 'read-only');
    rig.clock.advance(1000);
    const second = await rig.submit('joe', 'read-only');
    expect(second.request.id > first.request.id).toBe(true);
  });

  it('an admin channel that cannot be told does not lose the request: it is stored, flagged for the sweeper', async () => {
    const rig = buildRig();
    rig.notifier.down.add('requestPosted');
    const result = await rig.submit('jane', 'read-only');
    expect(result.adminPostFailed).toBe(true);
    const stored = await rig.stored(result.request.id);
    expect(stored.status).toBe('PENDING');
    expect(stored.adminMessage).toBeUndefined();
  });
});

describe('submit: refusals leave nothing behind', () => {
  it('a second pending request for the same level is refused, naming the pending one and how to cancel it; nothing is stored or posted', async () => {
    const rig = buildRig();
    const { request: first } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    const { err, text } = await refused(rig.submit('jane', 'read-only', { justification: 'again, for the audit' }));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      `You already have a pending read-only request (${first.id}). Wait for the admins, or cancel it with /request-billing cancel ${first.id}.`,
    );
    expect(await rig.store.listByRequester(ACTORS.jane.id)).toHaveLength(1);
    expect(rig.notifier.notices).toEqual([]);
  });

  it('a pending request for another level does not block one for this level', async () => {
    const rig = buildRig();
    await rig.submit('jane', 'read-only');
    const { request } = await rig.submit('jane', 'full');
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect(await rig.store.listByRequester(ACTORS.jane.id)).toHaveLength(2);
  });

  it('an unknown level is refused with the configured levels', async () => {
    const rig = buildRig();
    const { err, text } = await refused(rig.submit('jane', 'admin'));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('level');
    expect(text).toBe('Unknown access level "admin". Levels: read-only, full.');
    expect(rig.store.items.size).toBe(0);
  });

  it('more days than MAX_DURATION_DAYS are refused, naming the maximum', async () => {
    const rig = buildRig();
    const { err, text } = await refused(rig.submit('jane', 'read-only', { durationDays: 31 }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('duration');
    expect(text).toBe('31 days is more than the maximum of 30 days.');
    expect(rig.store.items.size).toBe(0);
    // The maximum itself is allowed.
    await rig.submit('jane', 'read-only', { durationDays: 30 });
    expect(rig.store.items.size).toBe(1);
  });

  it('an IAM user that does not exist is refused with what to do; nothing is stored or posted', async () => {
    const rig = buildRig();
    // dave@corp.com maps to IAM user "dave", which does not exist (his is dave.ops).
    const { err, text } = await refused(rig.submit('dave', 'read-only'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      'There is no IAM user dave in this AWS account. Ask an admin to create it, or to link your Slack user to your IAM user with /request-billing link @you <iam-user>.',
    );
    expect(rig.store.items.size).toBe(0);
    expect(rig.notifier.notices).toEqual([]);
  });

  it('REQUIRE_MFA=block: an IAM user without MFA is refused with how to add a device; nothing is stored', async () => {
    const rig = buildRig();
    rig.iam.setMfa('jane.doe', false);
    const { err, text } = await refused(rig.submit('jane', 'read-only'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      'Your IAM user jane.doe has no MFA device, and billing access requires one. Add one in the AWS console (IAM → Users → jane.doe → Security credentials → Assign MFA device), then ask again.',
    );
    expect(rig.store.items.size).toBe(0);
    expect(rig.notifier.notices).toEqual([]);
  });

  it('REQUIRE_MFA=warn stores the request with the warning for the admin message; off stores it without one', async () => {
    const warn = buildRig({ config: { requireMfa: 'warn' } });
    warn.iam.setMfa('jane.doe', false);
    const { request } = await warn.submit('jane', 'read-only');
    expect((await warn.stored(request.id)).iam).toMatchObject({ mfa: 'missing', warnings: ['IAM user jane.doe has no MFA device'] });

    const off = buildRig({ config: { requireMfa: 'off' } });
    off.iam.setMfa('jane.doe', false);
    const { request: other } = await off.submit('jane', 'read-only');
    expect((await off.stored(other.id)).iam).toMatchObject({ mfa: 'missing', warnings: [] });
  });

  it('live mode: an IAM user that cannot be read is refused without raw AWS text; nothing is stored', async () => {
    const rig = buildRig();
    rig.iam.arm('getUser', 'before');
    const { err, text } = await refused(rig.submit('jane', 'read-only'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('Could not check your IAM user jane.doe. Nothing was stored; try again later or tell an admin.');
    expect(text).not.toMatch(/Throttling|Rate exceeded/);
    // Operators keep the detail.
    expect((err as RequestRefusedError).detail).toMatch(/ThrottlingException/);
    expect(rig.store.items.size).toBe(0);
  });

  it('one more group past the account quota is refused; a group the user is already in does not count', async () => {
    const rig = buildRig();
    rig.iam.groupsPerUserQuota = async () => 1;
    rig.iam.handEdit('add', 'jane.doe', 'BillingFull');
    const { err, text } = await refused(rig.submit('jane', 'read-only'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe("Your IAM user jane.doe is already in 1 groups, the account's limit per user (1). An AWS admin must remove one first.");
    expect(rig.store.items.size).toBe(0);
    // Asking for the group already held adds no group.
    const { request } = await rig.submit('jane', 'full');
    expect((await rig.stored(request.id)).iam.currentGroups).toEqual(['BillingFull']);
  });

  it.each([
    ['a guest', 'gus', NotAllowedError, 'Guest accounts cannot request billing access.'],
    ['an email outside ALLOWED_EMAIL_DOMAINS', 'pat', NotAllowedError, 'The email domain (partner.com) is not one that may map to AWS IAM users.'],
  ] as const)('%s is refused before anything is read or stored', async (_, who, errorClass, message) => {
    const rig = buildRig();
    const { err, text } = await refused(rig.submit(who, 'read-only'));
    expect(err).toBeInstanceOf(errorClass);
    expect(text).toBe(message);
    expect(rig.store.items.size).toBe(0);
  });

  it('a deactivated user and a user of another workspace are refused', async () => {
    const rig = buildRig();
    rig.directory.edit(ACTORS.jane.id, { deleted: true });
    expect((await refused(rig.submit('jane', 'read-only'))).text).toBe('This Slack account is deactivated.');
    rig.directory.edit(ACTORS.joe.id, { teamId: 'T0PARTNER' });
    const other = await refused(rig.submit('joe', 'read-only'));
    expect(other.err).toBeInstanceOf(NotAllowedError);
    expect(other.text).toBe('Billing access can only be requested by members of this workspace (not from Slack Connect).');
    expect(rig.store.items.size).toBe(0);
  });
});

describe('submit: a level already held is an extension request', () => {
  it('names the grant it extends, on the item, in the audit event and in the admin post', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    rig.notifier.clear();
    rig.clock.advance(DAY);
    const result = await rig.submit('jane', 'read-only', { durationDays: 5 });
    expect(result.extends?.id).toBe(grant.id);
    expect(result.extends?.expiresAt).toBe(at(7 * DAY));
    const stored = await rig.stored(result.request.id);
    expect(stored).toMatchObject({ status: 'PENDING', extendsRequestId: grant.id });
    expect(await rig.trail(stored.id)).toEqual([
      { requestId: stored.id, at: at(DAY), actor: ACTORS.jane.id, from: null, to: 'PENDING', detail: expect.stringContaining('extension') },
    ]);
    expect(rig.notifier.notices).toEqual([{ kind: 'posted', requestId: stored.id, status: 'PENDING', extensionOf: grant.id }]);
  });
});

describe('submit: break-glass (BREAK_GLASS_MAX_HOURS=4)', () => {
  it('grants at once, capped at the break-glass hours, decided by the requester, posted and DM-ed', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full', { breakGlass: true, durationDays: 7, justification: 'production billing alarm' });
    expect(request.status).toBe('ACTIVE');
    const stored = await rig.stored(request.id);
    expect(stored).toMatchObject({
      status: 'ACTIVE',
      breakGlass: true,
      decidedBy: ACTORS.jane.id,
      decidedAt: START,
      approvals: [{ by: ACTORS.jane.id, at: START }],
      expiresAt: at(4 * HOUR),
    });
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(true);
    expect((await rig.trail(stored.id)).map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'APPROVED', ACTORS.jane.id],
      ['APPROVED', 'ACTIVE', ACTORS.jane.id],
    ]);
    expect((await rig.trail(stored.id))[0]?.detail).toContain('break-glass');
    expect(rig.notifier.about(stored.id)).toEqual(['posted: APPROVED', 'updated: ACTIVE', `requester ${ACTORS.jane.id}: ACTIVE`]);
  });

  it('is refused while the requester holds the level: it never extends a grant', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    const { err, text } = await refused(rig.submit('jane', 'read-only', { breakGlass: true }));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      `You already hold read-only access (${grant.id}), so break-glass is refused: it never extends a grant. To keep it longer, ask the admins with /request-billing read-only <n>d <justification>.`,
    );
    expect((await rig.stored(grant.id)).expiresAt).toBe(grant.expiresAt);
    expect(await rig.store.listByRequester(ACTORS.jane.id)).toHaveLength(1);
  });

  it('is refused while another break-glass grant of the requester is live, whatever its level', async () => {
    const rig = buildRig();
    const { request: first } = await rig.submit('jane', 'full', { breakGlass: true });
    const { err, text } = await refused(rig.submit('jane', 'read-only', { breakGlass: true }));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      `You already have break-glass full access (${first.id}); only one break-glass grant may be live at a time. Ask the admins for anything more.`,
    );
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
    expect(await rig.store.listByRequester(ACTORS.jane.id)).toHaveLength(1);
  });

  it('is refused when BREAK_GLASS_MAX_HOURS is unset', async () => {
    const rig = buildRig({ config: { breakGlassMaxHours: undefined } });
    const { err, text } = await refused(rig.submit('jane', 'full', { breakGlass: true }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(text).toBe('Break-glass is not enabled on this workspace.');
    expect(rig.store.items.size).toBe(0);
    expect(rig.iam.botChanges).toEqual([]);
  });
});

describe('status', () => {
  it("lists the caller's own requests, newest first, and nobody else's", async () => {
    const rig = buildRig();
    const { request: a } = await rig.submit('jane', 'read-only');
    rig.clock.advance(1000);
    await rig.submit('joe', 'read-only');
    rig.clock.advance(1000);
    const { request: b } = await rig.submit('jane', 'full');
    expect((await rig.services.requests.status(ACTORS.jane.id)).map((r) => r.id)).toEqual([b.id, a.id]);
    expect(await rig.services.requests.status(ACTORS.carol.id)).toEqual([]);
  });
});

describe('cancel', () => {
  it('moves my pending request to CANCELLED, decided by me, updates the admin message, and frees the level for a new request', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.clock.advance(10 * 60_000);
    rig.notifier.clear();
    const cancelled = await rig.services.requests.cancel(ACTORS.jane.id, request.id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'CANCELLED', decidedBy: ACTORS.jane.id, decidedAt: at(10 * 60_000) });
    expect((await rig.trail(request.id)).at(-1)).toMatchObject({ from: 'PENDING', to: 'CANCELLED', actor: ACTORS.jane.id, at: at(10 * 60_000) });
    // The admin message loses its buttons; the requester cancelled it themselves, so no DM.
    expect(rig.notifier.about(request.id)).toEqual(['updated: CANCELLED']);
    const { request: again } = await rig.submit('jane', 'read-only');
    expect((await rig.stored(again.id)).status).toBe('PENDING');
  });

  it("someone else's request, or an unknown id, is 'not found' and stays as it is", async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    const { err, text } = await refused(rig.services.requests.cancel(ACTORS.joe.id, request.id));
    expect(err).toBeInstanceOf(RequestNotFoundError);
    expect(text).toBe(`No request with id ${request.id}.`);
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect(await refusal(rig.services.requests.cancel(ACTORS.jane.id, '01JZZZZZZZZZZZZZZZZZZZZZZZ'))).toBeInstanceOf(RequestNotFoundError);
  });

  it('a request no longer pending cannot be cancelled', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    const { err, text } = await refused(rig.services.requests.cancel(ACTORS.jane.id, grant.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(`Request ${grant.id} is active, so it cannot be cancelled.`);
    expect((await rig.stored(grant.id)).status).toBe('ACTIVE');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });
});

describe('link', () => {
  it('an admin pins a Slack user to an IAM user: stored, audited, announced, and used by the next request', async () => {
    const rig = buildRig();
    await rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'dave.ops');
    expect(await rig.store.getLink(ACTORS.dave.id)).toEqual({ userId: ACTORS.dave.id, iamUserName: 'dave.ops', linkedBy: ACTORS.alice.id, linkedAt: START });
    expect(await rig.looseAudit(`link:${ACTORS.dave.id}`)).toEqual([
      {
        requestId: `link:${ACTORS.dave.id}`,
        at: START,
        actor: ACTORS.alice.id,
        from: null,
        to: 'LINKED',
        detail: `linked ${ACTORS.dave.id} to IAM user dave.ops`,
      },
    ]);
    expect(rig.notifier.notices).toEqual([{ kind: 'admin', text: `:link: <@${ACTORS.alice.id}> linked <@${ACTORS.dave.id}> to IAM user \`dave.ops\`.` }]);

    const { request } = await rig.submit('dave', 'read-only');
    expect(await rig.stored(request.id)).toMatchObject({ iamUserName: 'dave.ops', linkedBy: ACTORS.alice.id });
  });

  it('a re-link says what it replaced', async () => {
    const rig = buildRig();
    await rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'gus');
    await rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'dave.ops');
    expect((await rig.looseAudit(`link:${ACTORS.dave.id}`)).map((e) => e.detail)).toEqual([
      `linked ${ACTORS.dave.id} to IAM user gus`,
      `linked ${ACTORS.dave.id} to IAM user dave.ops (was gus)`,
    ]);
    expect(rig.notifier.notices.at(-1)).toEqual({
      kind: 'admin',
      text: `:link: <@${ACTORS.alice.id}> linked <@${ACTORS.dave.id}> to IAM user \`dave.ops\` (was \`gus\`).`,
    });
  });

  it.each([
    ['outside the admin channel', 'alice', OTHER_CHANNEL, 'Linking is only done in the admin channel.'],
    ['naming no channel', 'alice', undefined, 'Linking is only done in the admin channel.'],
    ['by a non-admin', 'joe', ADMIN_CHANNEL, 'Only admins can link Slack users to IAM users.'],
  ] as const)('is refused %s; nothing is linked', async (_, who, channel, message) => {
    const rig = buildRig();
    const { err, text } = await refused(rig.services.requests.link(ACTORS[who].id, channel, ACTORS.dave.id, 'dave.ops'));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(text).toBe(message);
    expect(await rig.store.getLink(ACTORS.dave.id)).toBeUndefined();
    expect(rig.notifier.notices).toEqual([]);
  });

  it('an IAM user that does not exist is refused; nothing is linked', async () => {
    const rig = buildRig();
    const { err, text } = await refused(rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'nobody'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('There is no IAM user nobody; nothing was linked.');
    expect(await rig.store.getLink(ACTORS.dave.id)).toBeUndefined();
  });

  it('an IAM user already linked to another Slack user is refused, whatever the case of its name', async () => {
    const rig = buildRig();
    await rig.services.requests.link(ACTORS.alice.id, ADMIN_CHANNEL, ACTORS.dave.id, 'dave.ops');
    rig.notifier.clear();
    const { err, text } = await refused(rig.services.requests.link(ACTORS.bob.id, ADMIN_CHANNEL, ACTORS.daveAlt.id, 'Dave.Ops'));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(`IAM user Dave.Ops is already linked to @${ACTORS.dave.id}; one IAM user belongs to one Slack user. Nothing was linked.`);
    expect(await rig.store.getLink(ACTORS.daveAlt.id)).toBeUndefined();
    expect(await rig.looseAudit(`link:${ACTORS.daveAlt.id}`)).toEqual([]);
    expect(rig.notifier.notices).toEqual([]);
  });
});

describe('submit: what a request reads grows with the requester, not with everyone’s open requests', () => {
  it('looks up the IAM user’s own requests by its index, never a whole status', async () => {
    const store = new MemoryRequestStore();
    const rig = buildRig({ store });
    const byStatus = vi.spyOn(store, 'listByStatus');
    const byIamUser = vi.spyOn(store, 'listByIamUser');
    const first = await rig.submit('jane', 'read-only');
    expect(byStatus).not.toHaveBeenCalled();
    expect(byIamUser).toHaveBeenCalledWith('jane.doe');
    // The lookup still finds the pending request of the same level.
    await expect(rig.submit('jane', 'read-only')).rejects.toThrow(first.request.id);
  });
});
