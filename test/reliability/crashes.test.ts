/**
 * Issue 14, point 2: the bot is SIGKILLed at each step of an approval, of an expiry and of a
 * summary post, then started again. Each step is pinned by holding the one outside call that
 * comes next (at the IAM proxy, the DynamoDB proxy or the Slack gate) and killing the bot while
 * it waits; the held call is then dropped (it never arrived) or sent on (it arrived just as the
 * process died). After the restart the request must reach its right final state within a sweep
 * or two, with one grant in IAM, no holder left past expiry, and each person told once (twice at
 * worst after a crash, never zero), counted request by request in the Slack stand-in.
 */

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { BotProcess } from '../support/bot-process.js';
import {
  adminPosts,
  adminUpdates,
  approveUntilHeld,
  aSweepAfterNow,
  BotFleet,
  clickApprove,
  EMPLOYEE,
  employeeDms,
  requestAccess,
  setExpiry,
  setFirstStart,
  settled,
  threadReplies,
  untilStatus,
} from '../support/crash-points.js';
import type { StoredMessage } from '../support/fake-slack.js';
import { PEOPLE } from '../support/harness.js';
import { eventually, ProcessRig, type ProcessRigOptions, type SlackCall } from '../support/process-rig.js';
import { scenario } from '../support/reliability.js';
import { spanOf, WEEKLY_TITLE } from '../support/summary-helpers.js';
import { EVERY_MINUTE } from '../support/summary-schedules.js';

const TABLE = 'billing-access-crashes';
const USER = 'jane.doe';
const GROUP = 'BillingReadOnly';
const { admin1 } = PEOPLE;
/** The shortest sweep the bot accepts: a restarted bot sweeps 2 s after start, then every 5 s. */
const FAST_SWEEPS = { SWEEP_INTERVAL_SECONDS: '5' };

let rig: ProcessRig | undefined;
const fleet = new BotFleet();

async function startRig(options: ProcessRigOptions = {}): Promise<ProcessRig> {
  rig = await ProcessRig.start(workerAwsEndpoint(), TABLE, options);
  return rig;
}

afterEach(async () => {
  await fleet.stopAll();
  await rig?.stop();
  rig = undefined;
});

afterAll(async () => {
  await BotProcess.killAll();
});

/** The requester's DMs saying the grant is active. */
function activeDms(r: ProcessRig): StoredMessage[] {
  return employeeDms(r).filter((m) => /approved by/.test(m.text) && m.text.includes('active until'));
}

/**
 * The grant finished right after a crash: ACTIVE once (one APPROVED → ACTIVE event, by the
 * restarted bot's sweeper unless said otherwise), the user in the group, and the requester and
 * the admin message told `told` times (1, or 2 when the killed bot's notice got out too).
 */
async function expectGrantedOnce(r: ProcessRig, request: AccessRequest, told: { dms: number; updates: number }, finisher = 'system'): Promise<void> {
  const events = await r.store.auditEvents(request.id);
  expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
  expect(events.find((e) => e.to === 'APPROVED')?.actor).toBe(admin1.id);
  expect(events.find((e) => e.to === 'ACTIVE')?.actor).toBe(finisher);
  expect(await groupsOf(r.iam, USER)).toContain(GROUP);
  expect(activeDms(r)).toHaveLength(told.dms);
  expect(employeeDms(r)).toHaveLength(told.dms);
  expect(adminUpdates(r, request)).toBe(told.updates);
  expect(adminPosts(r)).toHaveLength(1);
  expect(adminPosts(r)[0]?.text).toContain(`Approved by <@${admin1.id}>`);
  expect(JSON.stringify(adminPosts(r)[0]?.blocks)).not.toContain('"Approve"');
}

