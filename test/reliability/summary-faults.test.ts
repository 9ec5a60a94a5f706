/**
 * Issue 14, point 1 (Slack), at the summary's thread: a summary too long for one message is
 * posted as a first message in the admin channel and continuation replies in its thread
 * (src/slack/summary-blocks.ts, src/slack-web/notifier.ts). Here the first continuation meets
 * each fault the Slack stand-in can answer with (playground/standin-faults.ts): HTTP 429
 * `ratelimited` with `Retry-After`, an HTTP 503, and an answer held past the client's timeout,
 * once (the client's retry gets it through) or until cleared.
 *
 * What must hold (PRODUCT §1 "Weekly summary": a period is never posted twice; §2 Delivery:
 * nothing lost, repeated at worst after a fault): the period is marked posted once its summary
 * went out whole, or once its first message went out and the admins were told in the channel
 * which parts are missing. A second first message is never posted for a continuation's fault;
 * only when the admins could not be told either is the period left unposted, and then posted
 * again whole once Slack answers (twice at worst).
 *
 * The bot under test is started beside the Harness with its Web API client at 1 retry and a
 * 500 ms timeout per attempt, as in slack-faults.test.ts; one Harness serves the file, and every
 * test gets an emptied table and Slack stand-in and a new bot.
 */

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../playground/slack-standin.js';
import { type RunningBot, startBot } from '../../src/bot-one-thread.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { ManualClock } from '../support/clock.js';
import type { RecordedCall, StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, Harness } from '../support/harness.js';
import { scenario } from '../support/reliability.js';
import { messageContent } from '../support/scenario-helpers.js';
import { wipe } from '../support/slack-fault-rig.js';
import { seedActiveGrants, spanOf, threadReplies, WEEKLY_TITLE, weeklySummaries } from '../support/summary-helpers.js';
import { HOURLY } from '../support/summary-schedules.js';

const T0 = '2030-03-04T09:00:30.000Z';
const FIRING = '2030-03-04T10:00:00.000Z';
const AFTER_FIRING = '2030-03-04T10:00:30.000Z';
/** Active grants seeded: each is two blocks, so the summary takes three messages (50 blocks each at most). */
const GRANTS = 60;
const CLIENT_RETRIES = 1;
const CLIENT_TIMEOUT_MS = 500;

interface FaultCase {
  /** For scenario ids: `summary-continuation-<name>`. */
  name: string;
  fault: Fault;
  /** Set: the fault answers this many calls; unset: every call until the test clears it. */
  times?: number;
  /** Words for the record's "injected". */
  words: string;
  /** The error the stand-in records for a faulted call. */
  error: string;
  /** What the admins' note says Slack answered. */
  told: string;
  /** A lasting fault: how many attempts the client makes at one continuation (a post is not sent again after a timeout). */
  attempts?: number;
}

const RATELIMITED: FaultCase = {
  name: 'ratelimited',
  fault: { kind: 'ratelimited', retryAfterSeconds: 1 },
  times: 1,
  words: 'HTTP 429 ratelimited with Retry-After: 1, once',
  error: 'ratelimited',
  told: 'ratelimited',
};

/** Faults the client's one retry gets through: the summary goes out whole. */
const ONCE: FaultCase[] = [
  RATELIMITED,
  { name: '5xx-once', fault: { kind: 'http', status: 503 }, times: 1, words: 'HTTP 503, once', error: 'http_503', told: 'HTTP 503' },
];

/** Faults that outlast the client's retries: the first message is out, the rest cannot follow. */
const LASTING: FaultCase[] = [
  {
    name: '5xx',
    fault: { kind: 'http', status: 503 },
    words: 'HTTP 503 on every attempt until cleared (the client retries once)',
    error: 'http_503',
    told: 'HTTP 503',
    attempts: 1 + CLIENT_RETRIES,
  },
  {
    name: 'timeout',
    fault: { kind: 'hang', ms: 3_000 },
    words: `answer held 3 s, past the client's ${CLIENT_TIMEOUT_MS} ms timeout, until cleared (a post whose answer timed out may have landed: it is not sent again)`,
    error: 'timeout',
    told: 'no answer',
    attempts: 1,
  },
];

/** The summary's thread replies. */
const isContinuation = (a: Record<string, unknown>) => a.channel === ADMIN_CHANNEL && a.thread_ts !== undefined;
/** The admins' note that a summary is incomplete. */
const isIncompleteNote = (a: Record<string, unknown>) =>
  a.channel === ADMIN_CHANNEL && a.thread_ts === undefined && String(a.text ?? '').includes('is incomplete');

