/**
 * Helpers for the weekly-summary scenarios: finding the posted summaries, clicking a button on
 * a real stored message (Bolt hands handlers `body.message`, blocks included), seeding many
 * grants straight into the store, and reading loose audit events from the harness's table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessRequest } from '../../src/domain/request.js';
import { ACTION } from '../../src/slack/ids.js';
import { buildBlockAction } from '../../testkit/slack-payloads.js';
import type { BotResponse } from '../../testkit/slack-signing.js';
import type { StoredMessage } from './fake-slack.js';
import { ADMIN_CHANNEL, type Harness } from './harness.js';
import { blockTexts, makeGrant } from './summary-fixtures.js';

export const TABLE = 'billing-access-test';
export const WEEKLY_TITLE = 'Weekly billing access summary';
export const ON_DEMAND_TITLE = 'Billing access summary (last 7 days)';

/** Top-level admin-channel messages that are scheduled summaries (on time or late). */
export function weeklySummaries(h: Harness): StoredMessage[] {
  return h.adminMessages().filter((m) => m.text.startsWith(WEEKLY_TITLE));
}

export function onDemandSummaries(h: Harness): StoredMessage[] {
  return h.adminMessages().filter((m) => m.text.startsWith(ON_DEMAND_TITLE));
}

/** Thread replies (not ephemerals) under a message of the admin channel. */
export function threadReplies(h: Harness, parent: StoredMessage): StoredMessage[] {
  return h.slack.messages(ADMIN_CHANNEL).filter((m) => m.threadTs === parent.ts && !m.ephemeralTo);
}

/** A summary and its continuation replies, as one message list (first, then the thread in order). */
export function summaryParts(h: Harness, parent: StoredMessage): StoredMessage[] {
  return [parent, ...threadReplies(h, parent)];
}

/** All the texts of a message's blocks, one string. */
export function textOf(m: StoredMessage | undefined): string {
  return m ? blockTexts(m.blocks ?? []).join('\n') : '';
}

/** The header block's text. */
export function headerOf(m: StoredMessage | undefined): string {
  const header = (m?.blocks ?? []).find((b) => (b as { type?: string }).type === 'header') as { text?: { text?: string } } | undefined;
  return header?.text?.text ?? '';
}

/** The period a summary says it covers, read from its `<!date^…>` span. */
export function spanOf(m: StoredMessage | undefined): { from: string; to: string } {
  const seconds = [...textOf(m).matchAll(/<!date\^(\d+)\^[^|]*\|[^>]*> → <!date\^(\d+)\^/g)][0];
  if (!seconds) throw new Error(`no period span in the summary: ${textOf(m).slice(0, 300)}`);
  return { from: new Date(Number(seconds[1]) * 1000).toISOString(), to: new Date(Number(seconds[2]) * 1000).toISOString() };
}

/** The review line of one IAM user in a summary ("• `name`: flags"). */
export function memberLine(text: string, userName: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`• \`${userName}\`:`));
}

/**
 * Clicks a button on a message as Slack sends it: the payload carries the message as stored
 * (ts, text and blocks) and the container points at it.
 */
export function clickOnMessage(h: Harness, userId: string, action: keyof typeof ACTION, value: string, message: StoredMessage): Promise<BotResponse> {
  const body = buildBlockAction({
    userId,
    channelId: message.channel,
    channelName: 'billing-admins',
    actionId: ACTION[action],
    value,
    messageTs: message.ts,
    blockId: `review_${value}`,
    responseUrl: h.slack.responseUrl(`click-${userId}`),
  });
  const payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as Record<string, unknown>;
  payload.message = { type: 'message', user: message.user, ts: message.ts, text: message.text, blocks: message.blocks ?? [] };
  return h.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
}

/**
 * Writes `count` ACTIVE grants straight into the store (no Slack, no IAM), created at
 * `createdAt` plus i milliseconds: a fast way to a large period.
 */
export async function seedActiveGrants(h: Harness, count: number, createdAt: string, concurrency = 25): Promise<AccessRequest[]> {
  const base = Date.parse(createdAt);
  const grants = Array.from({ length: count }, (_, i) => {
    const at = new Date(base + i).toISOString();
    const decided = new Date(base + i + 60_000).toISOString();
    return makeGrant(i + 1, {
      createdAt: at,
      decidedAt: decided,
      approvals: [{ by: 'U0ADMIN1', at: decided }],
      expiresAt: new Date(base + 30 * 86_400_000).toISOString(),
      updatedAt: decided,
      version: 1,
    });
  });
  for (let i = 0; i < grants.length; i += concurrency) {
    await Promise.all(grants.slice(i, i + concurrency).map((g) => h.bot.deps.store.create(g, { actor: 'seed', detail: 'seeded grant' })));
  }
  return grants;
}

/** Audit events not tied to a request (`EVENT#<subject>`), read from the harness's DynamoDB table. */
export async function looseAuditEvents(subject: string): Promise<Record<string, unknown>[]> {
  const client = new DynamoDBClient({});
  try {
    const doc = DynamoDBDocumentClient.from(client);
    const out = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `EVENT#${subject}` },
        ConsistentRead: true,
      }),
    );
    return out.Items ?? [];
  } finally {
    client.destroy();
  }
}
