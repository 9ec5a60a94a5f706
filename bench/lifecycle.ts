/**
 * Full lifecycles, end to end through the bot over HTTP: an employee's signed
 * `/request-billing <level> 7d …`, the confirmation (the request is stored and posted to the
 * admins), an admin's signed Approve click, and the requester told the grant is active (the bot
 * has added them to the group and stored ACTIVE). Bounded in count and time.
 */

import type { SlackStandIn as FakeSlack } from '../playground/slack-standin.js';
import { ACTION } from '../src/slack/ids.js';
import { buildBlockAction, buildCommand } from '../testkit/slack-payloads.js';
import { postToBot } from '../testkit/slack-signing.js';
import { ADMIN_CHANNEL, ADMINS, type Employee, GENERAL_CHANNEL, SIGNING_SECRET, TEAM } from './fixtures.js';
import { requestIdInReply, type SlackTracker } from './slack-tracker.js';

export interface LifecycleRun {
  completed: { userId: string; iamUserName: string; level: string; requestId: string; ms: number }[];
  failures: string[];
  /** From the first request sent to the last grant announced. */
  windowMs: number;
}

/** Polls `probe` every 5 ms until it gives a value; throws after `timeoutMs`. */
export async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function runLifecycles(options: {
  botUrl: string;
  slack: FakeSlack;
  tracker: SlackTracker;
  people: Employee[];
  levels: readonly string[];
  max: number;
  seconds: number;
  concurrency: number;
  /** Prefix of the response_url keys, distinct per run on the same Slack stand-in (default `lc`). */
  keyPrefix?: string;
}): Promise<LifecycleRun> {
  const { slack, tracker } = options;
  const pairs = options.levels.flatMap((level) => options.people.map((p) => ({ person: p, level })));
  const deadline = Date.now() + options.seconds * 1000;
  const completed: LifecycleRun['completed'] = [];
  const failures: string[] = [];
  let next = 0;
  let launched = 0;
  const started = performance.now();
  let lastDone = started;

  const one = async (person: Employee, level: string) => {
    const t0 = performance.now();
    const prefix = options.keyPrefix ?? 'lc';
    const key = `${prefix}:${person.userId}:${level}`;
    const command = buildCommand({
      user_id: person.userId,
      user_name: person.iamUserName,
      team_id: TEAM,
      channel_id: GENERAL_CHANNEL,
      text: `${level} 7d lifecycle check for the quarterly cost review`,
      response_url: slack.responseUrl(key),
    });
    const ack = await postToBot(options.botUrl, SIGNING_SECRET, command);
    if (ack.status !== 200) throw new Error(`command answered HTTP ${ack.status}`);
    const reply = await until(() => tracker.replies.get(key), 30_000, `the confirmation of ${key}`);
    const requestId = requestIdInReply(reply);
    if (!requestId) throw new Error(`not a confirmation: ${reply.slice(0, 200)}`);
    const click = buildBlockAction({
      userId: ADMINS[0],
      channelId: ADMIN_CHANNEL,
      actionId: ACTION.approve,
      value: requestId,
      responseUrl: slack.responseUrl(`${prefix}-click:${requestId}`),
    });
    const clicked = await postToBot(options.botUrl, SIGNING_SECRET, click);
    if (clicked.status !== 200) throw new Error(`approve answered HTTP ${clicked.status}`);
    await until(() => tracker.active.get(requestId) ?? (tracker.failed.has(requestId) ? -1 : undefined), 30_000, `the grant of ${requestId}`).then((v) => {
      if (v === -1) throw new Error(`grant ${requestId} FAILED`);
    });
    lastDone = performance.now();
    completed.push({ userId: person.userId, iamUserName: person.iamUserName, level, requestId, ms: lastDone - t0 });
  };

  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < pairs.length && launched < options.max && Date.now() < deadline) {
        const pair = pairs[next++] as { person: Employee; level: string };
        launched += 1;
        try {
          await one(pair.person, pair.level);
        } catch (err) {
          failures.push(`${pair.person.userId} ${pair.level}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }),
  );
  return { completed, failures, windowMs: lastDone - started };
}