// ---------------------------------------------------------------------------
// The bot under test, beside the Harness
// ---------------------------------------------------------------------------

/**
 * One Harness for the file, wiped before each test; a new bot under test per test, with a
 * short-fused Web API client, which has seen the schedule's 09:00 firing pass (the table's first
 * start) and has GRANTS active grants to review at the 10:00 firing.
 */
function useFaultBot() {
  const clock = new ManualClock(T0);
  let h: Harness | undefined;
  let bot: RunningBot | undefined;
  beforeAll(async () => {
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), clock, env: HOURLY });
  });
  afterEach(async () => {
    await bot?.stop();
    bot = undefined;
  });
  afterAll(async () => {
    await h?.stop();
    h = undefined;
  });
  return {
    clock,
    async start(): Promise<{ h: Harness; bot: RunningBot }> {
      if (!h) throw new Error('the harness did not start');
      await wipe(h);
      clock.set(T0);
      bot = await startBot({
        config: h.bot.deps.config,
        log: pino({ level: 'silent' }),
        aws: { region: 'us-east-1' },
        clock,
        slackRetries: CLIENT_RETRIES,
        slackTimeoutMs: CLIENT_TIMEOUT_MS,
        scheduleSweeps: false,
      });
      expect(await bot.deps.summaries.runDue()).toBe(0);
      await seedActiveGrants(h, GRANTS, T0);
      return { h, bot };
    },
  };
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

function continuationCalls(h: Harness): RecordedCall[] {
  return h.slack.calls('chat.postMessage').filter((c) => isContinuation(c.args));
}

/** The grant ids the summary's Keep / Revoke rows name, in the first message and its thread. */
function reviewedGrants(h: Harness, head: StoredMessage): string[] {
  return [head, ...threadReplies(h, head)].flatMap((m) =>
    (m.blocks ?? []).flatMap((b) => {
      const id = (b as { block_id?: string }).block_id;
      return id?.startsWith('review_') ? [id.slice('review_'.length)] : [];
    }),
  );
}

/** The whole summary is there: three messages, and every seeded grant once with its buttons. */
function expectWhole(h: Harness, head: StoredMessage | undefined, title = WEEKLY_TITLE): void {
  expect(head).toBeDefined();
  expect(spanOf(head).to).toBe(FIRING);
  const replies = threadReplies(h, head as StoredMessage);
  expect(replies.map((m) => m.text)).toEqual([`${title} (continued, part 2 of 3)`, `${title} (continued, part 3 of 3)`]);
  const grants = reviewedGrants(h, head as StoredMessage);
  expect(grants).toHaveLength(GRANTS);
  expect(new Set(grants).size).toBe(GRANTS);
}

function notes(h: Harness): StoredMessage[] {
  return h.adminMessages().filter((m) => isIncompleteNote({ channel: m.channel, text: m.text }));
}

async function periodPosted(h: Harness): Promise<boolean> {
  return (await h.bot.deps.store.getPeriod(FIRING))?.posted === true;
}

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

const { clock, start } = useFaultBot();

