import {
  AddUserToGroupCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DryRunIamGateway } from '../../src/aws/dry-run.js';
import { AmbiguousMappingError, AwsIamGateway, GroupNotAllowedError, IamUnavailableError, PolicyNotAllowedError } from '../../src/aws/iam.js';
import { errorMessage } from '../../src/errors.js';

const ALLOWED = ['BillingReadOnly', 'BillingFull'];
const READ_ONLY_ARN = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
const CUSTOM_ARN = 'arn:aws:iam::123456789012:policy/BillingCustom';
const POLICIES = [READ_ONLY_ARN, CUSTOM_ARN];
const CREATED = new Date('2024-01-01T00:00:00Z');

let client: IAMClient;
let iamMock: AwsClientStub<IAMClient>;
let nowMs: number;
let gateway: AwsIamGateway;

function noSuchEntity(message = 'The user with name jane cannot be found.') {
  return new NoSuchEntityException({ message, $metadata: { httpStatusCode: 404 } });
}

/** An SDK-style service error: what the client throws for errors it has no class for. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** A user who exists, with a console password, one MFA device and two groups. */
function existingUser(userName = 'jane.doe') {
  iamMock
    .on(GetUserCommand)
    .resolves({ User: { UserName: userName, UserId: 'AIDA1', Arn: `arn:aws:iam::123456789012:user/${userName}`, Path: '/', CreateDate: CREATED } });
  iamMock.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: userName, CreateDate: CREATED } });
  iamMock.on(ListMFADevicesCommand).resolves({ MFADevices: [{ UserName: userName, SerialNumber: 'arn:aws:iam::123456789012:mfa/jane', EnableDate: CREATED }] });
  iamMock.on(ListGroupsForUserCommand).resolves({
    Groups: [
      { GroupName: 'Developers', GroupId: 'G1', Arn: 'arn:aws:iam::123456789012:group/Developers', Path: '/', CreateDate: CREATED },
      { GroupName: 'BillingReadOnly', GroupId: 'G2', Arn: 'arn:aws:iam::123456789012:group/BillingReadOnly', Path: '/', CreateDate: CREATED },
    ],
  });
}

beforeEach(() => {
  client = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  iamMock = mockClient(client);
  nowMs = Date.parse('2025-10-01T12:00:00Z');
  gateway = new AwsIamGateway({ client, groups: ALLOWED, policyArns: POLICIES, now: () => nowMs });
});

