/**
 * DecisionService over its ports (PRODUCT §1 Decide, §3): approve (one or several approvals),
 * deny, retry, and who may do them, with the real services wired over in-memory fakes.
 */
import { describe, expect, it } from 'vitest';
import { NotAllowedError, RequestNotFoundError, RequestRefusedError } from '../../src/errors.js';
import { ACTORS, ADMIN_CHANNEL, at, buildRig, DAY, HOUR, OTHER_CHANNEL, refusal, refused, START } from '../support/fakes.js';

describe('approve with one approval needed', () => {
  it('PENDING → APPROVED → ACTIVE: the user is added to the group, the expiry set, the admin message updated and the requester told', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only', { durationDays: 7 });
    rig.clock.advance(HOUR);
    rig.notifier.clear();

    const result = await rig.approve('alice', request.id);

    expect(result.kind).toBe('completed');
    const stored = await rig.stored(request.id);
    expect(stored).toMatchObject({
      status: 'ACTIVE',
      decidedBy: ACTORS.alice.id,
      decidedAt: at(HOUR),
      approvals: [{ by: ACTORS.alice.id, at: at(HOUR) }],
      expiresAt: at(HOUR + 7 * DAY),
    });
    expect(stored.noticeDue).toBeUndefined();
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect(rig.iam.botChanges).toEqual([['add', 'jane.doe', 'BillingReadOnly']]);
    expect((await rig.store.auditEvents(request.id)).map((e) => `${e.from}→${e.to} ${e.actor}`)).toEqual([
      `null→PENDING ${ACTORS.jane.id}`,
      `PENDING→APPROVED ${ACTORS.alice.id}`,
      `APPROVED→ACTIVE ${ACTORS.alice.id}`,
    ]);
    expect(rig.notifier.about(request.id)).toEqual(['updated: ACTIVE', `requester ${ACTORS.jane.id}: ACTIVE`]);
  });

  it('two admins clicking at once: exactly one wins, the other is told who decided, and IAM is changed once', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    const [a, b] = await Promise.all([rig.approve('alice', request.id), rig.approve('bob', request.id)]);
    const kinds = [a.kind, b.kind].sort();
    expect(kinds).toEqual(['already-decided', 'completed']);
    const winner = a.kind === 'completed' ? ACTORS.alice.id : ACTORS.bob.id;
    const loser = a.kind === 'completed' ? b : a;
    expect(loser.request.decidedBy).toBe(winner);
    expect((await rig.stored(request.id)).approvals.map((x) => x.by)).toEqual([winner]);
    expect(rig.iam.botChanges.filter(([op]) => op === 'add')).toHaveLength(1);
  });

  it('a click on a request already decided changes nothing and says who decided', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    await rig.deny('alice', request.id, 'not this month');
    const result = await rig.approve('bob', request.id);
    expect(result.kind).toBe('already-decided');
    expect(result.request).toMatchObject({ status: 'DENIED', decidedBy: ACTORS.alice.id });
    expect(rig.iam.botChanges).toEqual([]);
  });
});

