/**
 * Replicas (issue 14 point 4): two and three bots on one table under concurrent Approve and Deny
 * on the same requests, concurrent sweeps with expiries due, concurrent summary firings, and one
 * replica process killed at a random moment. What must hold, request by request: exactly one
 * decision (one PENDING → APPROVED|DENIED audit event), one IAM change per grant, one summary per
 * period, every requester told once. The order of the clicks, which replica gets each, and when
 * the kill comes are drawn from a seeded generator; the seed is printed (set RELIABILITY_SEED to
 * replay a run).
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningBot } from '../../src/bot-one-thread.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { ACTION, FIELD, VIEW } from '../../src/slack/ids.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { createUser, groupsOf } from '../../testkit/iam-fixtures.js';
import { buildBlockAction, buildCommand, buildViewSubmission } from '../../testkit/slack-payloads.js';
import { postToBot } from '../../testkit/slack-signing.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { BotProcess } from '../support/bot-process.js';
import type { FakeSlack, FakeUser } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, type Harness, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';
import { threadOf, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { eventually, ProcessRig } from '../support/process-rig.js';
import { scenario } from '../support/reliability.js';
import { activeGrant, messageContent, pendingRequest } from '../support/scenario-helpers.js';
import { spanOf, WEEKLY_TITLE, weeklySummaries } from '../support/summary-helpers.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? 20261202);
const { admin1, admin2, admin3 } = PEOPLE;

/** mulberry32: a small seeded generator, so a failing order can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Person {
  slackId: string;
  iamUser: string;
}

function people(prefix: string, count: number): Person[] {
  return Array.from({ length: count }, (_, i) => ({ slackId: `U0${prefix}${i + 1}`, iamUser: `${prefix.toLowerCase()}${i + 1}` }));
}

/** The Slack stand-in takes its users at start only; these scenarios need several distinct requesters. */
function addSlackUsers(slack: FakeSlack, list: Person[]): void {
  const users = (slack as unknown as { users: FakeUser[] }).users;
  for (const p of list) users.push({ id: p.slackId, name: p.iamUser, email: `${p.iamUser}@corp.com` });
}

/** One click or deny-modal submission, sent to a given replica's URL. */
function decisionBody(kind: 'approve' | 'deny', adminId: string, requestId: string): string {
  if (kind === 'approve') {
    return buildBlockAction({
      userId: adminId,
      channelId: ADMIN_CHANNEL,
      actionId: ACTION.approve,
      value: requestId,
      responseUrl: 'http://127.0.0.1:9/unused',
    });
  }
  return buildViewSubmission({
    userId: adminId,
    callbackId: VIEW.deny,
    privateMetadata: JSON.stringify({ requestId, channelId: ADMIN_CHANNEL }),
    values: { [FIELD.reason.block]: { [FIELD.reason.action]: { type: 'plain_text_input', value: 'not needed this quarter' } } },
  });
}

/** The decision events of a request: PENDING → APPROVED or DENIED. */
async function decisionsOf(store: DynamoRequestStore, id: string) {
  return (await store.auditEvents(id)).filter((e) => e.from === 'PENDING' && (e.to === 'APPROVED' || e.to === 'DENIED'));
}

/**
 * Per request: one decision event; ACTIVE and in the group when it was approved (with one
 * APPROVED → ACTIVE), DENIED and not in the group otherwise; the admin message names who decided.
 */
