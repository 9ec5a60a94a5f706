/**
 * One file: the approval and Retry sections run the same BREAKAGES table, and all four sections
 * lean on the ~200 lines of world-changing and checking helpers above them (failIt, clickRefused,
 * expectNothingMoved, link), so each case is read beside the table and helpers it uses.
 *
 * Everything a grant rests on is checked again when the grant is about to happen, whoever
 * clicks and whenever (PRODUCT §1 "Decide (admin)", "Identity"; §3): at approval, at Retry,
 * and against an approver or reviewer who reaches the request's IAM user from a second Slack
 * account. A FAILED request nobody retries is closed by the sweeper. Every refusal must reach
 * the clicker with its reason and leave the request, IAM and the group exactly as they were.
 */

import {
  AttachGroupPolicyCommand,
  CreateVirtualMFADeviceCommand,
  DeactivateMFADeviceCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  DeleteVirtualMFADeviceCommand,
  DetachGroupPolicyCommand,
  EnableMFADeviceCommand,
  GetGroupCommand,
  ListMFADevicesCommand,
} from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { ACTION } from '../../src/slack/ids.js';
import { READ_ONLY_POLICY, type UserFixture } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { ManualClock } from '../support/clock.js';
import type { FakeUser, StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, Harness, PEOPLE } from '../support/harness.js';
import { adminMessageOf } from '../support/lifecycle-scenarios.js';
import { buttonLabels, messageContent, pendingRequest, stored, waitForAnswer } from '../support/scenario-helpers.js';
import { clickOnMessage, onDemandSummaries } from '../support/summary-helpers.js';

const T0 = '2030-03-04T09:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const GROUP = 'BillingReadOnly';
const ASK = 'read-only 7d month-end close for October';

const employee = PEOPLE.employee.id;
const { admin1, admin2, admin3, outsider } = PEOPLE;

const at = (base: string, ms: number) => new Date(Date.parse(base) + ms).toISOString();

// ---------------------------------------------------------------------------
// Changing the world under a request
// ---------------------------------------------------------------------------

/** A profile change in Slack (deactivated, guest, email, workspace): the bot sees it on its next users.info. */
function editSlackUser(h: Harness, userId: string, change: Partial<Omit<FakeUser, 'id'>>): void {
  h.slack.updateUser(userId, change);
}

async function removeMfa(h: Harness, userName: string): Promise<void> {
  const out = await h.iam.send(new ListMFADevicesCommand({ UserName: userName }));
  expect(out.MFADevices?.length ?? 0, `${userName} should have had an MFA device to remove`).toBeGreaterThan(0);
  for (const device of out.MFADevices ?? []) {
    await h.iam.send(new DeactivateMFADeviceCommand({ UserName: userName, SerialNumber: device.SerialNumber }));
  }
}

async function addMfa(h: Harness, userName: string, deviceName: string): Promise<void> {
  const device = await h.iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: deviceName }));
  await h.iam.send(
    new EnableMFADeviceCommand({
      UserName: userName,
      SerialNumber: device.VirtualMFADevice?.SerialNumber,
      AuthenticationCode1: '123456',
      AuthenticationCode2: '654321',
    }),
  );
}

/** Deletes an IAM user the way IAM requires: its password and MFA devices first. */
async function deleteIamUser(h: Harness, userName: string): Promise<void> {
  await h.iam.send(new DeleteLoginProfileCommand({ UserName: userName }));
  const out = await h.iam.send(new ListMFADevicesCommand({ UserName: userName }));
  for (const device of out.MFADevices ?? []) {
    await h.iam.send(new DeactivateMFADeviceCommand({ UserName: userName, SerialNumber: device.SerialNumber }));
    await h.iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: device.SerialNumber }));
  }
  await h.iam.send(new DeleteUserCommand({ UserName: userName }));
}

