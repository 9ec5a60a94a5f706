/**
 * Overload (issue 14 point 3): a flood of commands and Approve clicks beyond what the bot can
 * work through. The bot acks first and does the work in a bounded queue; here the queue is made
 * small (the bot's own options with fewer slots) and IAM is held at the proxy, so work piles up
 * deterministically. Every ack must come back within Slack's 3 s; a command past the queue's
 * limit is refused at once with the busy message and nothing is stored for it; admin clicks
 * have a lane of their own (PRODUCT §6) and are never refused for the commands' flood; once IAM
 * answers again, every accepted request reaches its final state, checked one by one.
 */
import { describe, expect, it } from 'vitest';
import { BUSY_MESSAGE, BUSY_PREFIX } from '../../handlers/reply.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { WORK_QUEUE_OPTIONS } from '../../src/post-ack/queue-options.js';
import { WorkQueue } from '../../src/work-queue.js';
import { createUser, groupsOf } from '../../testkit/iam-fixtures.js';
import type { FakeUser } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, type Harness, PEOPLE } from '../support/harness.js';
import { eventually } from '../support/process-rig.js';
import { scenario } from '../support/reliability.js';
import { messageContent, pendingRequest, useHarness } from '../support/scenario-helpers.js';

/** Slack's deadline for an acknowledgement: a bound of the protocol, not a benchmark. */
const SLACK_ACK_DEADLINE_MS = 3000;
const FLOOD = 200;
const PENDING_BEFORE = 8;
/** The small queue of this test: the bot's own options, fewer running slots and waiting places. */
const SMALL_QUEUE = { ...WORK_QUEUE_OPTIONS, concurrency: 2, maxWaiting: 20 };
/** Requests in flight at once from the test's client (it shares the event loop with the bot). */
const CLIENT_PARALLEL = 10;

interface Person {
  slackId: string;
  iamUser: string;
}

function people(prefix: string, count: number): Person[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(3, '0');
    return { slackId: `U0${prefix}${n}`, iamUser: `${prefix.toLowerCase()}${n}` };
  });
}

/**
 * Adds workspace members to the running Slack stand-in. It takes its users at start only and
 * the harness starts it with the fixed cast; the flood needs hundreds of distinct employees.
 */
function addSlackUsers(h: Harness, list: Person[]): void {
  const users = (h.slack as unknown as { users: FakeUser[] }).users;
  for (const p of list) users.push({ id: p.slackId, name: p.iamUser, email: `${p.iamUser}@corp.com` });
}

async function createIamUsers(h: Harness, list: Person[]): Promise<void> {
  for (let i = 0; i < list.length; i += 10) {
    await Promise.all(list.slice(i, i + 10).map((p) => createUser(h.iam, { name: p.iamUser, mfa: false })));
  }
}

