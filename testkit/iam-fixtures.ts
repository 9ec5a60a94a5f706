import {
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  IAMClient,
  ListGroupsForUserCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';

export const READ_ONLY_POLICY = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
export const FULL_POLICY = 'arn:aws:iam::aws:policy/job-function/Billing';
/** moto's account. */
export const ACCOUNT_ID = '123456789012';

/** A customer-managed policy that stays within billing: what the group guard lets through. */
export const BILLING_ONLY_DOCUMENT = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'CostExplorer', Effect: 'Allow', Action: ['ce:Get*', 'ce:Describe*', 'billing:View*', 'budgets:ViewBudget'], Resource: '*' },
    { Sid: 'AccountReads', Effect: 'Allow', Action: ['account:Get*', 'account:List*'], Resource: '*' },
  ],
};
/** A default version edited to allow everything. */
export const EVERYTHING_DOCUMENT = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

export function iamClient(endpoint: string): IAMClient {
  return new IAMClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

export async function createGroup(iam: IAMClient, name: string, policyArn: string): Promise<void> {
  await iam.send(new CreateGroupCommand({ GroupName: name }));
  await iam.send(new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: policyArn }));
}

/** Creates a customer-managed policy (its first version is the default) and returns its ARN. */
export async function createCustomerPolicy(iam: IAMClient, name: string, document: object): Promise<string> {
  const out = await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) }));
  if (!out.Policy?.Arn) throw new Error(`CreatePolicy ${name} returned no ARN`);
  return out.Policy.Arn;
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
