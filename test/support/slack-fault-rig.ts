/**
 * The rig of the Slack fault scenarios (test/reliability/slack-faults*.test.ts): the faults the
 * Slack stand-in answers with, the sites (which calls of a method a fault is armed for), and the
 * bot under test, started beside one Harness per file (same config, table, Slack stand-in, IAM
 * proxy and clock) with its Web API client at 1 retry and a 500 ms timeout per attempt, so a
 * fault that outlasts the retries costs well under two seconds; production keeps the same
 * mechanism with 3 retries and 10 s (src/bot.ts). Every test gets an emptied table, IAM groups,
 * Slack stand-in and a new bot.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Fault } from '../../playground/slack-standin.js';
import { type RunningBot, startBot } from '../../src/bot-one-thread.js';
import type { Config } from '../../src/config.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { createLogger } from '../../src/log.js';
import { ACTION } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { buildBlockAction, buildCommand } from '../../testkit/slack-payloads.js';
import { type BotResponse, postToBot } from '../../testkit/slack-signing.js';
import { workerAwsEndpoint } from './aws-endpoint.js';
import { ManualClock } from './clock.js';
import type { RecordedCall, StoredMessage } from './fake-slack.js';
import { ADMIN_CHANNEL, Harness, PEOPLE, SIGNING_SECRET, TEAM } from './harness.js';
import { LogCapture, messageContent } from './scenario-helpers.js';
import { TABLE } from './summary-helpers.js';
import { HOURLY } from './summary-schedules.js';

export const employee = PEOPLE.employee.id;
export const T0 = '2030-03-04T09:00:30.000Z';
/** Past the sweeper's grace for due notices and re-posts (min(60 s, SWEEP_INTERVAL_SECONDS)). */
export const PAST_GRACE_MS = 61_000;
export const HOUR_MS = 3_600_000;
export const REQUEST_TEXT = 'read-only 7d month-end close for October';
export const CLIENT_RETRIES = 1;
export const CLIENT_TIMEOUT_MS = 500;

export interface FaultCase {
  /** For scenario ids: `slack-<site>-<name>`. */
  name: string;
  fault: Fault;
  /** Set: the fault answers this many calls; unset: every call until the test clears it. */
  times?: number;
  /** Words for the record's "injected". */
  words: string;
  /** How many attempts the client makes at one call meeting this fault until cleared. */
  attempts: number;
}

export const RATELIMITED: FaultCase = {
  name: 'ratelimited',
  fault: { kind: 'ratelimited', retryAfterSeconds: 1 },
  times: 1,
  words: 'HTTP 429 ratelimited with Retry-After: 1, once',
  attempts: 1,
};

/** Faults that last until cleared: the live path fails, a later sweep (or the person, told at once) takes over. */
export const LASTING: FaultCase[] = [
  { name: 'channel-not-found', fault: { kind: 'error', error: 'channel_not_found' }, words: 'channel_not_found until cleared', attempts: 1 },
  { name: 'not-in-channel', fault: { kind: 'error', error: 'not_in_channel' }, words: 'not_in_channel until cleared', attempts: 1 },
  { name: 'invalid-auth', fault: { kind: 'error', error: 'invalid_auth' }, words: 'invalid_auth until cleared', attempts: 1 },
  {
    name: '5xx',
    fault: { kind: 'http', status: 503 },
    words: 'HTTP 503 on every attempt until cleared (the client retries once)',
    attempts: 1 + CLIENT_RETRIES,
  },
  {
    name: 'timeout',
    fault: { kind: 'hang', ms: 3_000 },
    words: `answer held 3 s, past the client's ${CLIENT_TIMEOUT_MS} ms timeout, on every attempt until cleared (a read or an update is retried once; a post is not sent again)`,
    attempts: 1 + CLIENT_RETRIES,
  },
];

export const ALL: FaultCase[] = [RATELIMITED, ...LASTING];

/** Which calls of a method a site is. */
export interface Site {
  method: string;
  when?: (args: Record<string, unknown>) => boolean;
}

/** A message the click was made on, as Slack sends it in the payload (Bolt hands it to the handler). */
export type ClickedMessage = Pick<StoredMessage, 'ts' | 'text' | 'blocks'>;

/** The real bot with a short-fused Web API client, on the Harness's table, Slack and IAM. */
export class FaultBot {
  private constructor(
    private readonly h: Harness,
    readonly bot: RunningBot,
    readonly logs: LogCapture,
  ) {}

