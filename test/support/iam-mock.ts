/**
 * What the IAM gateway unit tests share (test/unit/iam-gateway, iam-email-lookup, dry-run-gateway):
 * an AwsIamGateway on a mocked IAMClient and a ManualClock, the SDK errors IAM answers with, and a
 * user who exists.
 */
import { GetLoginProfileCommand, GetUserCommand, IAMClient, ListGroupsForUserCommand, ListMFADevicesCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
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