/** Runs `tasks` with at most `parallel` at once, in order of start. */
async function bounded<T>(tasks: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

describe('overload: a flood of commands and clicks past the queue', () => {
  const harness = useHarness({ env: { REQUIRE_MFA: 'warn' } });

  // Setting up 208 IAM users and draining through a held-then-released IAM takes a while on a shared machine.
  it('acks everything within 3 s, refuses past the limit with nothing stored, and finishes every accepted request', { timeout: 120_000 }, async () => {
    const s = scenario({
      id: 'overload-flood-commands-and-clicks',
      area: 'Overload',
      injected: `${FLOOD} /request-billing commands from distinct employees and ${PENDING_BEFORE} Approve clicks while IAM GetLoginProfile (the request's read of the IAM user) is held; queue of 2 running + 20 waiting`,
    });
    const h = harness();
    const holders = people('HOLD', PENDING_BEFORE);
    const flood = people('FLOOD', FLOOD);
    addSlackUsers(h, [...holders, ...flood]);
    await createIamUsers(h, [...holders, ...flood]);

    // Requests that are pending before the flood: the admins approve them during it.
    const pending: AccessRequest[] = [];
    for (const p of holders) pending.push(await pendingRequest(h, p.slackId, 'read-only 7d month-end close for October'));

    // The bot reads `deps.work` at each request: swap in a small queue built from the bot's own options.
    h.bot.deps.work = new WorkQueue(SMALL_QUEUE, () => undefined);
    h.iamProxy.hold('GetLoginProfile');

    const sends: (() => Promise<{ ms: number; status: number; text: string; key?: string }>)[] = [];
    const timed = async <T extends { status: number }>(send: () => Promise<T>) => {
      const t0 = performance.now();
      const res = await send();
      return { ...res, ms: performance.now() - t0 };
    };
    flood.forEach((p, i) => {
      sends.push(() => timed(() => h.command(p.slackId, 'read-only 7d quarterly cost review', { key: `flood-${p.slackId}` })));
      // The clicks come in the middle of the flood, when the commands' waiting places are full.
      if (i === FLOOD / 2) for (const r of pending) sends.push(() => timed(() => h.click(PEOPLE.admin1.id, 'approve', r.id)));
    });
    const answers = await bounded(sends, CLIENT_PARALLEL);

    // Every request was acknowledged, each within Slack's deadline.
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.ms).toBeLessThan(SLACK_ACK_DEADLINE_MS);
    }

    // Refused at once, in the ack: while IAM is still held (nothing has been worked off), every
    // command is either refused with the busy message or sitting in the queue. The clicks were all taken.
    const work = h.bot.deps.work;
    const ackText = new Map(answers.filter((a) => a.key).map((a) => [a.key as string, a.text]));
    const busy = () => flood.filter((p) => ackText.get(`flood-${p.slackId}`)?.includes(BUSY_MESSAGE));
    await eventually(
      'every command refused or queued while IAM is held',
      async () => busy().length + work.waiting + work.running === FLOOD + PENDING_BEFORE,
      10_000,
    );
    expect(h.iamProxy.held('GetLoginProfile')).toBeGreaterThan(0);
    const refused = new Set(busy().map((p) => p.slackId));
    expect(refused.size).toBeGreaterThan(0);
    expect(refused.size).toBeLessThan(FLOOD);
    expect(h.ephemeralsFor(PEOPLE.admin1.id).filter((m) => m.text.startsWith(BUSY_PREFIX))).toEqual([]);

    // The flood stops; IAM answers again; the bot works off what it took.
    h.iamProxy.release('GetLoginProfile');
    await h.idle();

    const adminPosts = h.adminMessages();
    let accepted = 0;
    for (const p of flood) {
      const replies = h.replies(`flood-${p.slackId}`);
      const requests = await h.requestsOf(p.slackId);
      const posts = adminPosts.filter((m) => messageContent(m).includes(`<@${p.slackId}>`));
      if (refused.has(p.slackId)) {
        // Nothing stored, nothing posted, nothing changed in IAM: only the busy message, in the ack.
        expect(replies).toEqual([]);
        expect(requests).toEqual([]);
        expect(posts).toEqual([]);
      } else {
        accepted += 1;
        expect(requests).toHaveLength(1);
        const [request] = requests as [AccessRequest];
        expect(request.status).toBe('PENDING');
        expect(request.adminMessage?.channel).toBe(ADMIN_CHANNEL);
        expect(posts.map((m) => m.ts)).toEqual([request.adminMessage?.ts]);
        expect(ackText.get(`flood-${p.slackId}`)).toBe('');
        expect(replies).toHaveLength(1);
        expect(replies[0]).toContain(request.id);
      }
      expect(await groupsOf(h.iam, p.iamUser)).toEqual([]);
    }
    for (const r of pending) {
      const after = await h.bot.deps.store.get(r.id);
      expect(after?.status).toBe('ACTIVE');
      expect(after?.approverIds).toEqual([PEOPLE.admin1.id]);
      expect(await groupsOf(h.iam, r.iamUserName)).toEqual(['BillingReadOnly']);
    }
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(PENDING_BEFORE);

    s.held({
      times: FLOOD + PENDING_BEFORE,
      userSaw: `every ack under 3 s; ${refused.size} employees: "${BUSY_MESSAGE}" in the ack; the other ${accepted}: their request id; admins: no click refused`,
      finalState: `each accepted command PENDING with one admin message; each refused one: nothing stored; ${PENDING_BEFORE} approved: ACTIVE, in BillingReadOnly`,
      lost: 'nothing (refused commands were told to try again)',
    });
  });
});

describe('the work queue under a flood: admin decisions have their own lane', () => {
  const adminJob = (label: string) => label.startsWith('action.');

  it('takes admin jobs when the commands lane is full, and starts them before waiting commands', async () => {
    const queue = new WorkQueue({ concurrency: 1, maxWaiting: 3, isAdminJob: adminJob }, () => undefined);
    const started: string[] = [];
    let unblock: () => void = () => {};
    const blocker = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const job = (label: string, wait?: Promise<void>) =>
      queue.tryRun(label, async () => {
        started.push(label);
        await wait;
      });
    expect(job('command.first', blocker)).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(['command.a', 'command.b', 'command.c', 'command.d'].map((l) => job(l))).toEqual([true, true, true, false]);
    expect(['action.approve', 'action.deny', 'action.keep', 'action.revoke'].map((l) => job(l))).toEqual([true, true, true, false]);
    unblock();
    await queue.onIdle();
    expect(started).toEqual(['command.first', 'action.approve', 'action.deny', 'action.keep', 'command.a', 'command.b', 'command.c']);
  });
});