/** Members of a group read from IAM itself (works when one of the users involved no longer exists). */
async function membersOf(h: Harness, group: string): Promise<string[]> {
  const out = await h.iam.send(new GetGroupCommand({ GroupName: group }));
  return (out.Users ?? []).map((u) => u.UserName ?? '');
}

/** An admin's `link`, typed in the admin channel; the bot must confirm it. */
async function link(h: Harness, adminId: string, userId: string, iamUserName: string): Promise<void> {
  const res = await h.adminCommand(adminId, `link <@${userId}> ${iamUserName}`);
  expect(res.status).toBe(200);
  expect(await waitForAnswer(h, res)).toContain('is now linked to IAM user');
  await h.idle();
}

// ---------------------------------------------------------------------------
// Requests in a known state
// ---------------------------------------------------------------------------

/**
 * Fails a pending request: the group guard refuses while the group lacks its policy, then the
 * policy is put back, so a later Retry could only be refused for the cause the test sets up.
 */
async function failIt(h: Harness, request: AccessRequest, approver: string): Promise<AccessRequest> {
  const dmsBefore = h.dms(request.requesterId).length;
  await h.iam.send(new DetachGroupPolicyCommand({ GroupName: GROUP, PolicyArn: READ_ONLY_POLICY }));
  expect((await h.click(approver, 'approve', request.id)).status).toBe(200);
  const failed = await h.waitForStatus(request.id, 'FAILED');
  expect(failed.failure?.name).toBe('GroupPolicyMismatch');
  // The requester is told of the failure; wait for it so later DM counts start from a settled state.
  await h.slack.waitFor(() => h.dms(request.requesterId).length > dmsBefore);
  await h.idle();
  await h.iam.send(new AttachGroupPolicyCommand({ GroupName: GROUP, PolicyArn: READ_ONLY_POLICY }));
  expect(buttonLabels(adminMessageOf(h, failed))).toEqual(['Retry']);
  expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
  return stored(h, request.id);
}

async function failedRequest(h: Harness, userId: string, text: string, approver: string): Promise<AccessRequest> {
  return failIt(h, await pendingRequest(h, userId, text), approver);
}

/** Clicks as `adminId` and returns the ephemeral the bot answers the click with. */
async function clickRefused(h: Harness, adminId: string, action: keyof typeof ACTION, requestId: string): Promise<string> {
  const before = h.ephemeralsFor(adminId).length;
  expect((await h.click(adminId, action, requestId)).status).toBe(200);
  let told: StoredMessage;
  try {
    told = await h.slack.waitFor(() => h.ephemeralsFor(adminId)[before]);
  } catch (err) {
    // No refusal came: say what the click did instead, which is what a regression looks like.
    await h.idle();
    const now = await h.bot.deps.store.get(requestId);
    throw new Error(`no refusal reached ${adminId} for ${action}; the request is now ${now?.status ?? 'missing'}`, { cause: err });
  }
  await h.idle();
  expect(told.channel).toBe(ADMIN_CHANNEL);
  return told.text;
}

async function auditTrailOf(h: Harness, id: string): Promise<string[]> {
  return (await h.bot.deps.store.auditEvents(id)).map((e) => e.to);
}

/**
 * A refused click changed nothing: the stored request is the same version (so no status change
 * and no approval recorded), nothing was added in IAM, and nobody is in the group.
 */
async function expectNothingMoved(h: Harness, before: AccessRequest): Promise<void> {
  const now = await stored(h, before.id);
  expect(now.status).toBe(before.status);
  expect(now.version).toBe(before.version);
  expect(now.approvals).toEqual(before.approvals);
  expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
  expect(await membersOf(h, GROUP)).toEqual([]);
}

// ---------------------------------------------------------------------------
// What can break between the request and the grant
// ---------------------------------------------------------------------------