describe('who may decide', () => {
  it.each([
    ['a non-admin', 'joe', ADMIN_CHANNEL, 'Only billing admins can decide on requests.'],
    ['an admin outside the admin channel', 'alice', OTHER_CHANNEL, 'Decisions are only taken in the admin channel.'],
    ['a click naming no channel', 'alice', null, 'Decisions are only taken in the admin channel.'],
  ] as const)('%s is refused, for approve, deny and retry alike; nothing changes', async (_, who, channel, message) => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.notifier.clear();
    for (const click of [rig.approve(who, request.id, channel), rig.deny(who, request.id, 'no', channel), rig.retry(who, request.id, channel)]) {
      const { err, text } = await refused(click);
      expect(err).toBeInstanceOf(NotAllowedError);
      expect(text).toBe(message);
    }
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approvals: [], version: request.version });
    expect(rig.notifier.notices).toEqual([]);
  });

  it('an admin cannot decide on their own request; another admin can', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('alice', 'read-only');
    for (const click of [rig.approve('alice', request.id), rig.deny('alice', request.id)]) {
      const { err, text } = await refused(click);
      expect(err).toBeInstanceOf(NotAllowedError);
      expect(text).toBe('You cannot decide on your own request; another admin must.');
    }
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect((await rig.approve('bob', request.id)).kind).toBe('completed');
    expect(rig.iam.isMember('alice.admin', 'BillingReadOnly')).toBe(true);
  });

  it('an admin cannot approve their own IAM user from a second Slack account', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('alice', 'read-only');
    // alice's second account is pinned to her IAM user after she asked.
    await rig.services.requests.link(ACTORS.bob.id, ADMIN_CHANNEL, ACTORS.aliceAlt.id, 'alice.admin');
    const { err, text } = await refused(rig.approve('aliceAlt', request.id));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(text).toBe('The IAM user alice.admin is your own, so you cannot approve it from any Slack account; another admin must.');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approvals: [] });
    expect(rig.iam.isMember('alice.admin', 'BillingReadOnly')).toBe(false);
  });

  it('the admin who linked the requester to an IAM user cannot approve its access', async () => {
    const rig = buildRig();
    // dave's own IAM user (dave.ops) cannot be told from his email: he links his second account to it.
    await rig.services.requests.link(ACTORS.dave.id, ADMIN_CHANNEL, ACTORS.daveAlt.id, 'dave.ops');
    const { request } = await rig.submit('daveAlt', 'read-only');
    const { err, text } = await refused(rig.approve('dave', request.id));
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(text).toBe(`You linked @${ACTORS.daveAlt.id} to the IAM user dave.ops, so you cannot approve its access; another admin must.`);
    expect((await rig.stored(request.id)).status).toBe('PENDING');
  });

  it('an unknown request id is not found', async () => {
    const rig = buildRig();
    const err = await refusal(rig.approve('alice', '01JZZZZZZZZZZZZZZZZZZZZZZZ'));
    expect(err).toBeInstanceOf(RequestNotFoundError);
  });
});

describe('APPROVALS_REQUIRED=2 (full)', () => {
  it('the first approval is recorded and shown, the second by another admin grants; both stand in order', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full');
    rig.notifier.clear();

    rig.clock.advance(HOUR);
    const first = await rig.approve('alice', request.id);
    expect(first.kind).toBe('recorded');
    const recorded = await rig.stored(request.id);
    expect(recorded).toMatchObject({ status: 'PENDING', approvals: [{ by: ACTORS.alice.id, at: at(HOUR) }], approverIds: [ACTORS.alice.id] });
    expect(recorded.decidedBy).toBeUndefined();
    expect(recorded.noticeDue).toBeUndefined();
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(false);
    // The admin message shows the approval; the requester hears nothing yet.
    expect(rig.notifier.about(request.id)).toEqual(['updated: PENDING']);

    rig.clock.advance(HOUR);
    const second = await rig.approve('bob', request.id);
    expect(second.kind).toBe('completed');
    expect(await rig.stored(request.id)).toMatchObject({
      status: 'ACTIVE',
      decidedBy: ACTORS.bob.id,
      decidedAt: at(2 * HOUR),
      approvals: [
        { by: ACTORS.alice.id, at: at(HOUR) },
        { by: ACTORS.bob.id, at: at(2 * HOUR) },
      ],
    });
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(true);
  });

  it('the same admin cannot count twice', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full');
    await rig.approve('alice', request.id);
    const { err, text } = await refused(rig.approve('alice', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('You already approved this request; it needs 1 more approval(s) from other admins.');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approverIds: [ACTORS.alice.id] });
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(false);
  });

  it('one person counts once, even from a second Slack account pinned to the same IAM user', async () => {
    const rig = buildRig();
    await rig.services.requests.link(ACTORS.bob.id, ADMIN_CHANNEL, ACTORS.aliceAlt.id, 'alice.admin');
    const { request } = await rig.submit('jane', 'full');
    await rig.approve('alice', request.id);
    const { err, text } = await refused(rig.approve('aliceAlt', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      `The IAM user alice.admin already approved this request through @${ACTORS.alice.id}; one person counts once, so another admin must approve.`,
    );
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approverIds: [ACTORS.alice.id] });
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(false);
  });
});

