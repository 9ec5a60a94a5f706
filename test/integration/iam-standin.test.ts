/**
 * The playground's IAM stand-in, spoken to only through the real AWS SDK (@aws-sdk/client-iam
 * and client-sts pointed at it): its answers parse as AWS's own, its errors arrive as the SDK's
 * typed exceptions with IAM's status codes, and the bot's own IAM gateway gets the same results
 * from it as from moto_server seeded with the same people and groups. Its groups are kept beside
 * the playground's store and restored after a restart.
 */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddUserToGroupCommand,
  CreateGroupCommand,
  GenerateServiceLastAccessedDetailsCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetServiceLastAccessedDetailsCommand,
  GetUserCommand,
  type IAMClient,
  LimitExceededException,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListRolesCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  paginateGetAccountAuthorizationDetails,
  paginateGetGroup,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IamAccount, type UserSeed } from '../../playground/iam-account.js';
import { IAM_VERSION, IamStandIn } from '../../playground/iam-standin.js';
import { IAM_STATE_FILE, keepIamState, restoreIamState } from '../../playground/iam-state-file.js';
import { AWS_ACCOUNT_ID, BOT_IAM_USER, HAND_ADDED_MEMBER, LEVEL_POLICIES, seedIamAccount } from '../../playground/workspace.js';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { createGroup, createUser, FULL_POLICY, iamClient, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import { resetMoto } from '../../testkit/moto.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';

const GROUPS = [
  { level: 'read-only', groupName: 'BillingReadOnly' },
  { level: 'full', groupName: 'BillingFull' },
];

/** What an SDK call threw, as the caller sees it. */
async function failure(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string; error: unknown }> {
  try {
    await call;
  } catch (error) {
    const err = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message, error };
  }
  throw new Error('expected the call to fail');
}