describe('AwsIamGateway.getUser', () => {
  it('returns undefined when the user does not exist', async () => {
    iamMock.on(GetUserCommand).rejects(noSuchEntity());
    await expect(gateway.getUser('nobody')).resolves.toBeUndefined();
    expect(iamMock.commandCalls(GetUserCommand)[0]?.args[0].input).toEqual({ UserName: 'nobody' });
    expect(iamMock.commandCalls(GetLoginProfileCommand)).toHaveLength(0);
  });

  it('reports password, MFA and groups of an existing user', async () => {
    existingUser();
    await expect(gateway.getUser('jane.doe')).resolves.toEqual({
      userName: 'jane.doe',
      hasConsolePassword: true,
      mfaDeviceCount: 1,
      groups: ['Developers', 'BillingReadOnly'],
      notChecked: [],
    });
  });

  it('reports no console password when GetLoginProfile says NoSuchEntity', async () => {
    existingUser();
    iamMock.on(GetLoginProfileCommand).rejects(noSuchEntity('Login Profile for User jane.doe cannot be found.'));
    const user = await gateway.getUser('jane.doe');
    expect(user?.hasConsolePassword).toBe(false);
    expect(user?.notChecked).toEqual([]);
  });

  it('reports zero MFA devices', async () => {
    existingUser();
    iamMock.on(ListMFADevicesCommand).resolves({ MFADevices: [] });
    expect((await gateway.getUser('jane.doe'))?.mfaDeviceCount).toBe(0);
  });

  it('gives mfaDeviceCount null and a notChecked entry when ListMFADevices is denied', async () => {
    existingUser();
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
    existingUser();
    iamMock.on(GetLoginProfileCommand).rejects(awsError('AccessDenied', 'not authorized'));
    const user = await gateway.getUser('jane.doe');
    expect(user?.hasConsolePassword).toBeNull();
    expect(user?.notChecked.join(' ')).toContain('AccessDenied');
  });

  it('pages the user groups', async () => {
    existingUser();
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

  it('raises IamUnavailableError when GetUser is throttled', async () => {
    iamMock.on(GetUserCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const err = await gateway.getUser('jane.doe').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect((err as IamUnavailableError).operation).toBe('GetUser');
    expect(errorMessage(err)).toContain('Throttling');
  });

  it('raises IamUnavailableError when GetUser is denied (never reads it as "no such user")', async () => {
    iamMock.on(GetUserCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:GetUser'));
    await expect(gateway.getUser('jane.doe')).rejects.toBeInstanceOf(IamUnavailableError);
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
    nowMs += 59 * 60 * 1000;
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(10);
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(1);
    nowMs += 2 * 60 * 1000;
    await expect(gateway.groupsPerUserQuota()).resolves.toBe(20);
    expect(iamMock.commandCalls(GetAccountSummaryCommand)).toHaveLength(2);
  });
});

describe('AwsIamGateway.findUserByEmailTag', () => {
  const users: Record<string, { pages: { Key: string; Value: string }[][] }> = {
    alice: { pages: [[{ Key: 'team', Value: 'finance' }]] },
    'bob.smith': {
      pages: [[{ Key: 'team', Value: 'ops' }], [{ Key: 'email', Value: 'Bob.Smith@Corp.com' }]],
    },
    carol: { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] },
    'role-less': { pages: [[]] },
  };

  function setUpDirectory() {
    iamMock.on(ListUsersCommand).callsFake((input: { Marker?: string }) => {
      const user = (UserName: string) => ({
        UserName,
        UserId: `AIDA${UserName}`,
        Arn: `arn:aws:iam::123456789012:user/${UserName}`,
        Path: '/',
        CreateDate: CREATED,
      });
      return input.Marker === 'u2'
        ? { Users: [user('carol'), user('role-less')], IsTruncated: false }
        : { Users: [user('alice'), user('bob.smith')], IsTruncated: true, Marker: 'u2' };
    });
    iamMock.on(ListUserTagsCommand).callsFake((input: { UserName: string; Marker?: string }) => {
      const pages = users[input.UserName]?.pages ?? [[]];
      const index = input.Marker ? Number(input.Marker) : 0;
      const more = index + 1 < pages.length;
      return { Tags: pages[index] ?? [], IsTruncated: more, ...(more ? { Marker: String(index + 1) } : {}) };
    });
  }

  it('pages ListUsers and ListUserTags to find the user tagged with the email, case-insensitively', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(2);
    const tagCalls = iamMock.commandCalls(ListUserTagsCommand).map((c) => c.args[0].input);
    expect(tagCalls.filter((i) => i.UserName === 'bob.smith')).toHaveLength(2);
    expect(tagCalls.map((i) => i.UserName).sort()).toEqual(['alice', 'bob.smith', 'bob.smith', 'carol', 'role-less']);
  });

  it('finds a user on the second ListUsers page', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('CAROL@corp.com')).resolves.toBe('carol');
  });

  it('caches the index: a second lookup makes no new IAM calls', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    const callsAfterFirst = iamMock.calls().length;
    expect(callsAfterFirst).toBeGreaterThan(0);
    nowMs += 60_000;
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    expect(iamMock.calls()).toHaveLength(callsAfterFirst);
  });

  it('rebuilds the index once the cache is older than five minutes', async () => {
    setUpDirectory();
    await gateway.findUserByEmailTag('carol@corp.com');
    const callsAfterFirst = iamMock.calls().length;
    nowMs += 5 * 60_000 + 1;
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(iamMock.calls().length).toBeGreaterThan(callsAfterFirst);
  });

  it('returns undefined for an email nobody is tagged with', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('alice@corp.com')).resolves.toBeUndefined();
  });

  it('raises IamUnavailableError when the users cannot be listed', async () => {
    iamMock.on(ListUsersCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:ListUsers'));
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).rejects.toBeInstanceOf(IamUnavailableError);
  });

  /** One build of the directory above: two ListUsers pages, five ListUserTags pages. */
  const builds = () => iamMock.commandCalls(ListUsersCommand).length / 2;

  it('shares one build between 20 concurrent lookups', async () => {
    setUpDirectory();
    const emails = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'carol@corp.com' : `nobody${i}@corp.com`));
    const found = await Promise.all(emails.map((e) => gateway.findUserByEmailTag(e)));
    expect(found.filter(Boolean)).toEqual(Array(10).fill('carol'));
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(2);
    expect(iamMock.commandCalls(ListUserTagsCommand)).toHaveLength(5);
  });

  it('answers repeated misses within a minute from the index, without listing the account again', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    for (let i = 0; i < 10; i++) {
      nowMs += 5_000;
      await expect(gateway.findUserByEmailTag(`nobody${i}@corp.com`)).resolves.toBeUndefined();
      await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    }
    expect(builds()).toBe(1);
    expect(iamMock.commandCalls(ListUserTagsCommand)).toHaveLength(5);
    // Past the minute a miss may be a newly tagged user: one rebuild, then misses are cached again.
    nowMs += 10_001;
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    await expect(gateway.findUserByEmailTag('someone@corp.com')).resolves.toBeUndefined();
    expect(builds()).toBe(2);
  });

  it('serves hits from the index between misses, and refreshes a hit once the index is five minutes old', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    nowMs += 30_000;
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    nowMs += 4 * 60_000;
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(builds()).toBe(1);

    users.carol = { pages: [[{ Key: 'team', Value: 'left' }]] };
    users.alice = { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] };
    try {
      nowMs += 30_001;
      await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('alice');
      expect(builds()).toBe(2);
    } finally {
      users.carol = { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] };
      users.alice = { pages: [[{ Key: 'team', Value: 'finance' }]] };
    }
  });

  it('refuses two IAM users tagged with one email (case-insensitively) as an ambiguous mapping, in plain words', async () => {
    setUpDirectory();
    users.alice = { pages: [[{ Key: 'email', Value: 'CAROL@Corp.com' }]] };
    try {
      const err = await gateway.findUserByEmailTag('Carol@corp.com').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AmbiguousMappingError);
      const ambiguous = err as AmbiguousMappingError;
      expect(ambiguous.name).toBe('AmbiguousMappingError');
      expect(ambiguous.email).toBe('carol@corp.com');
      expect([...ambiguous.userNames].sort()).toEqual(['alice', 'carol']);
      expect(ambiguous.detail).toMatch(/^IAM users (alice and carol|carol and alice) are both tagged email=carol@corp\.com/);
      // The employee is not told other people's IAM user names.
      expect(ambiguous.message).not.toMatch(/alice|carol@/);
      expect(ambiguous.message).toContain('/request-billing link');
      expect(ambiguous.message).not.toMatch(/[`*<>]/);
      // Other addresses still resolve from the same index.
      await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
      expect(builds()).toBe(1);
    } finally {
      users.alice = { pages: [[{ Key: 'team', Value: 'finance' }]] };
    }
  });

  it('does not keep a failed build: every waiter hears of the failure, and the next lookup lists again', async () => {
    iamMock.on(ListUsersCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const results = await Promise.allSettled([gateway.findUserByEmailTag('carol@corp.com'), gateway.findUserByEmailTag('carol@corp.com')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : undefined))).toEqual([expect.any(IamUnavailableError), expect.any(IamUnavailableError)]);
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(1);
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
  });

  it('skips a user deleted while the index is built', async () => {
    setUpDirectory();
    iamMock.on(ListUserTagsCommand, { UserName: 'alice' }).rejects(noSuchEntity('The user with name alice cannot be found.'));
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
  });
});

describe('DryRunIamGateway', () => {
  let dryRun: DryRunIamGateway;
  beforeEach(() => {
    dryRun = new DryRunIamGateway(gateway, new Set(ALLOWED));
    iamMock.on(AddUserToGroupCommand).resolves({});
    iamMock.on(RemoveUserFromGroupCommand).resolves({});
  });

  it('says it is a dry run', () => {
    expect(dryRun.dryRun).toBe(true);
    expect(gateway.dryRun).toBe(false);
  });

  it('never sends AddUserToGroup or RemoveUserFromGroup', async () => {
    await dryRun.addUserToGroup('jane.doe', 'BillingReadOnly');
    await dryRun.removeUserFromGroup('jane.doe', 'BillingFull');
    await dryRun.addUserToGroup('jane.doe', 'BillingFull');
    expect(iamMock.commandCalls(AddUserToGroupCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(RemoveUserFromGroupCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('still refuses groups that are not configured', async () => {
    await expect(dryRun.addUserToGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    await expect(dryRun.removeUserFromGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('reads IAM through the real gateway', async () => {
    existingUser();
    await expect(dryRun.getUser('jane.doe')).resolves.toMatchObject({ userName: 'jane.doe', mfaDeviceCount: 1 });
    expect(iamMock.commandCalls(GetUserCommand)).toHaveLength(1);
    expect(iamMock.commandCalls(AddUserToGroupCommand)).toHaveLength(0);
  });
});
