/**
 * The steps the process-level crash tests share: bots started and SIGKILLed as a fleet, an
 * employee's request and an admin's Approve sent to a running bot, a grant brought to a point
 * where one call is held (at the IAM proxy) so the bot can be killed there, waits for a status
 * and for a sweep after it, the per-request counts of what each person was told, and the
 * operator-style table edits (an expiry, a summary claim) that stand in for time passing.
 */
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { AccessRequest, RequestStatus } from '../../src/domain/request.js';
import { ACTION } from '../../src/slack/ids.js';
import { installKey, requestKey } from '../../src/store/keys.js';
import { buildBlockAction, buildCommand } from '../../testkit/slack-payloads.js';
import { postToBot } from '../../testkit/slack-signing.js';
import { BotProcess } from './bot-process.js';
import type { StoredMessage } from './fake-slack.js';
import { ADMIN_CHANNEL, PEOPLE, SIGNING_SECRET, TEAM } from './harness.js';
import { eventually, type ProcessRig } from './process-rig.js';

export const EMPLOYEE = PEOPLE.employee.id;

/** The bots a test started: each is SIGKILLed when the test kills it, the rest when it ends. */
export class BotFleet {
  private readonly bots: BotProcess[] = [];

  async start(env: Record<string, string>): Promise<BotProcess> {
    const bot = await BotProcess.start(env);
    this.bots.push(bot);
    return bot;
  }

  /** SIGKILL: no shutdown handler runs; returns once the process is gone and its port is closed. */
  async kill(bot: BotProcess): Promise<void> {
    await bot.kill('SIGKILL');
    expect(bot.alive).toBe(false);
    this.bots.splice(this.bots.indexOf(bot), 1);
  }

  async stopAll(): Promise<void> {
    for (const bot of this.bots.splice(0)) await bot.kill();
    await BotProcess.killAll();
  }
}

/** Top-level admin-channel posts (not ephemerals, not thread replies). */
export function adminPosts(rig: ProcessRig): StoredMessage[] {
  return rig.slack.messages(ADMIN_CHANNEL).filter((m) => !m.ephemeralTo && !m.threadTs);
}

/** Everything the bot DMed the employee. */
export function employeeDms(rig: ProcessRig): StoredMessage[] {
  return rig.slack.messages(`D${EMPLOYEE}`);
}

/** The chat.update calls Slack took for one request's admin message. */
export function adminUpdates(rig: ProcessRig, request: AccessRequest): number {
  const ts = request.adminMessage?.ts;
  return rig.slack.calls('chat.update').filter((c) => c.ok && c.args.ts === ts).length;
}

/** Replies the bot posted in one request's admin thread. */
export function threadReplies(rig: ProcessRig, request: AccessRequest): StoredMessage[] {
  return rig.slack.messages(ADMIN_CHANNEL).filter((m) => !m.ephemeralTo && m.threadTs === request.adminMessage?.ts);
}

/** The employee asks for read-only access; returns the request once it is stored with its admin message. */
export async function requestAccess(rig: ProcessRig, bot: BotProcess): Promise<AccessRequest> {
  const before = adminPosts(rig).length;
  const command = await postToBot(
    bot.url(),
    SIGNING_SECRET,
    buildCommand({ user_id: EMPLOYEE, team_id: TEAM, text: 'read-only 7d month-end close for October', response_url: rig.slack.responseUrl('request') }),
  );
  expect(command.status).toBe(200);
  await rig.slack.waitFor(() => adminPosts(rig).length === before + 1, 10_000);
  const request = await eventually(
    'the request with its admin message in the table',
    async () => (await rig.store.listByRequester(EMPLOYEE)).find((r) => r.status === 'PENDING' && r.adminMessage !== undefined),
    10_000,
    () => bot.logTail,
  );
  return request;
}

/** `admin` clicks Approve on the request's admin message. */
export async function clickApprove(rig: ProcessRig, bot: BotProcess, requestId: string, admin: string = PEOPLE.admin1.id): Promise<void> {
  const click = await postToBot(
    bot.url(),
    SIGNING_SECRET,
    buildBlockAction({
      userId: admin,
      channelId: ADMIN_CHANNEL,
      actionId: ACTION.approve,
      value: requestId,
      responseUrl: rig.slack.responseUrl(`approve-${admin}`),
    }),
  );
  expect(click.status).toBe(200);
}

/**
 * Holds the IAM `action` at the proxy, starts a bot, has the employee ask and admin1 approve:
 * returns once a call of `action` made after the click is held there.
 */
export async function approveUntilHeld(
  rig: ProcessRig,
  fleet: BotFleet,
  env: Record<string, string>,
  action: string,
): Promise<{ first: BotProcess; request: AccessRequest }> {
  const first = await fleet.start(env);
  const request = await requestAccess(rig, first);
  expect(request.status).toBe('PENDING');
  rig.proxy.hold(action);
  await clickApprove(rig, first, request.id);
  await eventually(
    `${action} to reach the proxy`,
    async () => rig.proxy.held(action) >= 1,
    10_000,
    () => `first bot:\n${first.logTail}`,
  );
  return { first, request };
}

/** Waits until the request is in `status` (and `also` holds of it); returns it. */
export async function untilStatus(
  rig: ProcessRig,
  bot: BotProcess,
  id: string,
  status: RequestStatus,
  also: (r: AccessRequest) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<AccessRequest> {
  return eventually(
    `request ${id} to be ${status}`,
    async () => {
      const current = await rig.store.get(id);
      return current?.status === status && also(current) ? current : undefined;
    },
    timeoutMs,
    () => `bot:\n${bot.logTail}`,
  );
}

/** Waits until `bot` has finished a sweep that started after this call. */
export async function aSweepAfterNow(bot: BotProcess, timeoutMs = 20_000): Promise<void> {
  const since = new Date().toISOString();
  await eventually(
    'a sweep after now',
    async () => {
      const health = await bot.healthz();
      return health.status === 200 && (health.body.lastSweep ?? '') > since;
    },
    timeoutMs,
    () => `bot:\n${bot.logTail}`,
  );
}

/**
 * Waits until the request is in `status` with every notice of it delivered, then for one more
 * sweep (so a repeat, if the bot were to send one, would have been sent); returns it.
 */
export async function settled(rig: ProcessRig, bot: BotProcess, id: string, status: RequestStatus): Promise<AccessRequest> {
  const done = await untilStatus(rig, bot, id, status, (r) => r.noticeDue === undefined);
  await aSweepAfterNow(bot);
  return done;
}

function documents(rig: ProcessRig): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(rig.dynamo);
}

/** An operator's emergency edit of a grant's expiry (PRODUCT §2: the sweeper obeys the table). */
export async function setExpiry(rig: ProcessRig, id: string, expiresAt: string): Promise<void> {
  await documents(rig).send(
    new UpdateCommand({
      TableName: rig.table,
      Key: requestKey(id),
      UpdateExpression: 'SET expiresAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': expiresAt },
    }),
  );
}

/** Records the table's first start, as the first bot on a new table would have at `at`. */
export async function setFirstStart(rig: ProcessRig, at: string): Promise<void> {
  await documents(rig).send(new PutCommand({ TableName: rig.table, Item: { ...installKey(), firstStartedAt: at } }));
}