interface Breakage {
  name: string;
  /** Changes the world after jane.doe's request was made. */
  breakIt: (h: Harness) => Promise<void>;
  /** Why the admin is told the grant cannot happen. */
  reason: RegExp;
  /** Whether the refusal also says the request stays where it is (the mapping case says what to do instead). */
  saysItStays: boolean;
  /** Undoes the cause, where that is possible, so the same click can go through. */
  putRight?: (h: Harness) => Promise<void>;
}

const BREAKAGES: Breakage[] = [
  {
    name: 'the IAM user’s MFA device was removed (REQUIRE_MFA=block)',
    breakIt: (h) => removeMfa(h, 'jane.doe'),
    reason: /`jane\.doe` has no MFA device any more/,
    saysItStays: true,
    putRight: (h) => addMfa(h, 'jane.doe', 'jane.doe-mfa-again'),
  },
  {
    name: 'the IAM user was deleted',
    breakIt: (h) => deleteIamUser(h, 'jane.doe'),
    reason: /IAM user `jane\.doe` no longer exists/,
    saysItStays: true,
  },
  {
    name: 'an admin linked the requester to another IAM user',
    // By admin3: an admin who links the requester may not approve what the link decides.
    breakIt: (h) => link(h, admin3.id, employee, 'other.user'),
    reason: /now maps to IAM user `other\.user`, not `jane\.doe`/,
    saysItStays: true,
    // Linking back to the IAM user of the request makes the mapping agree again.
    putRight: (h) => link(h, admin3.id, employee, 'jane.doe'),
  },
  {
    name: 'the requester’s Slack account was deactivated',
    breakIt: async (h) => editSlackUser(h, employee, { deleted: true }),
    reason: /can no longer be granted: This Slack account is deactivated/,
    saysItStays: true,
    putRight: async (h) => editSlackUser(h, employee, { deleted: false }),
  },
  {
    name: 'the requester became a guest',
    breakIt: async (h) => editSlackUser(h, employee, { isRestricted: true }),
    reason: /can no longer be granted: Guest accounts cannot request billing access/,
    saysItStays: true,
    putRight: async (h) => editSlackUser(h, employee, { isRestricted: false }),
  },
  {
    name: 'the requester’s email moved to a domain outside ALLOWED_EMAIL_DOMAINS',
    breakIt: async (h) => editSlackUser(h, employee, { email: 'jane.doe@partner.com' }),
    reason: /can no longer be granted: .*\(partner\.com\) is not one that may map to AWS IAM users/,
    saysItStays: true,
    putRight: async (h) => editSlackUser(h, employee, { email: PEOPLE.employee.email }),
  },
  {
    name: 'the requester’s account moved to another workspace',
    breakIt: async (h) => editSlackUser(h, employee, { teamId: 'T0OTHER' }),
    reason: /can no longer be granted: Billing access can only be requested by members of this workspace/,
    saysItStays: true,
    putRight: async (h) => editSlackUser(h, employee, { teamId: undefined }),
  },
];

