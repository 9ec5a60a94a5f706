/** The playground's seeded workspace: a few people, the admin channel, and what Slack sends for them. */
import { createHmac, randomBytes } from 'node:crypto';
import type { FakeChannel, FakeUser } from './slack-standin.js';

export const TEAM_ID = 'T0PLAYGROUND';
export const ADMIN_CHANNEL = 'C0BILLINGADMINS';
export const GENERAL_CHANNEL = 'C0GENERAL';

export const PEOPLE: (FakeUser & { role: string })[] = [
  { id: 'U0JANE', name: 'jane', realName: 'Jane Doe', email: 'jane.doe@example.com', teamId: TEAM_ID, role: 'employee' },
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Admin', email: 'alice.admin@example.com', teamId: TEAM_ID, role: 'admin' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Admin', email: 'bob.admin@example.com', teamId: TEAM_ID, role: 'admin' },
  { id: 'U0GUS', name: 'gus', realName: 'Gus Guest', email: 'gus@example.com', teamId: TEAM_ID, role: 'guest', isRestricted: true },
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
