/**
 * The playground's seeded workspace: a few people, the admin channel, and what Slack sends for
 * them; and the AWS account the IAM stand-in answers for: each person's IAM user, the billing
 * groups with their policies, one member put into a group by hand and one person without MFA.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { IamAccount, type UserSeed } from './iam-account.js';
import type { FakeChannel, FakeUser } from './slack-standin.js';

export const TEAM_ID = 'T0PLAYGROUND';
export const ADMIN_CHANNEL = 'C0BILLINGADMINS';
export const GENERAL_CHANNEL = 'C0GENERAL';

/** `role` decides who is an admin (ADMIN_USER_IDS) and where a person lands on the page; `hint` says what to try as them. */
export const PEOPLE: (FakeUser & { role: string; hint?: string })[] = [
  { id: 'U0JANE', name: 'jane', realName: 'Jane Doe', email: 'jane.doe@example.com', teamId: TEAM_ID, role: 'employee' },
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Admin', email: 'alice.admin@example.com', teamId: TEAM_ID, role: 'admin' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Admin', email: 'bob.admin@example.com', teamId: TEAM_ID, role: 'admin' },
  { id: 'U0GUS', name: 'gus', realName: 'Gus Guest', email: 'gus@example.com', teamId: TEAM_ID, role: 'guest', isRestricted: true },
  { id: 'U0NOAH', name: 'noah', realName: 'Noah Newhire', email: 'noah.newhire@example.com', teamId: TEAM_ID, role: 'employee', hint: 'no MFA' },
];

export const BOT_USER_ID = 'U0BILLINGBOT';

export const CHANNELS: FakeChannel[] = [
  { id: ADMIN_CHANNEL, name: 'billing-admins', members: [BOT_USER_ID, 'U0ALICE', 'U0BOB', 'U0JANE'] },
  { id: GENERAL_CHANNEL, name: 'general' },
];

export interface Secrets {
  botToken: string;
  signingSecret: string;
}

/** Fresh, throwaway credentials for the local bot and its stand-in: nothing real is ever needed. */
export function generateSecrets(): Secrets {
  return { botToken: `xoxb-playground-${randomBytes(12).toString('hex')}`, signingSecret: randomBytes(24).toString('hex') };
}

export function sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

export function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e9)}.${randomBytes(8).toString('hex')}`;
}

// ---------------------------------------------------------------------------
// The AWS account behind the IAM stand-in
// ---------------------------------------------------------------------------

export const AWS_ACCOUNT_ID = '123456789012';
/** The IAM user the bot runs as in the playground (STS GetCallerIdentity names it). */
export const BOT_IAM_USER = 'billing-access-bot';

/** Each person's IAM user (the email's local part, as IAM_USER_MAPPING=email-localpart maps it). */
export const IAM_USERS: UserSeed[] = [
  { userName: 'jane.doe', email: 'jane.doe@example.com', consolePassword: true, mfa: true, passwordLastUsedDaysAgo: 2 },
  {
    userName: 'alice.admin',
    email: 'alice.admin@example.com',
    consolePassword: true,
    mfa: true,
    passwordLastUsedDaysAgo: 1,
    lastUsed: [{ namespace: 'ce', daysAgo: 3 }],
  },
  { userName: 'bob.admin', email: 'bob.admin@example.com', consolePassword: true, mfa: true, passwordLastUsedDaysAgo: 5 },
  { userName: 'gus', email: 'gus@example.com', consolePassword: true, mfa: true },
  /** Has a console password but never added an MFA device: REQUIRE_MFA=block refuses his requests. */
  { userName: 'noah.newhire', email: 'noah.newhire@example.com', consolePassword: true, mfa: false },
  /** No Slack account: put into a billing group by hand, with an access key nobody rotated; last used Cost Explorer 40 days ago. */
  {
    userName: 'sam.contractor',
    email: 'sam.contractor@example.com',
    consolePassword: true,
    mfa: true,
    passwordLastUsedDaysAgo: 12,
    accessKeyAgeDays: 200,
    lastUsed: [{ namespace: 'ce', daysAgo: 40 }],
  },
  { userName: BOT_IAM_USER, consolePassword: false, mfa: false },
];

/** Added to the first billing group by hand, not through the bot: the access review flags him. */
export const HAND_ADDED_MEMBER = 'sam.contractor';

/** What each level's group holds (the bot's BILLING_GROUP_POLICIES defaults). */
export const LEVEL_POLICIES: Record<string, string> = {
  'read-only': 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess',
  full: 'arn:aws:iam::aws:policy/job-function/Billing',
};

/** What the page's "Widen" control attaches to a billing group: far beyond billing, so the group guard refuses grants. */
export const WIDENING_POLICY_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

/** The managed policies of the account; documents abridged to their gist. */
const POLICIES = [
  {
    arn: LEVEL_POLICIES['read-only'] ?? '',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['billing:Get*', 'billing:List*', 'ce:Get*', 'ce:Describe*', 'ce:List*', 'account:Get*', 'payments:List*', 'payments:Get*'],
          Resource: '*',
        },
      ],
    },
  },
  {
    arn: LEVEL_POLICIES.full ?? '',
    document: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['billing:*', 'ce:*', 'payments:*', 'budgets:*', 'cur:*', 'account:Get*', 'account:List*'], Resource: '*' }],
    },
  },
  { arn: WIDENING_POLICY_ARN, document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
];

/** `read-only=BillingReadOnly,full=BillingFull` → the level and group pairs, as the bot reads BILLING_GROUPS. */
export function billingGroups(spec: string): { level: string; groupName: string }[] {
  return spec
    .split(',')
    .map((pair) => pair.split('=').map((part) => part.trim()))
    .filter((pair): pair is [string, string] => pair.length === 2 && Boolean(pair[0]) && Boolean(pair[1]))
    .map(([level, groupName]) => ({ level, groupName }));
}

/** A fresh account: the people's IAM users, each billing group with its level's policy, the hand-added member in the first. */
export function seedIamAccount(groups: { level: string; groupName: string }[], now = new Date()): IamAccount {
  return new IamAccount({
    accountId: AWS_ACCOUNT_ID,
    users: IAM_USERS,
    policies: POLICIES,
    groups: groups.map((g, i) => ({
      groupName: g.groupName,
      policyArns: LEVEL_POLICIES[g.level] ? [LEVEL_POLICIES[g.level] as string] : [],
      members: i === 0 ? [HAND_ADDED_MEMBER] : [],
    })),
    now,
  });
}
