import {
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  IAMClient,
  ListGroupsForUserCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';

export const READ_ONLY_POLICY = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
export const FULL_POLICY = 'arn:aws:iam::aws:policy/job-function/Billing';

export function iamClient(endpoint: string): IAMClient {
  return new IAMClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

export async function createGroup(iam: IAMClient, name: string, policyArn: string): Promise<void> {
  await iam.send(new CreateGroupCommand({ GroupName: name }));
  await iam.send(new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: policyArn }));
}

export interface UserFixture {
  name: string;
  mfa?: boolean;
  password?: boolean;
  emailTag?: string;
  accessKey?: boolean;
}

export async function createUser(iam: IAMClient, user: UserFixture): Promise<void> {
  await iam.send(new CreateUserCommand({ UserName: user.name }));
  if (user.password !== false) {
    await iam.send(new CreateLoginProfileCommand({ UserName: user.name, Password: 'Correct-Horse-9!' }));
  }
  if (user.mfa !== false) {
    const device = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: `${user.name}-mfa` }));
    await iam.send(
      new EnableMFADeviceCommand({
        UserName: user.name,
        SerialNumber: device.VirtualMFADevice?.SerialNumber,
        AuthenticationCode1: '123456',
        AuthenticationCode2: '654321',
      }),
    );
  }
  if (user.emailTag) await iam.send(new TagUserCommand({ UserName: user.name, Tags: [{ Key: 'email', Value: user.emailTag }] }));
  if (user.accessKey) await iam.send(new CreateAccessKeyCommand({ UserName: user.name }));
}

export async function groupsOf(iam: IAMClient, userName: string): Promise<string[]> {
  const out = await iam.send(new ListGroupsForUserCommand({ UserName: userName }));
  return (out.Groups ?? []).map((g) => g.GroupName ?? '');
}