describe('the checks run again at approval', () => {
  it('REQUIRE_MFA=block: an MFA device removed since the request refuses the approval; the request stays PENDING', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.iam.setMfa('jane.doe', false);
    const { err, text } = await refused(rig.approve('alice', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('IAM user jane.doe has no MFA device any more, so it cannot be granted. The request stays pending.');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approvals: [] });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });

  it('a requester deactivated since the request cannot be granted', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.directory.edit(ACTORS.jane.id, { deleted: true });
    const { err, text } = await refused(rig.approve('alice', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('The requester can no longer be granted: This Slack account is deactivated. The request stays pending.');
    expect((await rig.stored(request.id)).status).toBe('PENDING');
    expect(rig.iam.botChanges).toEqual([]);
  });

  it('with two approvals, the check runs before the last one, not the first', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full');
    rig.iam.setMfa('jane.doe', false);
    expect((await rig.approve('alice', request.id)).kind).toBe('recorded');
    await expect(rig.approve('bob', request.id)).rejects.toThrow(/no MFA device any more/);
    expect(await rig.stored(request.id)).toMatchObject({ status: 'PENDING', approverIds: [ACTORS.alice.id] });
  });
});

describe('deny', () => {
  it('PENDING → DENIED with the reason: recorded, the admin message updated and the requester told', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.clock.advance(HOUR);
    rig.notifier.clear();
    const result = await rig.deny('bob', request.id, 'use the <!channel> read-only dashboard');
    expect(result.kind).toBe('denied');
    const stored = await rig.stored(request.id);
    expect(stored).toMatchObject({ status: 'DENIED', decidedBy: ACTORS.bob.id, decidedAt: at(HOUR), denyReason: 'use the <!channel> read-only dashboard' });
    expect(stored.noticeDue).toBeUndefined();
    expect((await rig.trail(request.id)).at(-1)).toMatchObject({
      from: 'PENDING',
      to: 'DENIED',
      actor: ACTORS.bob.id,
      at: at(HOUR),
      detail: expect.stringContaining('use the <!channel> read-only dashboard'),
    });
    expect(rig.notifier.about(request.id)).toEqual(['updated: DENIED', `requester ${ACTORS.jane.id}: DENIED`]);
    const dm = rig.notifier.notices.find((n) => n.kind === 'requester');
    expect(dm?.kind === 'requester' && dm.request.denyReason).toBe('use the <!channel> read-only dashboard');
    expect(rig.iam.botChanges).toEqual([]);
  });

  it('without a reason, no reason is stored', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    await rig.deny('bob', request.id);
    const stored = await rig.stored(request.id);
    expect(stored.status).toBe('DENIED');
    expect(stored.denyReason).toBeUndefined();
    expect((await rig.trail(request.id)).at(-1)).toMatchObject({ from: 'PENDING', to: 'DENIED', actor: ACTORS.bob.id });
  });

  it('a denied request cannot be granted afterwards', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'full');
    await rig.approve('alice', request.id);
    await rig.deny('carol', request.id, 'too broad');
    expect((await rig.approve('bob', request.id)).kind).toBe('already-decided');
    expect((await rig.stored(request.id)).status).toBe('DENIED');
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(false);
  });
});

