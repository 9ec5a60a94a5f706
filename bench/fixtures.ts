/**
 * Who takes part: two admins and many distinct employees (each with an IAM user of the same
 * name as their email's local part, a console password and one MFA device), so the
 * one-pending-request-per-level rule never refuses a benchmark request.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { FakeUser } from '../playground/slack-standin.js';
import { createGroup, createUser, FULL_POLICY, READ_ONLY_POLICY } from '../testkit/iam-fixtures.js';

export const BOT_TOKEN = 'xoxb-bench-token-0000';
export const SIGNING_SECRET = 'bench-signing-secret';
export const TEAM = 'T0001';
export const ADMIN_CHANNEL = 'CADMIN';
export const GENERAL_CHANNEL = 'C0GENERAL';
export const ADMINS = ['U0ADMIN1', 'U0ADMIN2'] as const;
export const LEVELS = [
  { level: 'read-only', group: 'BillingReadOnly', policy: READ_ONLY_POLICY },
  { level: 'full', group: 'BillingFull', policy: FULL_POLICY },
] as const;
export const BILLING_GROUPS = LEVELS.map((l) => `${l.level}=${l.group}`).join(',');

export interface Employee {
  userId: string;
  iamUserName: string;
  email: string;
}

export function employees(prefix: string, count: number): Employee[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(4, '0');
    const iamUserName = `${prefix.toLowerCase()}${n}`;
    return { userId: `U${prefix.toUpperCase()}${n}`, iamUserName, email: `${iamUserName}@corp.com` };
  });
}

export function slackUsers(people: Employee[]): FakeUser[] {
  return [
    { id: 'UBOT', name: 'billing-access-bot', isBot: true },
    { id: ADMINS[0], name: 'alice', email: 'alice.admin@corp.com' },
    { id: ADMINS[1], name: 'bob', email: 'bob.admin@corp.com' },
    ...people.map((p) => ({ id: p.userId, name: p.iamUserName, email: p.email })),
  ];
}

/** The billing groups and one IAM user per employee; `concurrency` calls at a time. */
export async function createIamFixtures(iam: IAMClient, people: Employee[], concurrency = 8): Promise<void> {
  for (const l of LEVELS) await createGroup(iam, l.group, l.policy);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < people.length) {
        const person = people[next++] as Employee;
        await createUser(iam, { name: person.iamUserName, mfa: true, password: true });
      }
    }),
  );
}
