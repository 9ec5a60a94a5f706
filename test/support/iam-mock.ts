/**
 * What the IAM gateway unit tests share (test/unit/iam-gateway, iam-email-lookup, dry-run-gateway):
 * an AwsIamGateway on a mocked IAMClient and a ManualClock, the SDK errors IAM answers with, and a
 * user who exists.
 */
import {
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandInput,
  type GetAccountAuthorizationDetailsCommandOutput,
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { ManualClock } from './clock.js';

/** The groups the gateway may change. */
export const ALLOWED = ['BillingReadOnly', 'BillingFull'];
export const READ_ONLY_ARN = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
export const CUSTOM_ARN = 'arn:aws:iam::123456789012:policy/BillingCustom';
export const CREATED = new Date('2024-01-01T00:00:00Z');

export function noSuchEntity(message = 'The user with name jane cannot be found.') {
  return new NoSuchEntityException({ message, $metadata: { httpStatusCode: 404 } });
}

/** An SDK-style service error: what the client throws for errors it has no class for. */
export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** A user who exists, with a console password, one MFA device and two groups. */
export function existingUser(iamMock: AwsClientStub<IAMClient>, userName = 'jane.doe') {
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

export interface GatewayRig {
  iamMock: AwsClientStub<IAMClient>;
  /** The gateway's clock, for its caches; a test moves it on. */
  clock: ManualClock;
  gateway: AwsIamGateway;
}

/** A fresh mocked client and a gateway on it, allowed ALLOWED and the read-only and custom policies. */
export function gatewayRig(): GatewayRig {
  const client = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const iamMock = mockClient(client);
  const clock = new ManualClock('2025-10-01T12:00:00Z');
  const gateway = new AwsIamGateway({ client, groups: ALLOWED, policyArns: [READ_ONLY_ARN, CUSTOM_ARN], now: () => clock.now().getTime() });
  return { iamMock, clock, gateway };
}

/** One IAM user as GetAccountAuthorizationDetails (Filter=User) lists it: its tags, groups and policy names. */
export interface DirectoryUser {
  name: string;
  tags?: { Key: string; Value: string }[];
}

/** GetAccountAuthorizationDetails as accountUsers answers it, and the inputs it was called with. */
export interface AccountUsersStub {
  /** Each call's input as it was when sent (the SDK's paginator reuses one input object). */
  readonly calls: GetAccountAuthorizationDetailsCommandInput[];
  /** One page for this input, as the stub answers it (for a test that fails a chosen call and answers the others). */
  page(input: GetAccountAuthorizationDetailsCommandInput): GetAccountAuthorizationDetailsCommandOutput;
}

/**
 * The account's users behind GetAccountAuthorizationDetails, paged as IAM pages them: at most
 * MaxItems (and at most `pageCap`, IAM's "may return fewer") users a page, the next page's start
 * in Marker. `users` is read at each call, so a test can re-tag or remove users between builds.
 */
export function accountUsers(iamMock: AwsClientStub<IAMClient>, users: () => DirectoryUser[], options: { pageCap?: number } = {}): AccountUsersStub {
  const calls: GetAccountAuthorizationDetailsCommandInput[] = [];
  const page = (input: GetAccountAuthorizationDetailsCommandInput): GetAccountAuthorizationDetailsCommandOutput => {
    const all = users();
    const start = input.Marker ? Number(input.Marker) : 0;
    const size = Math.min(input.MaxItems ?? 100, options.pageCap ?? Number.POSITIVE_INFINITY);
    const more = start + size < all.length;
    return {
      UserDetailList: all.slice(start, start + size).map((u) => ({
        UserName: u.name,
        UserId: `AIDA${u.name.toUpperCase()}`,
        Arn: `arn:aws:iam::123456789012:user/${u.name}`,
        Path: '/',
        CreateDate: CREATED,
        GroupList: [],
        UserPolicyList: [],
        AttachedManagedPolicies: [],
        Tags: u.tags ?? [],
      })),
      GroupDetailList: [],
      RoleDetailList: [],
      Policies: [],
      IsTruncated: more,
      ...(more ? { Marker: String(start + size) } : {}),
      $metadata: {},
    };
  };
  iamMock.on(GetAccountAuthorizationDetailsCommand).callsFake((input: GetAccountAuthorizationDetailsCommandInput) => {
    calls.push(structuredClone(input));
    return page(input);
  });
  return { calls, page };
}