describe('Slack faults: the summary’s thread continuations (chat.postMessage in the thread)', () => {
  it.each(ONCE)('$name: the client’s retry gets the continuation through; the summary is posted whole, once', async (c) => {
    const s = scenario({ id: `summary-continuation-${c.name}`, area: 'Slack', injected: `the summary’s first thread continuation: ${c.words}` });
    const { h, bot } = await start();
    h.slack.setFault('chat.postMessage', c.fault, { times: 1, when: isContinuation });
    clock.set(AFTER_FIRING);

    expect(await bot.deps.summaries.runDue()).toBe(1);
    await h.slack.waitFor(() => continuationCalls(h).some((call) => !call.ok && call.error === c.error));
    const faulted = continuationCalls(h).filter((call) => !call.ok);
    expect(faulted).toHaveLength(1);
    if (c === RATELIMITED) {
      // Waited out: the retry came at least Retry-After after the refused call.
      const limited = continuationCalls(h).findIndex((call) => call.status === 429);
      const retry = continuationCalls(h)[limited + 1];
      expect(retry?.ok).toBe(true);
      expect((retry?.at ?? 0) - (continuationCalls(h)[limited] as RecordedCall).at).toBeGreaterThanOrEqual(1_000);
    }
    expect(weeklySummaries(h)).toHaveLength(1);
    expectWhole(h, weeklySummaries(h)[0]);
    expect(notes(h)).toHaveLength(0);
    expect(await periodPosted(h)).toBe(true);
    expect(await bot.deps.summaries.runDue()).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(1);
    s.held({
      times: faulted.length,
      userSaw: 'admins: the summary once, its thread whole (parts 2 and 3), a moment late',
      finalState: 'period marked posted; one first message, each continuation once',
      lost: 'nothing',
    });
  });

  it.each(LASTING)('$name: the first message is out, the admins are told which parts are missing, and no second summary is posted', async (c) => {
    const s = scenario({ id: `summary-continuation-${c.name}`, area: 'Slack', injected: `the summary’s thread continuations: ${c.words}` });
    const { h, bot } = await start();
    h.slack.setFault('chat.postMessage', c.fault, { when: isContinuation });
    clock.set(AFTER_FIRING);

    expect(await bot.deps.summaries.runDue()).toBe(1);
    const attempts = c.attempts ?? 1;
    await h.slack.waitFor(() => continuationCalls(h).filter((call) => !call.ok && call.error === c.error).length >= attempts);
    const faulted = continuationCalls(h).filter((call) => !call.ok);
    // Part 2's attempts, then nothing more into a thread Slack does not take.
    expect(faulted).toHaveLength(attempts);
    expect(faulted.every((call) => call.args.text === `${WEEKLY_TITLE} (continued, part 2 of 3)`)).toBe(true);
    const [head] = weeklySummaries(h);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(threadReplies(h, head as StoredMessage)).toHaveLength(0);
    const [note] = notes(h);
    expect(notes(h)).toHaveLength(1);
    expect(messageContent(note)).toContain('is incomplete: parts 2 to 3 of 3 could not be posted in its thread');
    expect(messageContent(note)).toContain(`(Slack: \`${c.told}\`)`);
    expect(messageContent(note)).toContain('`/request-billing summary` posts the access review again');
    expect(await periodPosted(h)).toBe(true);

    // Slack answers again: the period is done, nothing is posted a second time.
    h.slack.clearFaults();
    clock.advance(10 * 60_000);
    expect(await bot.deps.summaries.runDue()).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(notes(h)).toHaveLength(1);
    s.held({
      times: faulted.length,
      userSaw:
        'admins: the summary’s first message once, and a note in the channel: parts 2 to 3 could not be posted in its thread, with Slack’s answer and `/request-billing summary` to post the access review again',
      finalState: 'period marked posted; one first message, never a second',
      lost: 'nothing unsaid: the thread’s parts 2 and 3 are not posted, and the admins are told so',
    });
  });

  it('5xx at the continuations and at the note: the period stays unposted, and is posted again whole once Slack answers (twice at worst)', async () => {
    const s = scenario({
      id: 'summary-continuation-and-note-5xx',
      area: 'Slack',
      injected: 'the summary’s thread continuations and the admins’ note that it is incomplete: HTTP 503 on every attempt until cleared',
    });
    const { h, bot } = await start();
    h.slack.setFault('chat.postMessage', { kind: 'http', status: 503 }, { when: (a) => isContinuation(a) || isIncompleteNote(a) });
    clock.set(AFTER_FIRING);

    await expect(bot.deps.summaries.runDue()).rejects.toThrow();
    const faulted = h.slack.calls('chat.postMessage').filter((call) => !call.ok);
    expect(faulted).toHaveLength(2 * (1 + CLIENT_RETRIES));
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(notes(h)).toHaveLength(0);
    expect(await h.bot.deps.store.getPeriod(FIRING)).toMatchObject({ posted: false });

    // Slack answers again: the next run (a sweep later) posts the summary again, whole, and marks the period.
    h.slack.clearFaults();
    clock.advance(5 * 60_000);
    expect(await bot.deps.summaries.runDue()).toBe(1);
    expect(weeklySummaries(h)).toHaveLength(2);
    expectWhole(h, weeklySummaries(h)[1], `${WEEKLY_TITLE} (late)`);
    expect(await periodPosted(h)).toBe(true);
    expect(await bot.deps.summaries.runDue()).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(2);
    s.held({
      times: faulted.length,
      userSaw: 'admins: the summary’s first message alone, then, once Slack answered, the summary again whole (first message and thread)',
      finalState: 'period marked posted after the second post; two first messages, never a third',
      lost: 'nothing (the first message repeated once)',
    });
  });
});