describe('SIGKILL at each step of an approval', () => {
  it('right after the PENDING → APPROVED write (the grant’s group check held, then cut off): the restarted sweeper grants once', async () => {
    const s = scenario({
      id: 'crash-after-approved-write',
      area: 'Crash',
      injected: 'SIGKILL right after the APPROVED write, the grant’s first IAM call (group policy check) held and cut off',
    });
    const r = await startRig();
    const env = await r.botEnv(FAST_SWEEPS);
    // The grant's first IAM call after the APPROVED write: nothing of the grant has started.
    const { first, request } = await approveUntilHeld(r, fleet, env, 'ListAttachedGroupPolicies');
    expect((await r.store.get(request.id))?.status).toBe('APPROVED');
    expect(r.proxy.count('AddUserToGroup')).toBe(0);

    await fleet.kill(first);
    r.proxy.drop('ListAttachedGroupPolicies');
    expect((await r.store.get(request.id))?.status).toBe('APPROVED');
    expect(await groupsOf(r.iam, USER)).not.toContain(GROUP);
    expect(employeeDms(r)).toHaveLength(0);

    const second = await fleet.start(env);
    await settled(r, second, request.id, 'ACTIVE');
    expect(r.proxy.count('AddUserToGroup')).toBe(1);
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(1);
    await expectGrantedOnce(r, request, { dms: 1, updates: 1 });
    s.held({
      times: 1,
      userSaw: 'requester: one "approved … active until" DM; admin: the request message updated once to Approved',
      finalState: 'ACTIVE, in the group, one AddUserToGroup, finished by the restarted sweeper',
      lost: 'nothing',
    });
  }, 90_000);

  it('after AddUserToGroup reached IAM, before the ACTIVE write (that DynamoDB write held, then cut off): the restarted sweeper’s add is idempotent, ACTIVE once', async () => {
    const s = scenario({
      id: 'crash-after-add-reached-iam',
      area: 'Crash',
      injected: 'SIGKILL after AddUserToGroup answered, the ACTIVE UpdateItem held at DynamoDB and cut off',
    });
    const r = await startRig({ dynamoProxy: true });
    const dynamo = r.dynamoProxy as NonNullable<ProcessRig['dynamoProxy']>;
    const env = await r.botEnv(FAST_SWEEPS);
    const { first, request } = await approveUntilHeld(r, fleet, env, 'AddUserToGroup');
    expect((await r.store.get(request.id))?.status).toBe('APPROVED');

    // From the APPROVED write on, the next request write is the grant's ACTIVE write.
    dynamo.hold('UpdateItem');
    r.proxy.release('AddUserToGroup');
    await eventually(
      'the ACTIVE write to reach the DynamoDB proxy',
      async () => dynamo.held('UpdateItem') >= 1,
      10_000,
      () => first.logTail,
    );
    await fleet.kill(first);
    dynamo.drop('UpdateItem');
    // One add, or two if the killed bot's own sweeper had started on the request too.
    const addsAtKill = r.proxy.forwarded('AddUserToGroup');
    expect(addsAtKill).toBeGreaterThanOrEqual(1);
    // IAM holds the membership; the table still says APPROVED.
    expect(await groupsOf(r.iam, USER)).toContain(GROUP);
    expect((await r.store.get(request.id))?.status).toBe('APPROVED');
    expect(employeeDms(r)).toHaveLength(0);

    const second = await fleet.start(env);
    await settled(r, second, request.id, 'ACTIVE');
    // The restarted bot adds again (IAM membership is idempotent) and writes ACTIVE once.
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(addsAtKill + 1);
    await expectGrantedOnce(r, request, { dms: 1, updates: 1 });
    s.held({
      times: 1,
      userSaw: 'requester: one "approved … active until" DM; admin: the request message updated once to Approved',
      finalState: 'ACTIVE once (one APPROVED → ACTIVE event), in the group; the second AddUserToGroup was a no-op',
      lost: 'nothing',
    });
  }, 90_000);

  it('before AddUserToGroup reached IAM (held, then cut off): the restarted sweeper adds the user itself, once', async () => {
    const s = scenario({
      id: 'crash-before-add-reached-iam',
      area: 'Crash',
      injected: 'SIGKILL while AddUserToGroup was held at the proxy, the call cut off (never reached IAM)',
    });
    const r = await startRig();
    const env = await r.botEnv(FAST_SWEEPS);
    const { first, request } = await approveUntilHeld(r, fleet, env, 'AddUserToGroup');
    await fleet.kill(first);
    r.proxy.drop('AddUserToGroup');
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(0);
    expect(await groupsOf(r.iam, USER)).not.toContain(GROUP);
    expect((await r.store.get(request.id))?.status).toBe('APPROVED');

    const second = await fleet.start(env);
    await settled(r, second, request.id, 'ACTIVE');
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(1);
    await expectGrantedOnce(r, request, { dms: 1, updates: 1 });
    s.held({
      times: 1,
      userSaw: 'requester: one "approved … active until" DM; admin: the request message updated once to Approved',
      finalState: 'ACTIVE, in the group, exactly one AddUserToGroup reached IAM',
      lost: 'nothing',
    });
  }, 90_000);

  /**
   * Approves with the admin-message update and the requester's DM hanging at the Slack gate;
   * returns once the ACTIVE write is in the table and both calls hang, the bot killed.
   */
  async function grantWithNoticesHanging(r: ProcessRig, env: Record<string, string>): Promise<AccessRequest> {
    const gate = r.slackGate as NonNullable<ProcessRig['slackGate']>;
    const first = await fleet.start(env);
    const request = await requestAccess(r, first);
    const ts = request.adminMessage?.ts;
    gate.hang((c: SlackCall) => (c.method === 'chat.update' && c.args.ts === ts) || (c.method === 'chat.postMessage' && c.args.channel === EMPLOYEE));
    await clickApprove(r, first, request.id);
    const active = await untilStatus(r, first, request.id, 'ACTIVE');
    await eventually(
      'the notices to hang at the Slack gate',
      async () => gate.hung().length >= 2,
      10_000,
      () => first.logTail,
    );
    await fleet.kill(first);
    expect(active.noticeDue).toBeDefined();
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(1);
    return active;
  }

  it('after the ACTIVE write, before the Slack update (both notices hanging, then cut off): the restarted sweeper tells each person once', async () => {
    const s = scenario({
      id: 'crash-after-active-write-before-slack',
      area: 'Crash',
      injected: 'SIGKILL after the ACTIVE write while chat.update and the requester DM hung, both cut off',
    });
    const r = await startRig({ slackGate: true });
    const env = await r.botEnv(FAST_SWEEPS);
    const request = await grantWithNoticesHanging(r, env);
    r.slackGate?.drop();
    expect(employeeDms(r)).toHaveLength(0);
    expect(adminUpdates(r, request)).toBe(0);

    const second = await fleet.start(env);
    await settled(r, second, request.id, 'ACTIVE');
    // Granted by the killed bot on the click; only the notices were left to the restarted one.
    expect(r.proxy.forwarded('AddUserToGroup')).toBe(1);
    await expectGrantedOnce(r, request, { dms: 1, updates: 1 }, admin1.id);
    s.held({
      times: 1,
      userSaw: 'requester: one "approved … active until" DM, sent by the restarted bot; admin: the request message updated once',
      finalState: 'ACTIVE, in the group, one AddUserToGroup; notices re-delivered by the sweeper',
      lost: 'nothing',
    });
  }, 90_000);

  it('after the ACTIVE write, with the Slack update reaching Slack as the bot died: each person told at most twice', async () => {
    const s = scenario({
      id: 'crash-during-slack-update',
      area: 'Crash',
      injected: 'SIGKILL after the ACTIVE write while chat.update and the requester DM hung, both then delivered',
    });
    const r = await startRig({ slackGate: true });
    const env = await r.botEnv(FAST_SWEEPS);
    const request = await grantWithNoticesHanging(r, env);
    r.slackGate?.release();
    await r.slack.waitFor(() => employeeDms(r).length === 1 && adminUpdates(r, request) === 1, 10_000);
    expect((await r.store.get(request.id))?.noticeDue).toBeDefined();

    const second = await fleet.start(env);
    await settled(r, second, request.id, 'ACTIVE');
    // The table could not know the killed bot's notices got out: the sweeper sends them again.
    await expectGrantedOnce(r, request, { dms: 2, updates: 2 }, admin1.id);
    s.held({
      times: 1,
      userSaw: 'requester: the "approved … active until" DM twice (before and after the crash); admin: the same Approved update twice',
      finalState: 'ACTIVE, in the group, one AddUserToGroup',
      lost: 'nothing (one repeated DM)',
    });
  }, 90_000);
});

