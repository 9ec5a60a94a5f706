/**
 * AwsIamGateway against a mocked IAMClient: reading a user (password, MFA, groups, and what could
 * not be checked), changing membership only of configured groups, reading a group's policies and
 * the default version of a customer-managed one, and the cached groups-per-user quota.
 */
import {
  AddUserToGroupCommand,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandInput,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { DryRunIamGateway } from '../../src/aws/dry-run.js';
import { AmbiguousMappingError, GroupNotAllowedError, IamUnavailableError, PolicyNotAllowedError } from '../../src/aws/iam.js';
import { errorMessage } from '../../src/errors.js';
import {
  type AccountUsersStub,
  ALLOWED,
  accountUsers,
  awsError,
  CREATED,
  CUSTOM_ARN,
  type DirectoryUser,
  existingUser,
  gatewayRig,
  noSuchEntity,
  READ_ONLY_ARN,
} from '../support/iam-mock.js';

let { iamMock, clock, gateway } = gatewayRig();
beforeEach(() => {
  ({ iamMock, clock, gateway } = gatewayRig());
});

describe('AwsIamGateway.recheckUser (right before a grant)', () => {
  it('with MFA: one ListMFADevices call says both that the user exists and how many devices it has', async () => {
    existingUser(iamMock);
    iamMock.on(ListMFADevicesCommand).resolves({ MFADevices: [] });
    await expect(gateway.recheckUser('jane.doe', { mfa: true })).resolves.toEqual({
      userName: 'jane.doe',
      hasConsolePassword: null,
      mfaDeviceCount: 0,
      groups: null,
      notChecked: [],
    });
    expect(iamMock.calls()).toHaveLength(1);
    expect(iamMock.commandCalls(ListMFADevicesCommand)[0]?.args[0].input).toEqual({ UserName: 'jane.doe' });
  });

  it('with MFA: a user deleted since the request is undefined, not zero devices', async () => {
    iamMock.on(ListMFADevicesCommand).rejects(noSuchEntity());
    await expect(gateway.recheckUser('jane.doe', { mfa: true })).resolves.toBeUndefined();
  });

  it('without MFA: one GetUser call; missing is undefined', async () => {
    existingUser(iamMock);
    await expect(gateway.recheckUser('jane.doe', { mfa: false })).resolves.toMatchObject({ userName: 'jane.doe', mfaDeviceCount: null });
    expect(iamMock.calls()).toHaveLength(1);
    iamMock.on(GetUserCommand).rejects(noSuchEntity());
    await expect(gateway.recheckUser('nobody', { mfa: false })).resolves.toBeUndefined();
  });

  it('any other error is IamUnavailableError naming the call, never a verdict', async () => {
    iamMock.on(ListMFADevicesCommand).rejects(awsError('AccessDenied', 'not allowed'));
    const err = await gateway.recheckUser('jane.doe', { mfa: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect(errorMessage(err)).toMatch(/ListMFADevices/);
  });
});

describe('AwsIamGateway.getUser', () => {
  it('returns undefined when the user does not exist (ListMFADevices and ListGroupsForUser answer NoSuchEntity)', async () => {
    iamMock.on(ListMFADevicesCommand).rejects(noSuchEntity());
    iamMock.on(ListGroupsForUserCommand).rejects(noSuchEntity());
    iamMock.on(GetLoginProfileCommand).rejects(noSuchEntity());
    await expect(gateway.getUser('nobody')).resolves.toBeUndefined();
    expect(iamMock.commandCalls(ListMFADevicesCommand)[0]?.args[0].input).toEqual({ UserName: 'nobody' });
  });

  it('one read that says NoSuchEntity is enough: a user deleted between the reads is undefined', async () => {
    existingUser(iamMock);
    iamMock.on(ListGroupsForUserCommand).rejects(noSuchEntity());
    await expect(gateway.getUser('jane.doe')).resolves.toBeUndefined();
  });

  it('three calls, all at once, and no GetUser: the MFA and group reads say whether the user exists', async () => {
    existingUser(iamMock);
    await gateway.getUser('jane.doe');
    expect(iamMock.commandCalls(GetUserCommand)).toHaveLength(0);
    expect(
      iamMock
        .calls()
        .map((c) => c.args[0].constructor.name)
        .sort(),
    ).toEqual(['GetLoginProfileCommand', 'ListGroupsForUserCommand', 'ListMFADevicesCommand']);
  });

  it('reports password, MFA and groups of an existing user', async () => {
    existingUser(iamMock);
    await expect(gateway.getUser('jane.doe')).resolves.toEqual({
      userName: 'jane.doe',
      hasConsolePassword: true,
      mfaDeviceCount: 1,
      groups: ['Developers', 'BillingReadOnly'],
      notChecked: [],
    });
  });

  it('reports no console password when GetLoginProfile says NoSuchEntity', async () => {
    existingUser(iamMock);
    iamMock.on(GetLoginProfileCommand).rejects(noSuchEntity('Login Profile for User jane.doe cannot be found.'));
    const user = await gateway.getUser('jane.doe');
    expect(user?.hasConsolePassword).toBe(false);
    expect(user?.notChecked).toEqual([]);
  });

  it('reports zero MFA devices', async () => {
    existingUser(iamMock);
    iamMock.on(ListMFADevicesCommand).resolves({ MFADevices: [] });
    expect((await gateway.getUser('jane.doe'))?.mfaDeviceCount).toBe(0);
  });

  it('gives mfaDeviceCount null and a notChecked entry when ListMFADevices is denied', async () => {
    existingUser(iamMock);
    iamMock
      .on(ListMFADevicesCommand)
      .rejects(awsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/bot is not authorized to perform: iam:ListMFADevices'));
    const user = await gateway.getUser('jane.doe');
    expect(user).toBeDefined();
    expect(user?.mfaDeviceCount).toBeNull();
    expect(user?.hasConsolePassword).toBe(true);
    expect(user?.groups).toEqual(['Developers', 'BillingReadOnly']);
    expect(user?.notChecked).toHaveLength(1);
    expect(user?.notChecked[0]).toContain('MFA');
    expect(user?.notChecked[0]).toContain('AccessDenied');
  });

  it('gives hasConsolePassword null (not false) when GetLoginProfile is denied', async () => {
    existingUser(iamMock);
    iamMock.on(GetLoginProfileCommand).rejects(awsError('AccessDenied', 'not authorized'));
    const user = await gateway.getUser('jane.doe');
    expect(user?.hasConsolePassword).toBeNull();
    expect(user?.notChecked.join(' ')).toContain('AccessDenied');
  });

  it('pages the user groups', async () => {
    existingUser(iamMock);
    iamMock.on(ListGroupsForUserCommand).callsFake((input: { Marker?: string }) =>
      input.Marker === 'g2'
        ? {
            Groups: [{ GroupName: 'BillingFull', GroupId: 'G3', Arn: 'arn:aws:iam::123456789012:group/BillingFull', Path: '/', CreateDate: CREATED }],
            IsTruncated: false,
          }
        : {
            Groups: [{ GroupName: 'Developers', GroupId: 'G1', Arn: 'arn:aws:iam::123456789012:group/Developers', Path: '/', CreateDate: CREATED }],
            IsTruncated: true,
            Marker: 'g2',
          },
    );
    expect((await gateway.getUser('jane.doe'))?.groups).toEqual(['Developers', 'BillingFull']);
    expect(iamMock.commandCalls(ListGroupsForUserCommand)).toHaveLength(2);
  });

  it('raises IamUnavailableError when neither the MFA nor the group read answers (whether the user exists is unknown)', async () => {
    existingUser(iamMock);
    iamMock.on(ListMFADevicesCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    iamMock.on(ListGroupsForUserCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const err = await gateway.getUser('jane.doe').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect((err as IamUnavailableError).operation).toBe('ListMFADevices');
    expect(errorMessage(err)).toContain('Throttling');
  });

  it('raises IamUnavailableError when both reads are denied (never reads it as "no such user")', async () => {
    existingUser(iamMock);
    iamMock.on(ListMFADevicesCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:ListMFADevices'));
    iamMock.on(ListGroupsForUserCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:ListGroupsForUser'));
    await expect(gateway.getUser('jane.doe')).rejects.toBeInstanceOf(IamUnavailableError);
  });

  it('a denied group read on an existing user is a notChecked entry, not a failure', async () => {
    existingUser(iamMock);
    iamMock.on(ListGroupsForUserCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:ListGroupsForUser'));
    const user = await gateway.getUser('jane.doe');
    expect(user?.groups).toBeNull();
    expect(user?.mfaDeviceCount).toBe(1);
    expect(user?.notChecked.join(' ')).toMatch(/groups: AccessDenied/);
  });
});

describe('AwsIamGateway group membership', () => {
  it('adds and removes a user on an allowed group', async () => {
    iamMock.on(AddUserToGroupCommand).resolves({});
    iamMock.on(RemoveUserFromGroupCommand).resolves({});
    await gateway.addUserToGroup('jane.doe', 'BillingReadOnly');
    await gateway.removeUserFromGroup('jane.doe', 'BillingFull');
    expect(iamMock.commandCalls(AddUserToGroupCommand).map((c) => c.args[0].input)).toEqual([{ UserName: 'jane.doe', GroupName: 'BillingReadOnly' }]);
    expect(iamMock.commandCalls(RemoveUserFromGroupCommand).map((c) => c.args[0].input)).toEqual([{ UserName: 'jane.doe', GroupName: 'BillingFull' }]);
  });

  it('says "removed" when IAM removed the user', async () => {
    iamMock.on(RemoveUserFromGroupCommand).resolves({});
    await expect(gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly')).resolves.toBe('removed');
  });

  it('says "not-a-member" when the user was not in an existing group', async () => {
    iamMock.on(RemoveUserFromGroupCommand).rejects(noSuchEntity('The user with name jane.doe cannot be found in group BillingReadOnly.'));
    iamMock.on(GetGroupCommand).resolves({
      Group: { GroupName: 'BillingReadOnly', GroupId: 'G2', Arn: 'arn:aws:iam::123456789012:group/BillingReadOnly', Path: '/', CreateDate: CREATED },
      Users: [],
    });
    await expect(gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly')).resolves.toBe('not-a-member');
  });

  it('does not call a removal harmless when the group itself is gone', async () => {
    iamMock.on(RemoveUserFromGroupCommand).rejects(noSuchEntity('The group with name BillingReadOnly cannot be found.'));
    iamMock.on(GetGroupCommand).rejects(noSuchEntity('The group with name BillingReadOnly cannot be found.'));
    await expect(gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly')).rejects.toThrow('BillingReadOnly');
  });

  it('passes on other removal errors', async () => {
    iamMock.on(RemoveUserFromGroupCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:RemoveUserFromGroup'));
    await expect(gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly')).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses to add to a group that is not configured, without calling IAM', async () => {
    iamMock.on(AddUserToGroupCommand).resolves({});
    await expect(gateway.addUserToGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.commandCalls(AddUserToGroupCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('refuses to remove from a group that is not configured, without calling IAM', async () => {
    iamMock.on(RemoveUserFromGroupCommand).resolves({});
    await expect(gateway.removeUserFromGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.commandCalls(RemoveUserFromGroupCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('matches group names exactly (case and whitespace)', async () => {
    await expect(gateway.addUserToGroup('jane.doe', 'billingreadonly')).rejects.toBeInstanceOf(GroupNotAllowedError);
    await expect(gateway.addUserToGroup('jane.doe', 'BillingReadOnly ')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('refuses to read policies of a group that is not configured, without calling IAM', async () => {
    await expect(gateway.groupPolicies('Administrators', READ_ONLY_ARN)).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('reads attached and inline policies of a group, paged', async () => {
    iamMock.on(ListAttachedGroupPoliciesCommand).callsFake((input: { Marker?: string }) =>
      input.Marker
        ? { AttachedPolicies: [{ PolicyName: 'Extra', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }], IsTruncated: false }
        : {
            AttachedPolicies: [{ PolicyName: 'AWSBillingReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess' }],
            IsTruncated: true,
            Marker: 'p2',
          },
    );
    iamMock.on(ListGroupPoliciesCommand).resolves({ PolicyNames: ['inline-backdoor'], IsTruncated: false });
    await expect(gateway.groupPolicies('BillingReadOnly', READ_ONLY_ARN)).resolves.toEqual({
      attachedPolicyArns: ['arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess', 'arn:aws:iam::aws:policy/AdministratorAccess'],
      inlinePolicyNames: ['inline-backdoor'],
    });
  });

  it('raises IamUnavailableError when group policies cannot be read', async () => {
    iamMock.on(ListAttachedGroupPoliciesCommand).rejects(awsError('AccessDenied', 'not authorized'));
    await expect(gateway.groupPolicies('BillingFull', READ_ONLY_ARN)).rejects.toBeInstanceOf(IamUnavailableError);
  });
});

describe('AwsIamGateway: the default version of a customer-managed expected policy', () => {
  const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ce:Get*', 'billing:View*'], Resource: '*' }] };

  function customGroup(attached = [CUSTOM_ARN]) {
    iamMock.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: attached.map((PolicyArn) => ({ PolicyName: 'p', PolicyArn })) });
    iamMock.on(ListGroupPoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(GetPolicyCommand).resolves({ Policy: { PolicyName: 'BillingCustom', Arn: CUSTOM_ARN, DefaultVersionId: 'v3' } });
    iamMock
      .on(GetPolicyVersionCommand)
      .resolves({ PolicyVersion: { VersionId: 'v3', IsDefaultVersion: true, Document: encodeURIComponent(JSON.stringify(document)) } });
  }

  it('reads the default version named by GetPolicy and decodes its URL-encoded document', async () => {
    customGroup();
    await expect(gateway.groupPolicies('BillingFull', CUSTOM_ARN)).resolves.toEqual({
      attachedPolicyArns: [CUSTOM_ARN],
      inlinePolicyNames: [],
      expectedVersion: { policyArn: CUSTOM_ARN, versionId: 'v3', document },
    });
    expect(iamMock.commandCalls(GetPolicyCommand).map((c) => c.args[0].input)).toEqual([{ PolicyArn: CUSTOM_ARN }]);
    expect(iamMock.commandCalls(GetPolicyVersionCommand).map((c) => c.args[0].input)).toEqual([{ PolicyArn: CUSTOM_ARN, VersionId: 'v3' }]);
  });

  it('reads no document for an AWS managed policy (trusted by ARN) nor for a policy the group does not hold, and refuses other policies', async () => {
    customGroup([READ_ONLY_ARN]);
    await expect(gateway.groupPolicies('BillingReadOnly', READ_ONLY_ARN)).resolves.toEqual({ attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: [] });
    await expect(gateway.groupPolicies('BillingFull', CUSTOM_ARN)).resolves.toEqual({ attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: [] });
    expect(iamMock.commandCalls(GetPolicyCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(GetPolicyVersionCommand)).toHaveLength(0);

    iamMock.reset();
    const other = 'arn:aws:iam::123456789012:policy/SomethingElse';
    await expect(gateway.groupPolicies('BillingFull', other)).rejects.toBeInstanceOf(PolicyNotAllowedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('hands on a document that is not JSON as text, for the guard to refuse', async () => {
    customGroup();
    iamMock.on(GetPolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v3', Document: 'not%20json' } });
    const state = await gateway.groupPolicies('BillingFull', CUSTOM_ARN);
    expect(state.expectedVersion?.document).toBe('not json');
  });

  it('raises IamUnavailableError when the default version cannot be read (live mode then refuses the grant)', async () => {
    customGroup();
    iamMock.on(GetPolicyVersionCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:GetPolicyVersion'));
    const err = await gateway.groupPolicies('BillingFull', CUSTOM_ARN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect((err as IamUnavailableError).operation).toContain(CUSTOM_ARN);
  });

  it('is read through the dry-run gateway as well', async () => {
    customGroup();
    const dryRun = new DryRunIamGateway(gateway, new Set(ALLOWED));
    expect((await dryRun.groupPolicies('BillingFull', CUSTOM_ARN)).expectedVersion?.versionId).toBe('v3');
  });
});

describe('AwsIamGateway quota', () => {
  it('reads the groups-per-user quota, or null when it cannot (and then asks again next time)', async () => {
    iamMock
      .on(GetAccountSummaryCommand)
      .rejectsOnce(awsError('AccessDenied', 'no'))
      .resolvesOnce({ SummaryMap: { GroupsPerUserQuota: 10 } });
    await expect(gateway.groupsPerUserQuota()).resolves.toBeNull();
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(10);
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(2);
  });

  it('reads the quota once an hour, not on every request', async () => {
    iamMock
      .on(GetAccountSummaryCommand)
      .resolvesOnce({ SummaryMap: { GroupsPerUserQuota: 10 } })
      .resolvesOnce({ SummaryMap: { GroupsPerUserQuota: 20 } });
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(10);
    clock.advance(59 * 60 * 1000);
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(10);
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(1);
    clock.advance(2 * 60 * 1000);
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(20);
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(2);
  });

  it('shares one read between requests that arrive together before the quota is known', async () => {
    iamMock.on(GetAccountSummaryCommand).resolves({ SummaryMap: { GroupsPerUserQuota: 10 } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => gateway.groupsPerUserQuota()));
    expect(answers).toEqual(Array(20).fill(10));
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(1);
  });
});

describe('AwsIamGateway.findUserByEmailTag (IAM_USER_MAPPING=tag): the index of users by their email tag', () => {
  const email = (address: string) => [{ Key: 'email', Value: address }];
  /** Four users over two pages of two (IAM may answer with fewer than MaxItems). */
  let directory: DirectoryUser[] = [];
  let stub: AccountUsersStub;
  beforeEach(() => {
    directory = [
      { name: 'alice', tags: [{ Key: 'team', Value: 'finance' }] },
      { name: 'bob.smith', tags: [{ Key: 'team', Value: 'ops' }, ...email(' Bob.Smith@Corp.com ')] },
      { name: 'carol', tags: email('carol@corp.com') },
      { name: 'role-less' },
    ];
    stub = accountUsers(iamMock, () => directory, { pageCap: 2 });
  });
  const gaadCalls = () => stub.calls;
  /** Builds of the directory above: each reads its two pages. */
  const builds = () => gaadCalls().filter((i) => !i.Marker).length;

  it('reads users with their tags a page at a time (Filter=User, MaxItems 1000, every Marker followed), never one call per user', async () => {
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    await expect(gateway.findUserByEmailTag('CAROL@corp.com')).resolves.toBe('carol');
    expect(gaadCalls()).toEqual([
      { Filter: ['User'], MaxItems: 1000 },
      { Filter: ['User'], MaxItems: 1000, Marker: '2' },
    ]);
    expect(iamMock.calls()).toHaveLength(2);
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(ListUserTagsCommand)).toHaveLength(0);
  });

  it('5,000 users: 5 calls for the first lookup, none for 200 more within the minute', async () => {
    directory = Array.from({ length: 5_000 }, (_, i) => ({ name: `user${i}`, tags: email(`user${i}@corp.com`) }));
    stub = accountUsers(iamMock, () => directory);
    await expect(gateway.findUserByEmailTag('user4999@corp.com')).resolves.toBe('user4999');
    expect(iamMock.calls()).toHaveLength(5);
    for (let i = 0; i < 200; i++) {
      clock.advance(250);
      const address = i % 10 === 0 ? `nobody${i}@corp.com` : `user${(i * 37) % 5_000}@corp.com`;
      await expect(gateway.findUserByEmailTag(address)).resolves.toBe(i % 10 === 0 ? undefined : `user${(i * 37) % 5_000}`);
    }
    expect(iamMock.calls()).toHaveLength(5);
  });

  it('caches the index: lookups within the minute make no new IAM calls; a hit is refreshed once the index is five minutes old', async () => {
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    clock.advance(60_000);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    expect(builds()).toBe(1);
    clock.advance(4 * 60_000 + 1);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(builds()).toBe(2);
  });

  it('believes a miss for a minute after a build, then lists again once; hits are served between misses', async () => {
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    for (let i = 0; i < 10; i++) {
      clock.advance(5_000);
      await expect(gateway.findUserByEmailTag(`nobody${i}@corp.com`)).resolves.toBeUndefined();
      await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    }
    expect(builds()).toBe(1);
    // Past the minute a miss may be a newly tagged user: one rebuild finds them.
    directory.push({ name: 'dave', tags: email('nobody@corp.com') });
    clock.advance(10_001);
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBe('dave');
    await expect(gateway.findUserByEmailTag('someone@corp.com')).resolves.toBeUndefined();
    expect(builds()).toBe(2);
  });

  it('sees a re-tag at the next build: the address moves to its new user', async () => {
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    directory = directory.map((u) =>
      u.name === 'carol' ? { ...u, tags: [{ Key: 'team', Value: 'left' }] } : u.name === 'alice' ? { ...u, tags: email('carol@corp.com') } : u,
    );
    clock.advance(4 * 60_000);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    clock.advance(60_001);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('alice');
  });

  it('refuses an address two users carry (case-insensitively, on different pages) as an ambiguous mapping; other addresses still resolve', async () => {
    directory[3] = { name: 'role-less', tags: email('BOB.SMITH@corp.com') };
    const err = await gateway.findUserByEmailTag('Bob.Smith@corp.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousMappingError);
    const ambiguous = err as AmbiguousMappingError;
    expect(ambiguous.email).toBe('bob.smith@corp.com');
    expect([...ambiguous.userNames].sort()).toEqual(['bob.smith', 'role-less']);
    expect(ambiguous.detail).toMatch(/^IAM users (bob\.smith and role-less|role-less and bob\.smith) are both tagged email=bob\.smith@corp\.com/);
    // The employee is not told other people's IAM user names.
    expect(ambiguous.message).not.toMatch(/role-less|bob\.smith@/);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(builds()).toBe(1);
  });

  it('shares one build between 20 concurrent lookups', async () => {
    const emails = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'carol@corp.com' : `nobody${i}@corp.com`));
    const found = await Promise.all(emails.map((e) => gateway.findUserByEmailTag(e)));
    expect(found.filter(Boolean)).toEqual(Array(10).fill('carol'));
    expect(iamMock.calls()).toHaveLength(2);
  });

  it('a page throttled past the SDK retries fails the whole build for every waiter; nothing of it is kept, and the next lookup starts again from the first page', async () => {
    let throttled = false;
    iamMock.on(GetAccountAuthorizationDetailsCommand).callsFake((input: GetAccountAuthorizationDetailsCommandInput) => {
      stub.calls.push(structuredClone(input));
      if (input.Marker === '2' && !throttled) {
        throttled = true;
        throw Object.assign(awsError('Throttling', 'Rate exceeded'), { $retryable: { throttling: true } });
      }
      return stub.page(input);
    });
    const results = await Promise.allSettled([gateway.findUserByEmailTag('alice@corp.com'), gateway.findUserByEmailTag('carol@corp.com')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) {
      const reason = r.status === 'rejected' ? (r.reason as IamUnavailableError) : undefined;
      expect(reason).toBeInstanceOf(IamUnavailableError);
      expect(reason?.operation).toBe('GetAccountAuthorizationDetails');
      expect(reason?.detail).toMatch(/Throttling: Rate exceeded/);
    }
    expect(gaadCalls()).toHaveLength(2);
    // A first page alone would have said "no user" for carol: the next lookup reads both pages again.
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(gaadCalls().map((i) => i.Marker)).toEqual([undefined, '2', undefined, '2']);
  });

  it('refused (the policy lacks iam:GetAccountAuthorizationDetails): IamUnavailableError naming the call, never "no user"', async () => {
    iamMock.on(GetAccountAuthorizationDetailsCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:GetAccountAuthorizationDetails'));
    const err = await gateway.findUserByEmailTag('carol@corp.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect(errorMessage(err)).not.toMatch(/tagged/);
    expect((err as IamUnavailableError).operation).toBe('GetAccountAuthorizationDetails');
  });

  it('a hit on a user deleted since the build: once IAM says the user is gone, it maps nothing, and a shared address is no longer ambiguous', async () => {
    directory[0] = { name: 'alice', tags: email('carol@corp.com') };
    await expect(gateway.findUserByEmailTag('carol@corp.com')).rejects.toBeInstanceOf(AmbiguousMappingError);
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    iamMock.on(ListMFADevicesCommand).rejects(noSuchEntity('The user with name Alice cannot be found.'));
    directory = directory.filter((u) => u.name !== 'alice');
    await expect(gateway.getUser('Alice')).resolves.toBeUndefined();
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    iamMock.on(ListMFADevicesCommand).rejects(noSuchEntity('The user with name bob.smith cannot be found.'));
    await expect(gateway.getUser('bob.smith')).resolves.toBeUndefined();
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBeUndefined();
    expect(builds()).toBe(1);
  });
});