  static async start(h: Harness, clock: ManualClock, config: Config = h.bot.deps.config): Promise<FaultBot> {
    const logs = new LogCapture();
    const bot = await startBot({
      config,
      log: createLogger('warn', logs),
      aws: { region: 'us-east-1' },
      clock,
      slackRetries: CLIENT_RETRIES,
      slackTimeoutMs: CLIENT_TIMEOUT_MS,
      scheduleSweeps: false,
    });
    return new FaultBot(h, bot, logs);
  }

  private get url(): string {
    return `http://127.0.0.1:${this.bot.port}/slack/events`;
  }

  async command(userId: string, text: string, channelId?: string): Promise<BotResponse & { key: string }> {
    const key = `cmd-${userId}-${Math.random()}`;
    const res = await postToBot(
      this.url,
      SIGNING_SECRET,
      buildCommand({ user_id: userId, text, team_id: TEAM, response_url: this.h.slack.responseUrl(key), ...(channelId ? { channel_id: channelId } : {}) }),
    );
    expect(res.status).toBe(200);
    return { ...res, key };
  }

  /** A click in the admin channel; on `message` (its ts, text and blocks in the payload) when given. */
  async click(userId: string, action: keyof typeof ACTION, requestId: string, message?: ClickedMessage): Promise<void> {
    let body = buildBlockAction({
      userId,
      channelId: ADMIN_CHANNEL,
      channelName: 'billing-admins',
      actionId: ACTION[action],
      value: requestId,
      responseUrl: this.h.slack.responseUrl(`click-${userId}`),
      ...(message ? { messageTs: message.ts, blockId: `review_${requestId}` } : {}),
    });
    if (message) {
      const payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as Record<string, unknown>;
      payload.message = { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks ?? [] };
      body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    }
    expect((await postToBot(this.url, SIGNING_SECRET, body)).status).toBe(200);
  }

  /** Waits until the post-ack work (and so every Slack call it made) is done. */
  async idle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await this.bot.deps.work.onIdle();
  }

  sweep() {
    return this.bot.deps.sweeper.sweep();
  }

  /** The log lines with this event name. */
  events(name: string): string[] {
    return this.logs.lines.filter((l) => l.includes(`"event":"${name}"`));
  }
}

/** Everything a test leaves behind, gone: the table's items, jane.doe's groups, the stand-in's log and faults, the proxy's counts. */
export async function wipe(h: Harness): Promise<void> {
  h.slack.reset();
  h.iamProxy.clearFailures();
  h.iamProxy.resetCounts();
  for (const group of await groupsOf(h.iam, 'jane.doe')) await h.iam.send(new RemoveUserFromGroupCommand({ GroupName: group, UserName: 'jane.doe' }));
  // The Harness points the SDK at its table's endpoint (AWS_ENDPOINT_URL_DYNAMODB).
  const raw = new DynamoDBClient({});
  const dynamo = DynamoDBDocumentClient.from(raw);
  try {
    for (let round = 0; round < 20; round++) {
      const page = await dynamo.send(new ScanCommand({ TableName: TABLE, ProjectionExpression: 'pk, sk' }));
      const keys = page.Items ?? [];
      if (keys.length === 0) return;
      for (let i = 0; i < keys.length; i += 25) {
        const batch = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        await dynamo.send(new BatchWriteCommand({ RequestItems: { [TABLE]: batch } }));
      }
    }
    throw new Error('the table did not empty');
  } finally {
    raw.destroy();
  }
}

/** One Harness for the file, wiped before each test; a new bot under test per test (on `config(harness config)` when given). */
export function useFaultBot() {
  const clock = new ManualClock(T0);
  let h: Harness | undefined;
  let fb: FaultBot | undefined;
  beforeAll(async () => {
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), clock, env: HOURLY });
  });
  afterEach(async () => {
    await fb?.bot.stop();
    fb = undefined;
  });
  afterAll(async () => {
    await h?.stop();
    h = undefined;
  });
  return {
    clock,
    async start(options: { config?: (base: Config, h: Harness) => Config | Promise<Config> } = {}): Promise<{ h: Harness; fb: FaultBot }> {
      if (!h) throw new Error('the harness did not start');
      await wipe(h);
      clock.set(T0);
      const base = h.bot.deps.config;
      fb = await FaultBot.start(h, clock, options.config ? await options.config(base, h) : base);
      return { h, fb };
    },
  };
}

