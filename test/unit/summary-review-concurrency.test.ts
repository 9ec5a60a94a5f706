/**
 * The access review at account scale (PRODUCT §6): through the real AwsIamGateway on a mocked
 * IAMClient, 500 members of the billing groups are reviewed with IAM calls that grow with the
 * members only (a few per group, four per member), at most REVIEW_CONCURRENCY members (four
 * times as many IAM calls) in flight, in the members' order; a read throttled past the SDK's
 * retries leaves that one finding unchecked, and a member whose review fails starts no further one.
 */
import {
  GetGroupCommand,
  type GetGroupCommandInput,
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  type ListAttachedGroupPoliciesCommandInput,
  ListGroupPoliciesCommand,
  ListMFADevicesCommand,
  type ListMFADevicesCommandInput,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { summarySchedule } from '../../src/deps.js';
import type { AccessRequest, RequestStatus } from '../../src/domain/request.js';
import { AdminPolicy } from '../../src/services/admins.js';
import { GroupMembership } from '../../src/services/membership.js';
import { REVIEW_CONCURRENCY, SummaryService } from '../../src/services/summary-service.js';
import { ManualClock } from '../support/clock.js';
import { awsError, CREATED } from '../support/iam-mock.js';
import { MemoryRequestStore } from '../support/memory-store.js';
import { modelConfig } from '../support/model/world.js';

const NOW = '2030-01-07T09:00:00.000Z';
const MEMBERS = { BillingReadOnly: 300, BillingFull: 200 } as const;
type Group = keyof typeof MEMBERS;
const memberNames = (group: Group) =>
  Array.from({ length: MEMBERS[group] }, (_, i) => `${group === 'BillingFull' ? 'full' : 'ro'}${String(i).padStart(3, '0')}`);

/** A store whose listByStatus('APPROVED') fails once, at its `failAt`-th call (the drift re-check of one member). */
class FailingStore extends MemoryRequestStore {
  approvedReads = 0;
  constructor(private readonly failAt?: number) {
    super();
  }
  override async listByStatus(status: RequestStatus, options?: { createdBefore?: string; limit?: number }): Promise<AccessRequest[]> {
    if (status === 'APPROVED' && ++this.approvedReads === this.failAt) throw Object.assign(new Error('table unreachable'), { name: 'InternalServerError' });
    return super.listByStatus(status, options);
  }
}

/** A review over the real gateway: every IAM call answers after a timer, the calls in flight counted. */
function reviewRig(options: { failAt?: number; throttleMfaOf?: (userName: string) => boolean } = {}) {
  const config = modelConfig();
  const client = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const iamMock = mockClient(client);
  const flight = { now: 0, max: 0 };
  const later = <T>(answer: () => T) =>
    (async () => {
      flight.now++;
      flight.max = Math.max(flight.max, flight.now);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return answer();
      } finally {
        flight.now--;
      }
    })();
  const policyOf = new Map(config.levels.map((l) => [l.groupName, l.policyArn]));
  iamMock
    .on(ListAttachedGroupPoliciesCommand)
    .callsFake((input: ListAttachedGroupPoliciesCommandInput) =>
      later(() => ({ AttachedPolicies: [{ PolicyName: 'p', PolicyArn: policyOf.get(input.GroupName ?? '') }] })),
    );
  iamMock.on(ListGroupPoliciesCommand).callsFake(() => later(() => ({ PolicyNames: [] })));
  iamMock.on(GetGroupCommand).callsFake((input: GetGroupCommandInput) =>
    later(() => {
      const names = memberNames(input.GroupName as Group);
      const start = Number(input.Marker ?? 0);
      const end = start + 100;
      return {
        Group: { GroupName: input.GroupName, GroupId: 'G', Arn: `arn:aws:iam::123456789012:group/${input.GroupName}`, Path: '/', CreateDate: CREATED },
        Users: names
          .slice(start, end)
          .map((UserName) => ({ UserName, UserId: 'AIDA', Arn: `arn:aws:iam::123456789012:user/${UserName}`, Path: '/', CreateDate: CREATED })),
        IsTruncated: end < names.length,
        ...(end < names.length ? { Marker: String(end) } : {}),
      };
    }),
  );
  iamMock.on(GetUserCommand).callsFake(() => later(() => ({ User: { UserName: 'u', UserId: 'AIDA', Arn: 'arn', Path: '/', CreateDate: CREATED } })));
  iamMock.on(GetLoginProfileCommand).callsFake(() => later(() => ({ LoginProfile: { UserName: 'u', CreateDate: CREATED } })));
  iamMock.on(ListMFADevicesCommand).callsFake((input: ListMFADevicesCommandInput) =>
    later(() => {
      if (options.throttleMfaOf?.(input.UserName ?? '')) throw awsError('Throttling', 'Rate exceeded');
      return { MFADevices: [{ UserName: input.UserName, SerialNumber: 'mfa', EnableDate: CREATED }] };
    }),
  );
  iamMock.on(ListAccessKeysCommand).callsFake(() => later(() => ({ AccessKeyMetadata: [] })));

  const iam = new AwsIamGateway({ client, groups: [...policyOf.keys()], policyArns: [...policyOf.values()] });
  const store = new FailingStore(options.failAt);
  const summaries = new SummaryService({
    config,
    store,
    iam,
    admins: new AdminPolicy(config.adminUserIds, undefined, { getUser: async () => undefined, usergroupMembers: async () => [] }),
    membership: new GroupMembership(store),
    identity: { approverConflict: async () => undefined },
    poster: { postSummary: async () => undefined },
    clock: new ManualClock(NOW),
    log: pino({ level: 'silent' }),
    replicaId: 'replica-a',
    schedule: summarySchedule(config),
  });
  const build = () => summaries.build('2029-12-31T09:00:00.000Z', NOW);
  return { iamMock, flight, build };
}

