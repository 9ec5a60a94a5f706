/**
 * GroupMembership, "who else holds this group" (PRODUCT §1 "Expire and revoke": a user is
 * removed from a group only if no other ACTIVE grant of theirs needs that group), seen through
 * the services that ask it: revoke, expiry, and the undoing of a failed add.
 *
 * Two levels may share one IAM group (here `audit` and `read-only` both grant BillingReadOnly),
 * which is how one IAM user comes to hold two grants of the same group through normal requests.
 */
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_ARNS, type LevelConfig } from '../../src/config.js';
import { ACTORS, ADMIN_CHANNEL, buildRig, requestOf, START } from '../support/fakes.js';

const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString();
const READ_ONLY_ARN = DEFAULT_POLICY_ARNS['read-only'] as string;
const LEVELS: LevelConfig[] = [
  { level: 'read-only', groupName: 'BillingReadOnly', policyArn: READ_ONLY_ARN, approvalsRequired: 1 },
  { level: 'audit', groupName: 'BillingReadOnly', policyArn: READ_ONLY_ARN, approvalsRequired: 1 },
  { level: 'full', groupName: 'BillingFull', policyArn: DEFAULT_POLICY_ARNS.full as string, approvalsRequired: 1 },
];

const sharedGroupRig = () => buildRig({ config: { levels: LEVELS } });

describe('another grant of the same IAM user on the same group keeps the user in it', () => {
  it('revoking one of two grants of one group keeps the membership, and says why; ending the second removes it', async () => {
    const rig = sharedGroupRig();
    const readOnly = await rig.grant('jane', 'read-only');
    const audit = await rig.grant('jane', 'audit', { durationDays: 3 });

    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: readOnly.id }, ADMIN_CHANNEL);
    expect((await rig.stored(readOnly.id)).status).toBe('REVOKED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect((await rig.trail(readOnly.id)).at(-1)).toMatchObject({ from: 'ACTIVE', to: 'REVOKED', detail: expect.stringContaining(audit.id) });
    expect(rig.iam.botChanges.filter(([op]) => op === 'remove')).toEqual([]);

    // The second grant's expiry has nobody else needing the group.
    rig.clock.set(at(3 * DAY));
    await rig.services.sweeper.sweep();
    expect((await rig.stored(audit.id)).status).toBe('EXPIRED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });

  it('the expiry of the earlier grant keeps the user in while the later one runs', async () => {
    const rig = sharedGroupRig();
    const short = await rig.grant('jane', 'audit', { durationDays: 1 });
    const long = await rig.grant('jane', 'read-only', { durationDays: 7 });
    rig.clock.set(at(DAY));
    expect((await rig.services.sweeper.sweep()).expired).toBe(1);
    expect((await rig.stored(short.id)).status).toBe('EXPIRED');
    expect((await rig.stored(long.id)).status).toBe('ACTIVE');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });

  it('IAM user names compare case-insensitively: a grant to Joe.Smith keeps joe.smith in the group', async () => {
    const rig = sharedGroupRig();
    // joe's first grant maps from his email (joe.smith); then he is pinned to the IAM spelling.
    const first = await rig.grant('joe', 'read-only');
    expect(first.iamUserName).toBe('joe.smith');
    await rig.services.requests.link(ACTORS.carol.id, ADMIN_CHANNEL, ACTORS.joe.id, 'Joe.Smith');
    const second = await rig.grant('joe', 'audit');
    expect(second.iamUserName).toBe('Joe.Smith');

    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: first.id }, ADMIN_CHANNEL);
    expect(rig.iam.isMember('Joe.Smith', 'BillingReadOnly')).toBe(true);
    expect((await rig.trail(first.id)).at(-1)?.detail).toContain(second.id);
  });

  it('an APPROVED grant (its add in flight) counts too', async () => {
    const rig = sharedGroupRig();
    const grant = await rig.grant('jane', 'read-only');
    const inFlight = ulid(Date.parse(START) + 1000);
    await rig.store.create(
      requestOf({
        id: inFlight,
        status: 'APPROVED',
        level: 'audit',
        createdAt: at(1000),
        decidedBy: ACTORS.alice.id,
        decidedAt: at(1000),
        approvals: [{ by: ACTORS.alice.id, at: at(1000) }],
        approverIds: [ACTORS.alice.id],
      }),
      { actor: ACTORS.alice.id, detail: 'approved' },
    );
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: grant.id }, ADMIN_CHANNEL);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect((await rig.trail(grant.id)).at(-1)?.detail).toContain(inFlight);
  });
});