describe('IAM failure and retry', () => {
  /** A read-only request whose grant IAM refused (throttled after retries): FAILED. */
  async function failedRequest() {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    rig.iam.arm('add', 'before');
    const result = await rig.approve('alice', request.id);
    return { rig, request: result.request };
  }

  it('an IAM failure at approval leaves the request FAILED with the error, the admin message shows it and the requester is told', async () => {
    const { rig, request } = await failedRequest();
    expect(request.status).toBe('FAILED');
    const stored = await rig.stored(request.id);
    expect(stored.failure).toMatchObject({ name: 'ThrottlingException', message: expect.stringMatching(/Rate exceeded/), at: START });
    expect(stored.failure?.membershipUnknown).toBeUndefined();
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
    expect(rig.notifier.about(request.id).slice(-2)).toEqual(['updated: FAILED', `requester ${ACTORS.jane.id}: FAILED`]);
  });

  it('Retry of a FAILED request grants it: FAILED → APPROVED → ACTIVE', async () => {
    const { rig, request } = await failedRequest();
    rig.clock.advance(HOUR);
    rig.notifier.clear();
    const result = await rig.retry('bob', request.id);
    expect(result.kind).toBe('completed');
    expect(await rig.stored(request.id)).toMatchObject({ status: 'ACTIVE', expiresAt: at(HOUR + 7 * DAY) });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect((await rig.trail(request.id)).slice(-2)).toMatchObject([
      { from: 'FAILED', to: 'APPROVED', actor: ACTORS.bob.id, at: at(HOUR) },
      { from: 'APPROVED', to: 'ACTIVE', actor: ACTORS.bob.id, at: at(HOUR), detail: expect.stringContaining('added jane.doe to BillingReadOnly') },
    ]);
    expect(rig.notifier.about(request.id)).toEqual(['updated: ACTIVE', `requester ${ACTORS.jane.id}: ACTIVE`]);
  });

  it('Retry runs the approval checks again: MFA removed since (block) is refused and the request stays FAILED', async () => {
    const { rig, request } = await failedRequest();
    rig.iam.setMfa('jane.doe', false);
    const { err, text } = await refused(rig.retry('bob', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe('IAM user jane.doe has no MFA device any more, so it cannot be granted. The request stays failed.');
    expect((await rig.stored(request.id)).status).toBe('FAILED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });

  it('Retry resolves the identity again: a requester who now maps to another IAM user is refused', async () => {
    const { rig, request } = await failedRequest();
    await rig.services.requests.link(ACTORS.bob.id, ADMIN_CHANNEL, ACTORS.jane.id, 'Joe.Smith');
    const { err, text } = await refused(rig.retry('carol', request.id));
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(text).toBe(
      'The requester now maps to IAM user Joe.Smith, not jane.doe as requested. The request stays failed. Let it time out and ask them to request again.',
    );
    expect((await rig.stored(request.id)).status).toBe('FAILED');
    expect(rig.iam.botChanges.filter(([op]) => op === 'add')).toEqual([]);
  });

  it('Retry of a requester who became a guest is refused', async () => {
    const { rig, request } = await failedRequest();
    rig.directory.edit(ACTORS.jane.id, { isRestricted: true });
    const { text } = await refused(rig.retry('bob', request.id));
    expect(text).toBe('The requester can no longer be granted: Guest accounts cannot request billing access. The request stays failed.');
    expect((await rig.stored(request.id)).status).toBe('FAILED');
  });

  it('Retry is refused for the requester themselves and is a no-op on a request that is not FAILED', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('alice', 'read-only');
    rig.iam.arm('add', 'before');
    await rig.approve('bob', request.id);
    expect(await refusal(rig.retry('alice', request.id))).toBeInstanceOf(NotAllowedError);
    expect((await rig.stored(request.id)).status).toBe('FAILED');

    const { request: pending } = await rig.submit('jane', 'read-only');
    const result = await rig.retry('bob', pending.id);
    expect(result.kind).toBe('already-decided');
    expect((await rig.stored(pending.id)).status).toBe('PENDING');
  });
});

describe('approving an extension', () => {
  it("moves the held grant's expiry by n days, marks the extension EXTENDED and never adds the user again", async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    rig.clock.advance(DAY);
    const { request: extension } = await rig.submit('jane', 'read-only', { durationDays: 5 });
    const result = await rig.approve('bob', extension.id);
    expect(result.request.status).toBe('EXTENDED');
    expect(await rig.stored(grant.id)).toMatchObject({ status: 'ACTIVE', expiresAt: at(12 * DAY) });
    expect(await rig.stored(extension.id)).toMatchObject({ status: 'EXTENDED', expiresAt: at(12 * DAY) });
    expect(rig.iam.botChanges).toEqual([['add', 'jane.doe', 'BillingReadOnly']]);
    expect(rig.notifier.about(extension.id).slice(-2)).toEqual(['updated: EXTENDED', `requester ${ACTORS.jane.id}: EXTENDED`]);
  });

  it('is capped at now + MAX_DURATION_DAYS', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only', { durationDays: 30 });
    rig.clock.advance(DAY);
    const { request: extension } = await rig.submit('jane', 'read-only', { durationDays: 30 });
    await rig.approve('bob', extension.id);
    // current + 30 d would be day 60; the cap is now (day 1) + 30 d.
    expect((await rig.stored(grant.id)).expiresAt).toBe(at(31 * DAY));
  });
});

describe('what an approval reads', () => {
  it('each Slack user’s link once per click, however many rules ask about it (requester: own-IAM-user rule and re-check)', async () => {
    const rig = buildRig();
    const { request } = await rig.submit('jane', 'read-only');
    const asked: string[] = [];
    const getLink = rig.store.getLink.bind(rig.store);
    rig.store.getLink = (userId: string) => {
      asked.push(userId);
      return getLink(userId);
    };
    expect((await rig.approve('alice', request.id)).kind).toBe('completed');
    expect(asked.sort()).toEqual([ACTORS.alice.id, ACTORS.jane.id].sort());
  });
});