describe('the access review of 500 members', () => {
  it('reviews every member in order with four IAM reads each, at most REVIEW_CONCURRENCY members (×4 calls) in flight', async () => {
    const rig = reviewRig();
    const report = await rig.build();
    for (const group of Object.keys(MEMBERS) as Group[]) {
      const review = report.groups.find((g) => g.groupName === group);
      expect(review?.error).toBeUndefined();
      expect(review?.members.map((m) => m.userName)).toEqual(memberNames(group));
      expect(review?.members.every((m) => m.mfa === true && m.drift)).toBe(true);
    }
    const calls = (command: Parameters<typeof rig.iamMock.commandCalls>[0]) => rig.iamMock.commandCalls(command).length;
    for (const command of [GetUserCommand, GetLoginProfileCommand, ListMFADevicesCommand, ListAccessKeysCommand]) expect(calls(command)).toBe(500);
    // Per group: its two policy listings and one GetGroup per 100 members; nothing that grows with the account.
    expect(calls(ListAttachedGroupPoliciesCommand) + calls(ListGroupPoliciesCommand)).toBe(4);
    expect(calls(GetGroupCommand)).toBe(3 + 2);
    expect(rig.iamMock.calls()).toHaveLength(4 * 500 + 4 + 5);
    expect(rig.flight.max).toBe(4 * REVIEW_CONCURRENCY);
  });

  it('a read throttled past the SDK retries leaves that finding unchecked; every other member is still reviewed', async () => {
    const throttled = new Set(['ro007', 'ro123', 'full050']);
    const rig = reviewRig({ throttleMfaOf: (u) => throttled.has(u) });
    const report = await rig.build();
    const members = report.groups.flatMap((g) => {
      expect(g.error).toBeUndefined();
      return g.members;
    });
    expect(members).toHaveLength(500);
    expect(members.filter((m) => m.mfa === null).map((m) => m.userName)).toEqual(['ro007', 'ro123', 'full050']);
    expect(members.filter((m) => m.mfa === true)).toHaveLength(497);
  });

  it('a member whose review fails starts no further member; those under way finish; the group says why, the next group is reviewed', async () => {
    const rig = reviewRig({ failAt: 40 });
    const report = await rig.build();
    const readOnly = report.groups.find((g) => g.groupName === 'BillingReadOnly');
    expect(readOnly?.error).toBe('InternalServerError: table unreachable');
    const reviewed = readOnly?.members.map((m) => m.userName) ?? [];
    // In the members' order, without the one that failed, and nothing started after it.
    expect(reviewed).toEqual(memberNames('BillingReadOnly').filter((u) => reviewed.includes(u)));
    expect(reviewed.length).toBeGreaterThanOrEqual(40 - REVIEW_CONCURRENCY);
    expect(reviewed.length).toBeLessThan(40 + REVIEW_CONCURRENCY);
    const readOnlyUsersRead = rig.iamMock.commandCalls(GetUserCommand).filter((c) => c.args[0].input.UserName?.startsWith('ro')).length;
    expect(readOnlyUsersRead).toBeLessThanOrEqual(40 + REVIEW_CONCURRENCY - 1);
    const full = report.groups.find((g) => g.groupName === 'BillingFull');
    expect(full?.error).toBeUndefined();
    expect(full?.members.map((m) => m.userName)).toEqual(memberNames('BillingFull'));
  });
});