describe('re-checks before a grant', () => {
  let h: Harness | undefined;
  let clock: ManualClock;

  async function start(users: UserFixture[] = [{ name: 'jane.doe' }, { name: 'other.user' }]): Promise<Harness> {
    clock = new ManualClock(T0);
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), clock, users });
    expect(h.bot.deps.config.requireMfa).toBe('block');
    return h;
  }

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('at approval: the request stays PENDING', () => {
    it.each(BREAKAGES)('$name: the approval is refused with the reason, nothing is granted', async (breakage) => {
      const h = await start();
      const request = await pendingRequest(h, employee, ASK);
      clock.advance(10 * MINUTE);
      await breakage.breakIt(h);

      const told = await clickRefused(h, admin1.id, 'approve', request.id);
      expect(told).toMatch(breakage.reason);
      if (breakage.saysItStays) expect(told).toContain('The request stays pending.');
      await expectNothingMoved(h, request);
      expect(await auditTrailOf(h, request.id)).toEqual(['PENDING']);
      // The admin message still offers the decision, since nothing was decided.
      expect(buttonLabels(adminMessageOf(h, request))).toEqual(['Approve', 'Deny']);
      expect(h.dms(employee)).toEqual([]);

      if (!breakage.putRight) return;
      await breakage.putRight(h);
      expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
      const active = await h.waitForStatus(request.id, 'ACTIVE');
      await h.idle();
      expect(active.decidedBy).toBe(admin1.id);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      expect(await membersOf(h, GROUP)).toEqual(['jane.doe']);
      expect(await auditTrailOf(h, request.id)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    });
  });

  describe('at Retry: every check an approval runs, the request stays FAILED', () => {
    it.each(BREAKAGES)('$name: the Retry is refused with the reason, nothing is granted', async (breakage) => {
      const h = await start();
      const failed = await failedRequest(h, employee, ASK, admin1.id);
      const trail = await auditTrailOf(h, failed.id);
      expect(trail).toEqual(['PENDING', 'APPROVED', 'FAILED']);
      clock.advance(10 * MINUTE);
      await breakage.breakIt(h);

      const told = await clickRefused(h, admin2.id, 'retry', failed.id);
      expect(told).toMatch(breakage.reason);
      if (breakage.saysItStays) expect(told).toContain('The request stays failed.');
      await expectNothingMoved(h, failed);
      expect(await auditTrailOf(h, failed.id)).toEqual(trail);
      expect(buttonLabels(adminMessageOf(h, failed))).toEqual(['Retry']);

      if (!breakage.putRight) return;
      await breakage.putRight(h);
      expect((await h.click(admin2.id, 'retry', failed.id)).status).toBe(200);
      await h.waitForStatus(failed.id, 'ACTIVE');
      await h.idle();
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      expect(await membersOf(h, GROUP)).toEqual(['jane.doe']);
      expect(await auditTrailOf(h, failed.id)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'APPROVED', 'ACTIVE']);
    });

    it('a Retry by an admin whose own IAM user is the request’s, reached through a link, is refused', async () => {
      // admin1 asks for their own IAM user alice.admin, which they reach by email, not by a link.
      const h = await start([{ name: 'alice.admin' }]);
      const failed = await failedRequest(h, admin1.id, 'read-only 7d quarterly budget review', admin3.id);
      expect(failed.iamUserName).toBe('alice.admin');
      // alice.admin is linked to no Slack user, so this link is allowed; admin2's own IAM user is now alice.admin.
      await link(h, admin3.id, admin2.id, 'alice.admin');

      const told = await clickRefused(h, admin2.id, 'retry', failed.id);
      expect(told).toContain('The IAM user `alice.admin` is your own');
      expect(told).toMatch(/from any Slack account; another admin must/);
      await expectNothingMoved(h, failed);
      expect(await auditTrailOf(h, failed.id)).toEqual(['PENDING', 'APPROVED', 'FAILED']);
      expect(buttonLabels(adminMessageOf(h, failed))).toEqual(['Retry']);
    });
  });

  describe('a FAILED request nobody retries', () => {
    it('is closed by the sweeper PENDING_TIMEOUT_HOURS after its failure: TIMED_OUT, audited, Retry gone, requester told; a later Retry is refused', async () => {
      const h = await start();
      expect(h.bot.deps.config.pendingTimeoutHours).toBe(24);
      const request = await pendingRequest(h, employee, ASK);
      // It fails 20 h after it was asked for, so a deadline counted from the request would fall well before one counted from the failure.
      const failedAt = at(T0, 20 * HOUR);
      clock.set(failedAt);
      const failed = await failIt(h, request, admin1.id);
      expect(failed.failure?.at).toBe(failedAt);
      const dmsBefore = h.dms(employee).length;

      // Past a day after the request, within a day of the failure: left alone.
      clock.set(at(failedAt, 23 * HOUR));
      const early = await h.sweep();
      expect(early.timedOut).toBe(0);
      expect(early.errors).toBe(0);
      await h.idle();
      expect((await stored(h, failed.id)).status).toBe('FAILED');
      expect(buttonLabels(adminMessageOf(h, failed))).toEqual(['Retry']);
      expect(h.dms(employee)).toHaveLength(dmsBefore);

      // A day after the failure without a Retry: closed.
      const closedAt = at(failedAt, 24 * HOUR + MINUTE);
      clock.set(closedAt);
      const late = await h.sweep();
      expect(late.timedOut).toBe(1);
      expect(late.errors).toBe(0);
      await h.slack.waitFor(() => h.dms(employee).length > dmsBefore);
      await h.idle();

      const closed = await stored(h, failed.id);
      expect(closed.status).toBe('TIMED_OUT');
      expect(closed.updatedAt).toBe(closedAt);
      expect(closed.noticeDue).toBeUndefined();
      const events = await h.bot.deps.store.auditEvents(failed.id);
      expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'TIMED_OUT']);
      expect(events.at(-1)).toMatchObject({ from: 'FAILED', to: 'TIMED_OUT', actor: 'system', at: closedAt });
      expect(events.at(-1)?.detail).toContain('not retried within 24 h');

      const message = adminMessageOf(h, closed);
      expect(buttonLabels(message)).toEqual([]);
      expect(messageContent(message)).toMatch(/not retried in time: closed/);
      expect(h.adminMessages()).toHaveLength(1);
      const told = h.dms(employee).slice(dmsBefore);
      expect(told).toHaveLength(1);
      expect(messageContent(told[0])).toContain(failed.id);
      expect(messageContent(told[0])).toMatch(/was not retried in time, so it is closed/);

      // Closing happens once.
      clock.advanceHours(1);
      expect((await h.sweep()).timedOut).toBe(0);
      expect(await auditTrailOf(h, failed.id)).toHaveLength(4);

      // The group would now let a grant through: only the request's state refuses this Retry.
      const refused = await clickRefused(h, admin2.id, 'retry', failed.id);
      expect(refused).toMatch(/already decided/);
      await expectNothingMoved(h, closed);
      expect(await auditTrailOf(h, failed.id)).toHaveLength(4);
    });
  });

  describe('no approval or Keep of one’s own IAM user from a second Slack account', () => {
    it('the admin who linked the requester to an IAM user cannot approve its access; another admin can', async () => {
      // admin1's own IAM user cannot be told from his email; he links a second account of his to it.
      const h = await start([{ name: 'jane.doe' }, { name: 'ops.alice' }]);
      await link(h, admin1.id, outsider.id, 'ops.alice');
      const request = await pendingRequest(h, outsider.id, ASK);
      expect(request.linkedBy).toBe(admin1.id);

      const told = await clickRefused(h, admin1.id, 'approve', request.id);
      expect(told).toContain(`You linked <@${outsider.id}> to the IAM user \`ops.alice\``);
      await expectNothingMoved(h, request);
      // The link was put in front of every admin when it was made.
      expect(h.adminMessages().map((m) => m.text)).toContain(`:link: <@${admin1.id}> linked <@${outsider.id}> to IAM user \`ops.alice\`.`);

      expect((await h.click(admin2.id, 'approve', request.id)).status).toBe(200);
      await h.waitForStatus(request.id, 'ACTIVE');
    });

    it('an admin whose own IAM user a second Slack account was linked to cannot approve that account’s request; another admin can', async () => {
      // Bob (admin2, bob.admin by email) has a second, non-admin Slack account, linked to his IAM user by admin3.
      const h = await start([{ name: 'jane.doe' }, { name: 'bob.admin' }]);
      await link(h, admin3.id, outsider.id, 'bob.admin');
      const request = await pendingRequest(h, outsider.id, ASK);
      expect(request.iamUserName).toBe('bob.admin');

      const told = await clickRefused(h, admin2.id, 'approve', request.id);
      expect(told).toContain('The IAM user `bob.admin` is your own');
      expect(told).toMatch(/from any Slack account; another admin must/);
      await expectNothingMoved(h, request);
      expect(await auditTrailOf(h, request.id)).toEqual(['PENDING']);
      expect(buttonLabels(adminMessageOf(h, request))).toEqual(['Approve', 'Deny']);

      expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
      const active = await h.waitForStatus(request.id, 'ACTIVE');
      await h.idle();
      expect(active.decidedBy).toBe(admin1.id);
      expect(active.approvals.map((a) => a.by)).toEqual([admin1.id]);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      expect(await membersOf(h, GROUP)).toEqual(['bob.admin']);
    });

    it('an admin linked to the requester’s IAM user after the request cannot approve it; once the link is moved away, another admin can', async () => {
      const h = await start([{ name: 'jane.doe' }, { name: 'carol.admin' }]);
      const request = await pendingRequest(h, employee, ASK);
      // jane.doe is reached by the employee's email, not a link, so linking it to admin3 is allowed.
      await link(h, admin1.id, admin3.id, 'jane.doe');

      const own = await clickRefused(h, admin3.id, 'approve', request.id);
      expect(own).toContain('The IAM user `jane.doe` is your own');
      await expectNothingMoved(h, request);

      // While jane.doe is linked to admin3, the requester no longer maps to it (one IAM user, one Slack user).
      const oneToOne = await clickRefused(h, admin2.id, 'approve', request.id);
      expect(oneToOne).toMatch(/`jane\.doe` is linked to another Slack user/);
      expect(oneToOne).toContain('The request stays pending.');
      await expectNothingMoved(h, request);
      expect(await auditTrailOf(h, request.id)).toEqual(['PENDING']);

      await link(h, admin1.id, admin3.id, 'carol.admin');
      expect((await h.click(admin2.id, 'approve', request.id)).status).toBe(200);
      const active = await h.waitForStatus(request.id, 'ACTIVE');
      await h.idle();
      expect(active.decidedBy).toBe(admin2.id);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      expect(await membersOf(h, GROUP)).toEqual(['jane.doe']);
    });

    it('a Keep from an admin account linked to the grant’s IAM user is refused; another admin’s Keep is recorded', async () => {
      const h = await start();
      const request = await pendingRequest(h, employee, ASK);
      expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
      await h.waitForStatus(request.id, 'ACTIVE');
      await h.idle();
      await link(h, admin1.id, admin3.id, 'jane.doe');

      clock.advanceHours(1);
      await h.bot.deps.summaries.postOnDemand(admin2.id, ADMIN_CHANNEL);
      const summary = () => onDemandSummaries(h)[0] as StoredMessage;
      expect(JSON.stringify(summary().blocks ?? [])).toContain(request.id);
      const grant = await stored(h, request.id);

      const before = h.ephemeralsFor(admin3.id).length;
      expect((await clickOnMessage(h, admin3.id, 'keep', request.id, summary())).status).toBe(200);
      const told = await h.slack.waitFor(() => h.ephemeralsFor(admin3.id)[before]);
      await h.idle();
      expect(told.text).toContain('The IAM user `jane.doe` is your own, so you cannot keep its access');
      const after = await stored(h, request.id);
      expect(after.status).toBe('ACTIVE');
      expect(after.version).toBe(grant.version);
      expect(after.reviewedBy).toBeUndefined();
      expect(summary().edited).toBeUndefined();
      expect(await auditTrailOf(h, request.id)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);

      expect((await clickOnMessage(h, admin2.id, 'keep', request.id, summary())).status).toBe(200);
      await h.slack.waitFor(() => (summary().edited ? summary() : undefined));
      await h.idle();
      const kept = await stored(h, request.id);
      expect(kept.status).toBe('ACTIVE');
      expect(kept.reviewedBy).toBe(admin2.id);
      expect(messageContent(summary())).toContain(`Kept by <@${admin2.id}>`);
      expect(await membersOf(h, GROUP)).toEqual(['jane.doe']);
    });
  });
});