describe('the IAM stand-in through the AWS SDK', () => {
  let standIn: IamStandIn;
  let iam: IAMClient;

  beforeEach(async () => {
    standIn = await IamStandIn.start({ account: seedIamAccount(GROUPS), callerUserName: BOT_IAM_USER });
    iam = iamClient(standIn.endpoint);
  });

  afterEach(async () => {
    iam.destroy();
    await standIn.stop();
  });

  it('GetUser answers a seeded user with its tags, whatever the name’s case; a missing one is NoSuchEntityException (404)', async () => {
    const jane = await iam.send(new GetUserCommand({ UserName: 'Jane.Doe' }));
    expect(jane.User).toMatchObject({
      UserName: 'jane.doe',
      Path: '/',
      Arn: `arn:aws:iam::${AWS_ACCOUNT_ID}:user/jane.doe`,
      Tags: [{ Key: 'email', Value: 'jane.doe@example.com' }],
    });
    expect(jane.User?.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(jane.User?.CreateDate).toBeInstanceOf(Date);
    expect(jane.User?.PasswordLastUsed).toBeInstanceOf(Date);

    const missing = await failure(iam.send(new GetUserCommand({ UserName: 'nobody' })));
    expect(missing.error).toBeInstanceOf(NoSuchEntityException);
    expect(missing.status).toBe(404);
    expect(missing.message).toBe('The user with name nobody cannot be found.');
  });

  it('without a UserName, GetUser and ListMFADevices answer for the caller, as IAM does', async () => {
    const caller = await iam.send(new GetUserCommand({}));
    expect(caller.User?.UserName).toBe(BOT_IAM_USER);
    expect((await iam.send(new ListMFADevicesCommand({}))).MFADevices).toEqual([]);
  });

  it('console password and MFA: the seeded person without MFA has none, a user without a password gets NoSuchEntityException', async () => {
    const profile = await iam.send(new GetLoginProfileCommand({ UserName: 'noah.newhire' }));
    expect(profile.LoginProfile).toMatchObject({ UserName: 'noah.newhire', PasswordResetRequired: false });
    expect((await iam.send(new ListMFADevicesCommand({ UserName: 'noah.newhire' }))).MFADevices).toEqual([]);
    const jane = await iam.send(new ListMFADevicesCommand({ UserName: 'jane.doe' }));
    expect(jane.MFADevices).toEqual([{ UserName: 'jane.doe', SerialNumber: `arn:aws:iam::${AWS_ACCOUNT_ID}:mfa/jane.doe`, EnableDate: expect.any(Date) }]);
    expect(jane.IsTruncated).toBe(false);

    const noPassword = await failure(iam.send(new GetLoginProfileCommand({ UserName: BOT_IAM_USER })));
    expect(noPassword.error).toBeInstanceOf(NoSuchEntityException);
    expect(noPassword.message).toBe(`Login Profile for User ${BOT_IAM_USER} cannot be found.`);
  });

  it('group membership: adding is idempotent, GetGroup pages its members, removing a non-member or from a missing group is NoSuchEntityException', async () => {
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: 'jane.doe' }))).Groups).toEqual([]);
    await iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' }));
    await iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' }));
    const groups = await iam.send(new ListGroupsForUserCommand({ UserName: 'jane.doe' }));
    expect(groups.Groups?.map((g) => g.GroupName)).toEqual(['BillingReadOnly']);
    expect(standIn.account.group('BillingReadOnly').members.map((m) => m.userName)).toEqual([HAND_ADDED_MEMBER, 'jane.doe']);

    const firstPage = await iam.send(new GetGroupCommand({ GroupName: 'BillingReadOnly', MaxItems: 1 }));
    expect(firstPage.Group).toMatchObject({ GroupName: 'BillingReadOnly', Arn: `arn:aws:iam::${AWS_ACCOUNT_ID}:group/BillingReadOnly` });
    expect(firstPage.Users?.map((u) => u.UserName)).toEqual([HAND_ADDED_MEMBER]);
    expect(firstPage.IsTruncated).toBe(true);
    expect(firstPage.Marker).toBeTruthy();
    const members: string[] = [];
    for await (const page of paginateGetGroup({ client: iam, pageSize: 1 }, { GroupName: 'BillingReadOnly' })) {
      members.push(...(page.Users ?? []).map((u) => u.UserName ?? ''));
    }
    expect(members).toEqual([HAND_ADDED_MEMBER, 'jane.doe']);

    await iam.send(new RemoveUserFromGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' }));
    const notMember = await failure(iam.send(new RemoveUserFromGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' })));
    expect(notMember.error).toBeInstanceOf(NoSuchEntityException);
    const noGroup = await failure(iam.send(new RemoveUserFromGroupCommand({ UserName: 'jane.doe', GroupName: 'NoSuchGroup' })));
    expect(noGroup.error).toBeInstanceOf(NoSuchEntityException);
    expect(noGroup.message).toBe('The group with name NoSuchGroup cannot be found.');
    const groupMissing = await failure(iam.send(new GetGroupCommand({ GroupName: 'NoSuchGroup' })));
    expect(groupMissing.status).toBe(404);
  });

  it('group policies: each billing group holds its level’s managed policy and no inline policy; GetPolicyVersion returns the document URL-encoded', async () => {
    const attached = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'BillingFull' }));
    expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'Billing', PolicyArn: LEVEL_POLICIES.full }]);
    expect((await iam.send(new ListGroupPoliciesCommand({ GroupName: 'BillingFull' }))).PolicyNames).toEqual([]);

    const policy = await iam.send(new GetPolicyCommand({ PolicyArn: READ_ONLY_POLICY }));
    expect(policy.Policy).toMatchObject({ PolicyName: 'AWSBillingReadOnlyAccess', DefaultVersionId: 'v1', AttachmentCount: 1, IsAttachable: true });
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: READ_ONLY_POLICY, VersionId: 'v1' }));
    const document = JSON.parse(decodeURIComponent(version.PolicyVersion?.Document ?? '')) as { Statement: { Action: string[] }[] };
    expect(document.Statement[0]?.Action).toContain('ce:Get*');
  });

  it('GetAccountSummary names the groups-per-user quota, and AddUserToGroup past it is LimitExceededException (409)', async () => {
    const summary = await iam.send(new GetAccountSummaryCommand({}));
    expect(summary.SummaryMap?.GroupsPerUserQuota).toBe(10);
    expect(summary.SummaryMap?.Groups).toBe(2);
    for (let i = 0; i < 10; i += 1) {
      await iam.send(new CreateGroupCommand({ GroupName: `Team${i}` }));
      await iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: `Team${i}` }));
    }
    const over = await failure(iam.send(new AddUserToGroupCommand({ UserName: 'jane.doe', GroupName: 'BillingReadOnly' })));
    expect(over.error).toBeInstanceOf(LimitExceededException);
    expect(over.status).toBe(409);
    const again = await failure(iam.send(new CreateGroupCommand({ GroupName: 'billingreadonly' })));
    expect(again.name).toBe('EntityAlreadyExistsException');
  });

  it('tags: ListUserTags and GetAccountAuthorizationDetails (Filter=User, paged) carry every user’s email tag', async () => {
    expect((await iam.send(new ListUserTagsCommand({ UserName: 'noah.newhire' }))).Tags).toEqual([{ Key: 'email', Value: 'noah.newhire@example.com' }]);
    const users: { name: string; email: string | undefined; groups: string[] }[] = [];
    for await (const page of paginateGetAccountAuthorizationDetails({ client: iam, pageSize: 2 }, { Filter: ['User'] })) {
      expect(page.GroupDetailList).toEqual([]);
      for (const u of page.UserDetailList ?? []) {
        users.push({ name: u.UserName ?? '', email: u.Tags?.find((t) => t.Key === 'email')?.Value, groups: u.GroupList ?? [] });
      }
    }
    expect(users.map((u) => u.name)).toEqual(standIn.account.users().map((u) => u.userName));
    expect(users.find((u) => u.name === HAND_ADDED_MEMBER)).toEqual({
      name: HAND_ADDED_MEMBER,
      email: 'sam.contractor@example.com',
      groups: ['BillingReadOnly'],
    });
  });

  it('access advisor: a job for a user lists the services their groups allow, with when each was last used', async () => {
    const sam = (await iam.send(new GetUserCommand({ UserName: HAND_ADDED_MEMBER }))).User?.Arn;
    const job = await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: sam, Granularity: 'SERVICE_LEVEL' }));
    expect(job.JobId).toBeTruthy();
    const details = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: job.JobId, MaxItems: 1000 }));
    expect(details).toMatchObject({ JobStatus: 'COMPLETED', JobType: 'SERVICE_LEVEL', IsTruncated: false });
    const ce = details.ServicesLastAccessed?.find((s) => s.ServiceNamespace === 'ce');
    expect(ce).toMatchObject({ ServiceName: 'AWS Cost Explorer Service', LastAuthenticatedEntity: sam, TotalAuthenticatedEntities: 1 });
    const fortyDays = Date.now() - (ce?.LastAuthenticated?.getTime() ?? 0);
    expect(Math.round(fortyDays / 86_400_000)).toBe(40);
    const billing = details.ServicesLastAccessed?.find((s) => s.ServiceNamespace === 'billing');
    expect(billing).toMatchObject({ TotalAuthenticatedEntities: 0 });
    expect(billing?.LastAuthenticated).toBeUndefined();

    const unknownJob = await failure(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: 'no-such-job' })));
    expect(unknownJob.error).toBeInstanceOf(NoSuchEntityException);
    const unknownArn = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${AWS_ACCOUNT_ID}:user/nobody` })));
    expect(unknownArn.error).toBeInstanceOf(NoSuchEntityException);
  });

  it('refuses what IAM refuses: a malformed name is ValidationError (400), an action it does not answer is InvalidAction naming the ones it does', async () => {
    const bad = await failure(iam.send(new GetUserCommand({ UserName: 'jane doe' })));
    expect(bad.name).toBe('ValidationError');
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("Value 'jane doe' at 'userName' failed to satisfy constraint");

    const unknown = await failure(iam.send(new ListRolesCommand({})));
    expect(unknown.name).toBe('InvalidAction');
    expect(unknown.status).toBe(400);
    expect(unknown.message).toContain(`Could not find operation ListRoles for version ${IAM_VERSION}`);
    expect(unknown.message).toContain('AddUserToGroup');
    expect(standIn.calls('ListRoles')).toEqual([{ service: 'iam', action: 'ListRoles', error: 'InvalidAction' }]);
  });

  it('a request with no Action, or no Version the stand-in knows, is refused with IAM’s error XML', async () => {
    const noAction = await fetch(standIn.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Version=${IAM_VERSION}`,
    });
    expect(noAction.status).toBe(400);
    expect(await noAction.text()).toMatch(
      /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>MissingAction<\/Code>/,
    );
    const oldVersion = await fetch(standIn.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetUser&Version=2009-01-01',
    });
    expect(oldVersion.status).toBe(400);
    expect(await oldVersion.text()).toContain('<Code>MissingParameter</Code>');
  });

  it('STS GetCallerIdentity (the same endpoint, as AWS_ENDPOINT_URL sends it) names the playground account and the bot’s IAM user', async () => {
    const sts = new STSClient({ endpoint: standIn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'playground', secretAccessKey: 'playground' } });
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}));
      expect(me).toMatchObject({ Account: AWS_ACCOUNT_ID, Arn: `arn:aws:iam::${AWS_ACCOUNT_ID}:user/${BOT_IAM_USER}` });
      expect(me.UserId).toMatch(/^AIDA/);
      const refused = await failure(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${AWS_ACCOUNT_ID}:role/x`, RoleSessionName: 's' })));
      expect(refused.name).toBe('InvalidAction');
      expect(refused.message).toContain('GetCallerIdentity');
    } finally {
      sts.destroy();
    }
  });
});

/** The same people on both backends: a password and MFA unless said otherwise, an email tag each. */
const PEOPLE: UserSeed[] = [
  { userName: 'jane.doe', email: 'jane.doe@example.com', consolePassword: true, mfa: true },
  { userName: 'noah.newhire', email: 'noah.newhire@example.com', consolePassword: true, mfa: false },
  { userName: 'sam.contractor', email: 'sam.contractor@example.com', consolePassword: false, mfa: true, accessKeyAgeDays: 0 },
];

async function seedMoto(iam: IAMClient): Promise<void> {
  for (const p of PEOPLE) {
    await createUser(iam, {
      name: p.userName,
      mfa: p.mfa,
      password: p.consolePassword,
      ...(p.email ? { emailTag: p.email } : {}),
      accessKey: p.accessKeyAgeDays !== undefined,
    });
  }
  await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
  await createGroup(iam, 'BillingFull', FULL_POLICY);
  await iam.send(new AddUserToGroupCommand({ UserName: 'sam.contractor', GroupName: 'BillingReadOnly' }));
}

function seededStandInAccount(): IamAccount {
  return new IamAccount({
    accountId: AWS_ACCOUNT_ID,
    users: PEOPLE,
    policies: [READ_ONLY_POLICY, FULL_POLICY].map((arn) => ({ arn, document: { Version: '2012-10-17', Statement: [] } })),
    groups: [
      { groupName: 'BillingReadOnly', policyArns: [READ_ONLY_POLICY], members: ['sam.contractor'] },
      { groupName: 'BillingFull', policyArns: [FULL_POLICY] },
    ],
  });
}

/** What the bot's gateway reads and does, call by call: the story of one request, its grant, its end and a review. */
async function gatewayStory(iam: IAMClient): Promise<Record<string, unknown>> {
  const gateway = new AwsIamGateway({ client: iam, groups: ['BillingReadOnly', 'BillingFull'], policyArns: [READ_ONLY_POLICY, FULL_POLICY] });
  const settle = async (read: () => Promise<unknown>) => {
    try {
      return { ok: await read() };
    } catch (err) {
      return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  };
  const sorted = async (read: () => Promise<string[]>) => (await read()).sort();
  return {
    jane: await gateway.getUser('jane.doe'),
    // Names are spelt as created: moto compares them case-sensitively, IAM (and the stand-in, tested above) does not.
    noah: await gateway.getUser('noah.newhire'),
    sam: await gateway.getUser('sam.contractor'),
    nobody: await gateway.getUser('nobody'),
    recheckNoah: await gateway.recheckUser('noah.newhire', { mfa: true }),
    recheckNobody: await gateway.recheckUser('nobody', { mfa: true }),
    recheckJaneWithoutMfa: await gateway.recheckUser('jane.doe', { mfa: false }),
    byTag: await gateway.findUserByEmailTag('JANE.DOE@example.com'),
    quota: await gateway.groupsPerUserQuota(),
    policies: await gateway.groupPolicies('BillingReadOnly', READ_ONLY_POLICY),
    group: await gateway.findGroup('BillingFull'),
    membersBefore: await sorted(() => gateway.groupMembers('BillingReadOnly')),
    add: await settle(() => gateway.addUserToGroup('jane.doe', 'BillingReadOnly')),
    addAgain: await settle(() => gateway.addUserToGroup('jane.doe', 'BillingReadOnly')),
    membersAfter: await sorted(() => gateway.groupMembers('BillingReadOnly')),
    janeGroups: (await gateway.getUser('jane.doe'))?.groups,
    remove: await gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly'),
    removeAgain: await gateway.removeUserFromGroup('jane.doe', 'BillingReadOnly'),
    removeFromMissingGroup: await settle(() => gateway.removeUserFromGroup('jane.doe', 'RetiredGroup', { endingGrant: true })),
    review: await gateway.reviewMember('sam.contractor', new Date()),
    reviewNoah: await gateway.reviewMember('noah.newhire', new Date()),
  };
}

describe('the IAM stand-in agrees with moto_server', () => {
  const endpoint = workerAwsEndpoint();
  let moto: IAMClient;
  let standIn: IamStandIn;
  let local: IAMClient;

  beforeAll(() => {
    moto = iamClient(endpoint);
  });

  afterAll(() => moto.destroy());

  beforeEach(async () => {
    await resetMoto(endpoint);
    await seedMoto(moto);
    standIn = await IamStandIn.start({ account: seededStandInAccount(), callerUserName: 'jane.doe' });
    local = iamClient(standIn.endpoint);
  });

  afterEach(async () => {
    local.destroy();
    await standIn.stop();
  });

  it('the bot’s IAM gateway reads and changes the same things on both, with the same results', async () => {
    const onMoto = await gatewayStory(moto);
    const onStandIn = await gatewayStory(local);
    expect(onStandIn).toEqual(onMoto);
    // And the story says something: the calls did what a grant and its end need.
    expect(onStandIn).toMatchObject({
      noah: { userName: 'noah.newhire', mfaDeviceCount: 0, hasConsolePassword: true },
      nobody: undefined,
      membersBefore: ['sam.contractor'],
      membersAfter: ['jane.doe', 'sam.contractor'],
      janeGroups: ['BillingReadOnly'],
      remove: 'removed',
      removeAgain: 'not-a-member',
      removeFromMissingGroup: { error: 'BillingAccessError: IAM group RetiredGroup does not exist.' },
      byTag: 'jane.doe',
      quota: 10,
      policies: { attachedPolicyArns: [READ_ONLY_POLICY], inlinePolicyNames: [] },
    });
  });
});

describe('the IAM stand-in’s groups survive a restart beside the store', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iam-state-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('every change is saved, and a fresh account restores the groups as they were', async () => {
    const before = seedIamAccount(GROUPS);
    expect(restoreIamState(before, dataDir)).toBeUndefined();
    const stop = keepIamState(before, dataDir);
    before.addUserToGroup('jane.doe', 'BillingFull');
    before.removeUserFromGroup(HAND_ADDED_MEMBER, 'BillingReadOnly');
    before.attachGroupPolicy('BillingFull', READ_ONLY_POLICY);
    stop();
    before.addUserToGroup('noah.newhire', 'BillingFull');

    const after = seedIamAccount(GROUPS);
    expect(restoreIamState(after, dataDir)).toBeUndefined();
    expect(after.groupsState()).toEqual({
      groups: [
        { groupName: 'BillingReadOnly', members: [], attachedPolicyArns: [READ_ONLY_POLICY] },
        { groupName: 'BillingFull', members: ['jane.doe'], attachedPolicyArns: [FULL_POLICY, READ_ONLY_POLICY] },
      ],
    });
  });

  it('a file that is not a saved state is reported and the seeded groups stay', async () => {
    await writeFile(join(dataDir, IAM_STATE_FILE), '{"groups": "nope"}');
    const account = seedIamAccount(GROUPS);
    expect(restoreIamState(account, dataDir)).toContain('is not a saved IAM state: IAM starts from the seeded groups');
    expect(account.groupsState()).toEqual(seedIamAccount(GROUPS).groupsState());
    expect(await readFile(join(dataDir, IAM_STATE_FILE), 'utf8')).toBe('{"groups": "nope"}');
  });
});