async function expectOneDecision(
  store: DynamoRequestStore,
  iam: Harness['iam'],
  request: AccessRequest,
  adminPost: string | undefined,
): Promise<'ACTIVE' | 'DENIED'> {
  const decisions = await decisionsOf(store, request.id);
  expect(decisions, `decisions of ${request.id}`).toHaveLength(1);
  const [decision] = decisions as [(typeof decisions)[number]];
  const after = await store.get(request.id);
  const groups = await groupsOf(iam, request.iamUserName);
  if (decision.to === 'APPROVED') {
    expect(after?.status).toBe('ACTIVE');
    expect((await store.auditEvents(request.id)).filter((e) => e.to === 'ACTIVE')).toHaveLength(1);
    expect(groups).toEqual(['BillingReadOnly']);
    expect(adminPost).toContain(`Approved by <@${decision.actor}>`);
    return 'ACTIVE';
  }
  expect(after?.status).toBe('DENIED');
  expect(groups).toEqual([]);
  expect(adminPost).toContain(`Denied by <@${decision.actor}>`);
  return 'DENIED';
}

describe('replicas in one process group on one table (dynalite)', () => {
  const { clock, start } = useClockedHarness();

  it.each([
    [2, 'two'],
    [3, 'three'],
  ])(
    '%i replicas, two Approves (and on half, a Deny) on every request at once: one decision each, one IAM add per grant, each requester told once',
    async (count, word) => {
      console.log(`replicas: seed ${SEED}`);
      const rng = seeded(SEED);
      const s = scenario({
        id: `replicas-${word}-concurrent-approve-deny`,
        area: 'Replicas',
        injected: `${count} replicas; 6 requests each get two Approves (3 of them a Deny too) at once, spread over the replicas in a seeded order (seed ${SEED})`,
      });
      const h = await start();
      const requesters = people('REQ', 6);
      addSlackUsers(h.slack, requesters);
      for (const p of requesters) await createUser(h.iam, { name: p.iamUser });
      const pending: AccessRequest[] = [];
      for (const p of requesters) pending.push(await pendingRequest(h, p.slackId, 'read-only 7d month-end close for October'));

      const replicas: RunningBot[] = [h.bot];
      while (replicas.length < count) replicas.push(await h.startReplica(clock));
      h.iamProxy.resetCounts();
      // Two Approves on every request; a Deny as well on every other one (a Deny, with no IAM
      // recheck, is quicker and would win every race it is in).
      const sends = shuffle(
        pending.flatMap((r, i) => [
          { kind: 'approve' as const, admin: admin1.id, request: r },
          { kind: 'approve' as const, admin: admin2.id, request: r },
          ...(i % 2 === 0 ? [{ kind: 'deny' as const, admin: admin3.id, request: r }] : []),
        ]),
        rng,
      ).map((d) => ({ ...d, replica: replicas[Math.floor(rng() * replicas.length)] as RunningBot }));
      const answers = await Promise.all(
        sends.map((d) => postToBot(`http://127.0.0.1:${d.replica.port}/slack/events`, SIGNING_SECRET, decisionBody(d.kind, d.admin, d.request.id))),
      );
      for (const a of answers) expect(a.status).toBe(200);
      for (let round = 0; round < 2; round++) await Promise.all(replicas.map((r) => r.deps.work.onIdle()));

      const outcomes: string[] = [];
      for (const [i, r] of pending.entries()) {
        const post = h.adminMessages().find((m) => m.ts === r.adminMessage?.ts);
        outcomes.push(await expectOneDecision(h.bot.deps.store, h.iam, r, post ? messageContent(post) : undefined));
        // The requester is told once: the grant or the denial.
        expect(h.dms((requesters[i] as Person).slackId)).toHaveLength(1);
      }
      // One IAM add per grant: the adds that reached IAM are exactly the ACTIVE grants.
      const granted = outcomes.filter((o) => o === 'ACTIVE').length;
      expect(granted).toBeGreaterThanOrEqual(3);
      expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(granted);
      console.log(`replicas: ${count} replicas, seed ${SEED}: ${granted} approved, ${outcomes.length - granted} denied`);

      s.held({
        times: sends.length,
        userSaw: 'the admin message names the one admin who decided; the others are told it was already decided; each requester one DM',
        finalState: `each request one decision: ${granted} ACTIVE and in BillingReadOnly (one AddUserToGroup each), ${outcomes.length - granted} DENIED and in no group`,
        lost: 'nothing',
      });
    },
    120_000,
  );

  it('three replicas sweep and fire the summary at once with every grant due: one expiry per grant, each holder out of the group and told once, one summary', async () => {
    const s = scenario({
      id: 'replicas-three-concurrent-sweeps-and-summary',
      area: 'Replicas',
      injected: '3 replicas each run the sweep and the weekly summary twice, all at once, with 6 grants past expiry and the week due',
    });
    const h = await start({ at: '2030-03-04T09:00:30.000Z' });
    // The table's first start: only firings after it count.
    expect(await h.bot.deps.summaries.runDue()).toBe(0);
    const holders = people('EXP', 6);
    addSlackUsers(h.slack, holders);
    for (const p of holders) await createUser(h.iam, { name: p.iamUser });
    const grants: AccessRequest[] = [];
    for (const p of holders) grants.push(await activeGrant(h, p.slackId, 'read-only 1d month-end close for October'));
    const replicas: RunningBot[] = [h.bot, await h.startReplica(clock), await h.startReplica(clock)];
    h.iamProxy.resetCounts();

    // A week on: every grant is past its expiry and the week's summary is due.
    clock.set('2030-03-11T09:00:30.000Z');
    // Each replica's scheduler tick: one sweep and one summary firing, all replicas at once. The
    // removals wait at the proxy until every replica's sweep has one under way, so they truly race.
    h.iamProxy.hold('RemoveUserFromGroup');
    const runs = replicas.flatMap((r) => [r.deps.sweeper.sweep(), r.deps.summaries.runDue()]);
    await eventually('each replica sweeping a due grant', async () => h.iamProxy.held('RemoveUserFromGroup') >= replicas.length, 20_000);
    h.iamProxy.release('RemoveUserFromGroup');
    const results = await Promise.all(runs);
    const sweeps = results.filter((x): x is Awaited<ReturnType<RunningBot['deps']['sweeper']['sweep']>> => typeof x === 'object');
    const posted = results.filter((x): x is number => typeof x === 'number');
    expect(sweeps.reduce((n, r) => n + r.errors, 0)).toBe(0);
    expect(posted.reduce((a, b) => a + b, 0)).toBe(1);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(weeklySummaries(h)[0]?.text.startsWith(WEEKLY_TITLE)).toBe(true);

    for (const [i, g] of grants.entries()) {
      const after = await h.bot.deps.store.get(g.id);
      expect(after?.status).toBe('EXPIRED');
      expect((await h.bot.deps.store.auditEvents(g.id)).filter((e) => e.to === 'EXPIRED')).toHaveLength(1);
      expect(await groupsOf(h.iam, g.iamUserName)).toEqual([]);
      const dms = h.dms((holders[i] as Person).slackId);
      expect(dms.filter((m) => /expired/.test(m.text))).toHaveLength(1);
      expect(threadOf(h, g).filter((m) => /expired/i.test(m.text))).toHaveLength(1);
    }
    // One IAM change per grant: each holder leaves the group once and is never put back. Racing
    // sweepers each send the removal before their conditional write (the table decides which one
    // ends the grant), so the calls number up to one per sweep; all but the first find the user
    // already out (IAM answers NoSuchEntity, nothing changes).
    const sweepRuns = sweeps.length;
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBeGreaterThanOrEqual(grants.length);
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBeLessThanOrEqual(grants.length * sweepRuns);
    expect(h.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    const removeCalls = h.iamProxy.forwarded('RemoveUserFromGroup');

    // Another round on every replica finds nothing left to do.
    const again = await Promise.all(replicas.flatMap((r) => [r.deps.sweeper.sweep(), r.deps.summaries.runDue()]));
    expect(again.filter((x): x is number => typeof x === 'number').reduce((a, b) => a + b, 0)).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(removeCalls);

    s.held({
      times: runs.length,
      userSaw: 'each holder one "expired" DM and one thread reply; the admins one weekly summary',
      finalState: `${grants.length} EXPIRED (one EXPIRED event each), out of the group and never put back (${removeCalls} RemoveUserFromGroup calls from ${sweepRuns} racing sweeps, the repeats finding the user already out); the period posted once`,
      lost: 'nothing',
    });
  }, 120_000);

  // Two firings of one replica in the same millisecond (its Cron firing and its sweep tick's
  // runDue, here on a held clock) must not both pass as the period's claimant.
  it('one replica whose two summary firings overlap in the same millisecond posts the period once', async () => {
    const h = await start({ at: '2030-03-04T09:00:30.000Z' });
    expect(await h.bot.deps.summaries.runDue()).toBe(0);
    clock.set('2030-03-11T09:00:30.000Z');
    const posted = await Promise.all([h.bot.deps.summaries.runDue(), h.bot.deps.summaries.runDue()]);
    expect(weeklySummaries(h).map(spanOf)).toEqual([{ from: '2030-03-04T09:00:00.000Z', to: '2030-03-11T09:00:00.000Z' }]);
    expect(posted.reduce((a, b) => a + b, 0)).toBe(1);
  }, 60_000);
});

describe('replica processes on one table, one killed at a random moment', () => {
  const TABLE = 'billing-access-replicas';
  let rig: ProcessRig;
  let dynalite: EmbeddedDynamo;
  let dynamo: DynamoDBClient;
  let store: DynamoRequestStore;
  const bots: BotProcess[] = [];

  beforeEach(async () => {
    rig = await ProcessRig.start(workerAwsEndpoint(), TABLE);
    // The replicas share dynalite: moto's conditional writes are not atomic under concurrent requests.
    dynalite = await startEmbeddedDynamo(null);
    dynamo = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, TABLE);
    store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), TABLE);
  });

  afterEach(async () => {
    for (const bot of bots.splice(0)) await bot.kill();
    await BotProcess.killAll();
    dynamo?.destroy();
    await dynalite?.close();
    await rig?.stop();
  });

  afterAll(async () => {
    await BotProcess.killAll();
  });

  it('three replica processes under concurrent Approve/Deny, one SIGKILLed at a seeded moment and restarted: one decision per request, the grant made, each requester told', async () => {
    const rng = seeded(SEED + 1);
    const requesters = people('PROC', 5);
    addSlackUsers(rig.slack, requesters);
    for (const p of requesters) await createUser(rig.iam, { name: p.iamUser });
    const envOf = async () => rig.botEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, SWEEP_INTERVAL_SECONDS: '5', LOG_LEVEL: 'warn' });
    const started = await Promise.all([0, 1, 2].map(async () => BotProcess.start(await envOf(), { readyTimeoutMs: 60_000 })));
    bots.push(...started);
    const logs = () => bots.map((b, i) => `bot ${i}:\n${b.logTail}`).join('\n');

    // The requests, each sent to a replica of the generator's choice.
    const pending: AccessRequest[] = [];
    for (const p of requesters) {
      const bot = started[Math.floor(rng() * started.length)] as BotProcess;
      const res = await postToBot(
        bot.url(),
        SIGNING_SECRET,
        buildCommand({ user_id: p.slackId, team_id: TEAM, text: 'read-only 7d month-end close for October', response_url: rig.slack.responseUrl(p.slackId) }),
      );
      expect(res.status).toBe(200);
      pending.push(
        await eventually('the request with its admin message', async () => (await store.listByRequester(p.slackId)).find((r) => r.adminMessage), 20_000, logs),
      );
    }

    const decisions = shuffle(
      pending.flatMap((r, i) => [
        { kind: 'approve' as const, admin: admin1.id, request: r },
        { kind: 'approve' as const, admin: admin2.id, request: r },
        ...(i % 2 === 0 ? [{ kind: 'deny' as const, admin: admin3.id, request: r }] : []),
      ]),
      rng,
    );
    const killAt = 1 + Math.floor(rng() * (decisions.length - 2));
    const victimIndex = Math.floor(rng() * started.length);
    console.log(`replicas: seed ${SEED + 1}: SIGKILL replica ${victimIndex} after ${killAt} of ${decisions.length} decisions`);
    const s = scenario({
      id: 'replicas-process-killed-at-random',
      area: 'Replicas',
      injected: `3 bot processes; 5 requests each get two Approves (3 of them a Deny too) in a seeded order; one process SIGKILLed after a seeded number of them, then restarted (seed ${SEED + 1})`,
    });

    // Sent in flight together, a few at a time; the kill comes between two batches without waiting for their work.
    const live = () => started.filter((b) => b.alive);
    const inFlight: Promise<unknown>[] = [];
    for (const [i, d] of decisions.entries()) {
      if (i === killAt) await (started[victimIndex] as BotProcess).kill('SIGKILL');
      const targets = live();
      const bot = targets[Math.floor(rng() * targets.length)] as BotProcess;
      inFlight.push(postToBot(bot.url(), SIGNING_SECRET, decisionBody(d.kind, d.admin, d.request.id)).catch(() => undefined));
    }
    await Promise.all(inFlight);
    const restarted = await BotProcess.start(await envOf(), { readyTimeoutMs: 60_000 });
    bots.push(restarted);

    // Clicks the killed process took but never wrote are lost with it, as in Slack the message
    // still shows its buttons: an admin clicks again, on the restarted replica.
    const settledStatus = new Set(['ACTIVE', 'DENIED']);
    const clickedAgain = new Set<string>();
    await eventually(
      'every request decided and finished',
      async () => {
        for (const r of pending) {
          const current = await store.get(r.id);
          if (current?.status === 'PENDING') {
            if (!clickedAgain.has(r.id)) await postToBot(restarted.url(), SIGNING_SECRET, decisionBody('approve', admin1.id, r.id));
            clickedAgain.add(r.id);
            return false;
          }
          if (!settledStatus.has(current?.status ?? '')) return false;
        }
        return true;
      },
      40_000,
      logs,
    );

    let granted = 0;
    for (const [i, r] of pending.entries()) {
      const post = await eventually(
        'the admin message updated',
        async () => {
          const m = rig.slack.messages(ADMIN_CHANNEL).find((m) => !m.ephemeralTo && !m.threadTs && m.ts === r.adminMessage?.ts);
          return m && /(Approved|Denied) by/.test(messageContent(m)) ? messageContent(m) : undefined;
        },
        20_000,
        logs,
      );
      const outcome = await expectOneDecision(store, rig.iam, r, post);
      if (outcome === 'ACTIVE') granted += 1;
      // Told at least once; a crash may repeat a notice, never lose it.
      const dms = await eventually(
        'the requester told',
        async () => {
          const sent = rig.slack.messages(`D${(requesters[i] as Person).slackId}`);
          return sent.length > 0 ? sent : undefined;
        },
        20_000,
        logs,
      );
      expect(dms.length).toBeLessThanOrEqual(2);
    }
    if (clickedAgain.size > 0) console.log(`replicas: clicked again after the restart: ${[...clickedAgain].join(', ')}`);
    // Every grant reached IAM; a kill between the add and the ACTIVE write may repeat an add (membership is idempotent).
    expect(rig.proxy.forwarded('AddUserToGroup')).toBeGreaterThanOrEqual(granted);

    s.held({
      times: decisions.length,
      userSaw: 'each admin message names the one admin who decided; each requester a DM (twice at worst after the kill)',
      finalState: `each request one decision: ${granted} ACTIVE and in BillingReadOnly, ${pending.length - granted} DENIED and in no group`,
      lost: clickedAgain.size > 0 ? `${clickedAgain.size} click(s) the killed process took but never wrote (the buttons stayed; clicked again)` : 'nothing',
    });
  }, 240_000);
});