/** The next sweep past the grace re-delivers the request's due notices, once and without error; the request as it is stored after. */
export async function redeliveredBySweep(h: Harness, fb: FaultBot, clock: ManualClock, id: string, status: AccessRequest['status']): Promise<AccessRequest> {
  clock.advance(PAST_GRACE_MS);
  const report = await fb.sweep();
  expect(report.redelivered).toBe(1);
  expect(report.errors).toBe(0);
  const after = await stored(h, id);
  expect(after.status).toBe(status);
  expect(after.noticeDue).toBeUndefined();
  return after;
}

export function callsAt(h: Harness, site: Site): RecordedCall[] {
  return h.slack.calls(site.method).filter((c) => site.when?.(c.args) ?? true);
}

export function arm(h: Harness, site: Site, c: FaultCase): void {
  h.slack.setFault(site.method, c.fault, { ...(c.times ? { times: c.times } : {}), ...(site.when ? { when: site.when } : {}) });
}

/** The calls at the site the fault answered. */
export function faulted(h: Harness, site: Site, c: FaultCase): RecordedCall[] {
  const error = c.fault.kind === 'error' ? c.fault.error : c.fault.kind === 'ratelimited' ? 'ratelimited' : c.fault.kind === 'http' ? 'http_503' : 'timeout';
  return callsAt(h, site).filter((call) => !call.ok && call.error === error);
}

/**
 * The 429 was waited out: the next call at the site came at least Retry-After after it (by the
 * stand-in's own arrival times) and went through. Returns how many 429s were answered.
 */
export function expectRateLimitHonoured(h: Harness, site: Site): number {
  const calls = callsAt(h, site);
  const limited = calls.findIndex((c) => c.status === 429);
  expect(limited, 'no 429 was answered at this call').toBeGreaterThanOrEqual(0);
  const refused = calls[limited] as RecordedCall;
  const retry = calls[limited + 1];
  expect(retry, 'the rate-limited call was never retried').toBeDefined();
  expect(retry?.ok).toBe(true);
  expect((retry?.at ?? 0) - refused.at).toBeGreaterThanOrEqual(1_000);
  return calls.filter((c) => c.status === 429).length;
}

/**
 * The lasting fault met the site on every attempt of one call, then the client gave up. (A call
 * the client abandoned is recorded when the stand-in sees the connection close, a moment after
 * the client moved on: waited for.)
 */
export async function expectGaveUp(h: Harness, site: Site, c: FaultCase): Promise<number> {
  const attempts = attemptsAt(site, c);
  await h.slack.waitFor(() => faulted(h, site, c).length >= attempts);
  const hits = faulted(h, site, c);
  expect(hits).toHaveLength(attempts);
  return hits.length;
}

/** Methods that make a new message: a post whose answer timed out may have landed, so the client does not send it again. */
const POSTS = new Set(['chat.postMessage', 'chat.postEphemeral']);

/** How many attempts the client makes at the site's call meeting this fault until cleared. */
export function attemptsAt(site: Site, c: FaultCase): number {
  return c.name === 'timeout' && POSTS.has(site.method) ? 1 : c.attempts;
}

export async function stored(h: Harness, id: string): Promise<AccessRequest> {
  const request = await h.bot.deps.store.get(id);
  if (!request) throw new Error(`request ${id} is not in the table`);
  return request;
}

/** A request made through the bot under test, its admin message posted. */
export async function pending(h: Harness, fb: FaultBot): Promise<AccessRequest> {
  await fb.command(employee, REQUEST_TEXT);
  await fb.idle();
  const [request] = await h.requestsOf(employee);
  expect(request?.status).toBe('PENDING');
  expect(request?.adminMessage).toBeTruthy();
  return request as AccessRequest;
}

/** The pending request approved by `approver` (admin1 unless named) through the bot under test: ACTIVE, jane.doe in the group. */
export async function approved(h: Harness, fb: FaultBot, request: AccessRequest, approver: string = PEOPLE.admin1.id): Promise<AccessRequest> {
  await fb.click(approver, 'approve', request.id);
  await fb.idle();
  const active = await stored(h, request.id);
  expect(active.status).toBe('ACTIVE');
  expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
  return active;
}

export function dmsAbout(h: Harness, pattern: RegExp): number {
  return h.dms(employee).filter((m) => pattern.test(messageContent(m))).length;
}

export function injected(site: string, c: FaultCase): string {
  return `${site}: ${c.words}`;
}