describe('SIGKILL in the middle of an expiry', () => {
  /** A grant made without faults, then its expiry moved to now (an operator's edit) with RemoveUserFromGroup held: returns with the bot killed. */
  async function expiryHeldThenKilled(r: ProcessRig, env: Record<string, string>): Promise<AccessRequest> {
    const first = await fleet.start(env);
    const asked = await requestAccess(r, first);
    await clickApprove(r, first, asked.id);
    const grant = await untilStatus(r, first, asked.id, 'ACTIVE', (g) => g.noticeDue === undefined);
    r.proxy.hold('RemoveUserFromGroup');
    await setExpiry(r, grant.id, new Date(Date.now() - 1_000).toISOString());
    await eventually(
      'the expiry’s RemoveUserFromGroup to reach the proxy',
      async () => r.proxy.held('RemoveUserFromGroup') >= 1,
      15_000,
      () => first.logTail,
    );
    await fleet.kill(first);
    expect((await r.store.get(grant.id))?.status).toBe('ACTIVE');
    return grant;
  }

  async function expectExpiredOnce(r: ProcessRig, grant: AccessRequest): Promise<void> {
    expect(await groupsOf(r.iam, USER)).not.toContain(GROUP);
    const events = await r.store.auditEvents(grant.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE', 'EXPIRED']);
    expect(events.find((e) => e.to === 'EXPIRED')?.actor).toBe('system');
    expect(employeeDms(r).filter((m) => m.text.includes('has expired'))).toHaveLength(1);
    expect(threadReplies(r, grant).filter((m) => m.text.startsWith('Access expired'))).toHaveLength(1);
    // Approved, then expired: one update each.
    expect(adminUpdates(r, grant)).toBe(2);
  }

  it('RemoveUserFromGroup held, then cut off: the restarted sweeper removes the user and writes EXPIRED once', async () => {
    const s = scenario({ id: 'crash-mid-expiry', area: 'Crash', injected: 'SIGKILL while the expiry’s RemoveUserFromGroup was held, the call cut off' });
    const r = await startRig();
    const env = await r.botEnv(FAST_SWEEPS);
    const grant = await expiryHeldThenKilled(r, env);
    r.proxy.drop('RemoveUserFromGroup');
    expect(await groupsOf(r.iam, USER)).toContain(GROUP);

    const second = await fleet.start(env);
    await settled(r, second, grant.id, 'EXPIRED');
    expect(r.proxy.forwarded('RemoveUserFromGroup')).toBe(1);
    await expectExpiredOnce(r, grant);
    s.held({
      times: 1,
      userSaw: 'requester: one "has expired and was removed" DM; admin: one "Access expired" thread reply and the message updated',
      finalState: 'EXPIRED, not in the group',
      lost: 'nothing',
    });
  }, 90_000);

  it('RemoveUserFromGroup reached IAM as the bot died: the restarted sweeper finds the user out and writes EXPIRED once', async () => {
    const s = scenario({
      id: 'crash-mid-expiry-after-remove',
      area: 'Crash',
      injected: 'SIGKILL while the expiry’s RemoveUserFromGroup was held, the call then sent on to IAM',
    });
    const r = await startRig();
    const env = await r.botEnv(FAST_SWEEPS);
    const grant = await expiryHeldThenKilled(r, env);
    r.proxy.release('RemoveUserFromGroup');
    await eventually('the removal to reach IAM', async () => !(await groupsOf(r.iam, USER)).includes(GROUP), 10_000);
    expect((await r.store.get(grant.id))?.status).toBe('ACTIVE');

    const second = await fleet.start(env);
    await settled(r, second, grant.id, 'EXPIRED');
    await expectExpiredOnce(r, grant);
    s.held({
      times: 1,
      userSaw: 'requester: one "has expired and was removed" DM; admin: one "Access expired" thread reply and the message updated',
      finalState: 'EXPIRED, not in the group (the second removal found no member)',
      lost: 'nothing',
    });
  }, 90_000);
});

describe('SIGKILL in the middle of a summary post', () => {
  /** The admin channel's scheduled summaries (first messages) that cover the period ending at `firingAt`. */
  function summariesOf(r: ProcessRig, firingAt: string): StoredMessage[] {
    return adminPosts(r).filter((m) => m.text.startsWith(WEEKLY_TITLE) && spanOf(m).to === firingAt);
  }

  /** When Slack took each first message of the period's summaries (the stand-in's arrival times), in order. */
  function summaryArrivals(r: ProcessRig, firingAt: string): number[] {
    return r.slack
      .calls('chat.postMessage')
      .filter((c) => c.ok && c.args.thread_ts === undefined && String(c.args.text ?? '').startsWith(WEEKLY_TITLE))
      .filter((c) => spanOf({ blocks: c.args.blocks } as StoredMessage).to === firingAt)
      .map((c) => c.at);
  }

  /**
   * Every minute is a period; the table is made to look first started just before the latest
   * firing, so the bot's first sweep posts that period. Its chat.postMessage hangs at the Slack
   * gate (the bot renews its claim's lease meanwhile) and the bot is killed there. Returns the
   * period's firing time and the end of the killed bot's lease.
   */
  async function summaryHangingThenKilled(r: ProcessRig, env: Record<string, string>): Promise<{ firingAt: string; leaseUntil: string }> {
    const gate = r.slackGate as NonNullable<ProcessRig['slackGate']>;
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    await setFirstStart(r, new Date(minute - 1_000).toISOString());
    gate.hang((c: SlackCall) => c.method === 'chat.postMessage' && String(c.args.text ?? '').startsWith(WEEKLY_TITLE), { times: 1 });
    const first = await fleet.start(env);
    const [hung] = await eventually(
      'the summary post to hang at the Slack gate',
      async () => gate.hung().length === 1 && gate.hung(),
      15_000,
      () => first.logTail,
    );
    const firingAt = spanOf({ blocks: hung?.args.blocks } as StoredMessage).to;
    await fleet.kill(first);
    const claim = await r.store.getPeriod(firingAt);
    expect(claim?.posted).toBe(false);
    expect(claim?.leaseUntil).toBeDefined();
    return { firingAt, leaseUntil: claim?.leaseUntil as string };
  }

  /**
   * Nothing in the table is touched: the killed bot's lease (30 s, no longer renewed) runs out by
   * itself, and the first sweep the restarted bot starts after that posts the period. The summary
   * runs right after each sweep, so once the sweep after that one has finished, it has run.
   */
  async function firstSweepAfterTheLease(r: ProcessRig, bot: BotProcess, firingAt: string, leaseUntil: string): Promise<void> {
    await eventually(
      'the killed bot’s lease to run out',
      async () => Date.now() > Date.parse(leaseUntil),
      45_000,
      () => bot.logTail,
    );
    await aSweepAfterNow(bot);
    await aSweepAfterNow(bot);
    expect((await r.store.getPeriod(firingAt))?.posted).toBe(true);
  }

  it('the post cut off before it reached Slack: the restarted bot posts the period once, at its first sweep after the lease ran out', async () => {
    const s = scenario({
      id: 'crash-mid-summary-post',
      area: 'Crash',
      injected: 'SIGKILL while the summary’s chat.postMessage hung, the call cut off (never reached Slack)',
    });
    const r = await startRig({ slackGate: true });
    const env = await r.botEnv({ ...FAST_SWEEPS, ...EVERY_MINUTE });
    const { firingAt, leaseUntil } = await summaryHangingThenKilled(r, env);
    r.slackGate?.drop();
    expect(summariesOf(r, firingAt)).toHaveLength(0);

    const second = await fleet.start(env);
    await firstSweepAfterTheLease(r, second, firingAt, leaseUntil);
    expect(summariesOf(r, firingAt)).toHaveLength(1);
    // The killed bot's claim was left to it while its lease ran: the restarted bot posted only after.
    const arrivals = summaryArrivals(r, firingAt);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]).toBeGreaterThan(Date.parse(leaseUntil));
    s.held({
      times: 1,
      userSaw: 'admins: the period’s summary once, from the restarted bot’s first sweep after the killed bot’s 30-second claim lease ran out',
      finalState: 'period claimed, taken over once its lease lapsed, marked posted; one summary',
      lost: 'nothing (the summary comes at most 30 s plus one sweep late)',
    });
  }, 120_000);

  it('the post reached Slack as the bot died: the period is posted at most twice', async () => {
    const s = scenario({
      id: 'crash-after-summary-post',
      area: 'Crash',
      injected: 'SIGKILL while the summary’s chat.postMessage hung, the call then delivered (before the period was marked posted)',
    });
    const r = await startRig({ slackGate: true });
    const env = await r.botEnv({ ...FAST_SWEEPS, ...EVERY_MINUTE });
    const { firingAt, leaseUntil } = await summaryHangingThenKilled(r, env);
    r.slackGate?.release();
    await r.slack.waitFor(() => summariesOf(r, firingAt).length === 1, 10_000);

    // The table cannot know the post got out: once the lease runs out it is posted again, once.
    const second = await fleet.start(env);
    await firstSweepAfterTheLease(r, second, firingAt, leaseUntil);
    expect(summariesOf(r, firingAt)).toHaveLength(2);
    expect(summaryArrivals(r, firingAt)[1]).toBeGreaterThan(Date.parse(leaseUntil));
    await aSweepAfterNow(second);
    expect(summariesOf(r, firingAt)).toHaveLength(2);
    s.held({
      times: 1,
      userSaw: 'admins: the period’s summary twice (the killed bot’s post, and the restarted bot’s at its first sweep after the 30-second claim lease ran out)',
      finalState: 'period marked posted, two summaries, never a third',
      lost: 'nothing (one repeated summary)',
    });
  }, 120_000);
});