describe('the access review', () => {
  it('does not call a member drift (nor remove them) while a grant of theirs is APPROVED and its add in flight', async () => {
    const rig = buildRig({ config: { driftPolicy: 'remove' } });
    await rig.store.create(
      requestOf({
        id: ulid(Date.parse(START)),
        status: 'APPROVED',
        createdAt: START,
        decidedBy: ACTORS.alice.id,
        decidedAt: START,
        approvals: [{ by: ACTORS.alice.id, at: START }],
        approverIds: [ACTORS.alice.id],
      }),
      { actor: ACTORS.alice.id, detail: 'approved' },
    );
    // The add reached IAM; the APPROVED → ACTIVE write has not happened yet.
    rig.iam.handEdit('add', 'jane.doe', 'BillingReadOnly');
    rig.iam.handEdit('add', 'bob.admin', 'BillingReadOnly');
    const report = await rig.services.summaries.build(at(-7 * DAY), START);
    const members = report.groups.find((g) => g.groupName === 'BillingReadOnly')?.members;
    expect(members?.find((m) => m.userName === 'jane.doe')).toMatchObject({ drift: false, removed: false });
    expect(members?.find((m) => m.userName === 'bob.admin')).toMatchObject({ drift: true, removed: true });
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
  });
});

describe('what does not count', () => {
  it('an extension request never adds anyone, so it does not keep the user in (even while APPROVED)', async () => {
    const rig = buildRig();
    const grant = await rig.grant('jane', 'read-only');
    await rig.store.create(
      requestOf({
        id: ulid(Date.parse(START) + 1000),
        status: 'APPROVED',
        createdAt: at(1000),
        extendsRequestId: grant.id,
        decidedBy: ACTORS.alice.id,
        decidedAt: at(1000),
        approvals: [{ by: ACTORS.alice.id, at: at(1000) }],
        approverIds: [ACTORS.alice.id],
      }),
      { actor: ACTORS.jane.id, detail: 'extension request' },
    );
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: grant.id }, ADMIN_CHANNEL);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });

  it("the user's grant of another group, and another user's grant of this group, do not keep the user in", async () => {
    const rig = buildRig();
    const readOnly = await rig.grant('jane', 'read-only');
    await rig.grant('jane', 'full');
    await rig.grant('joe', 'read-only');
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: readOnly.id }, ADMIN_CHANNEL);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
    expect(rig.iam.isMember('jane.doe', 'BillingFull')).toBe(true);
    expect(rig.iam.isMember('Joe.Smith', 'BillingReadOnly')).toBe(true);
  });

  it('an ended grant does not count', async () => {
    const rig = sharedGroupRig();
    const audit = await rig.grant('jane', 'audit');
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: audit.id }, ADMIN_CHANNEL);
    const readOnly = await rig.grant('jane', 'read-only');
    await rig.services.lifecycle.revoke(ACTORS.bob.id, { requestId: readOnly.id }, ADMIN_CHANNEL);
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(false);
  });
});

describe('undoing a failed add', () => {
  it('an add that failed after reaching IAM is taken back, unless another grant needs the group', async () => {
    const rig = sharedGroupRig();
    // Asked for before she held anything, so the failed add would be the bot's to take back.
    const { request: audit } = await rig.submit('jane', 'audit');
    const { request: alone } = await rig.submit('joe', 'audit');
    await rig.grant('jane', 'read-only');

    rig.iam.arm('add', 'after');
    expect((await rig.approve('alice', audit.id)).request.status).toBe('FAILED');
    expect(rig.iam.isMember('jane.doe', 'BillingReadOnly')).toBe(true);
    expect((await rig.stored(audit.id)).failure?.membershipUnknown).toBeUndefined();

    // Without another grant, the same failure takes the user out again.
    rig.iam.arm('add', 'after');
    expect((await rig.approve('alice', alone.id)).request.status).toBe('FAILED');
    expect(rig.iam.isMember('Joe.Smith', 'BillingReadOnly')).toBe(false);
  });
});
