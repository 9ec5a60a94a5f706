/**
 * DynamoDB faults at the HTTP level (issue 14, point 1): a second AWS proxy stands between the
 * bot and the table (moto's DynamoDB) and answers a chosen write with InternalServerError (500)
 * or a throttle (400) in DynamoDB's JSON error shape, on every attempt the SDK makes (or on one,
 * which its retries absorb). At each write of a new request, an approval, an expiry and a
 * summary period claim: the person gets a clear message, no admin message without a stored
 * request, no IAM change without a stored decision, nothing half-written that the sweeper
 * cannot see, and everything finishes once the fault clears.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { AwsProxy, type InjectedError } from '../../testkit/aws-proxy.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { ManualClock } from '../support/clock.js';
import { Harness } from '../support/harness.js';
import { admin1, admin2, adminMessageOf, at, DAY, employee, HOUR, MINUTE, T0, threadOf } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { activeGrant, buttonLabels, commandAnswers, messageContent, pendingRequest, stored } from '../support/scenario-helpers.js';
import { weeklySummaries } from '../support/summary-helpers.js';
import { EVERY_MINUTE } from '../support/summary-schedules.js';

const GROUP = 'BillingReadOnly';
const ASK = 'read-only 7d month-end close for October';
/** The bot's DynamoDB client makes up to 5 attempts (src/deps.ts openDynamo). */
const SDK_ATTEMPTS = 5;

/** The two kinds of fault at each write: a server error and a throttle, as DynamoDB answers them. */
const FAULTS: { slug: string; what: string; error: InjectedError }[] = [
  {
    slug: 'internal-error',
    what: 'InternalServerError (500)',
    error: { status: 500, code: 'InternalServerError', message: 'Internal server error' },
  },
  {
    slug: 'throttled',
    what: 'ProvisionedThroughputExceededException (400)',
    error: {
      status: 400,
      code: 'ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    },
  },
];
const throttlingOnce: InjectedError = { status: 400, code: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' };

// ---------------------------------------------------------------------------
// Which write a fault is armed for, read from the JSON request DynamoDB gets
// ---------------------------------------------------------------------------

type AttributeValue = { S?: string };
interface WriteBody {
  Item?: Record<string, AttributeValue>;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

const parse = (body: string): WriteBody => JSON.parse(body) as WriteBody;

/** The PutItem of a new request item (not its pending-slot lock, not its audit event). */
const requestItemPut = (body: string) => parse(body).Item?.entity?.S === 'request';

/** The PutItem of a pending slot's lock (one pending request per IAM user and level). */
const pendingSlotPut = (body: string) => parse(body).Item?.pk?.S?.startsWith('PENDING#') === true;

/** A weekly-summary period claim (PutItem of a `PERIOD#…` item). */
const periodClaim = (body: string) => parse(body).Item?.pk?.S?.startsWith('PERIOD#') === true;

/** The conditional UpdateItem that moves a request from `from` to `to`. */
function statusWrite(from: string, to: string): (body: string) => boolean {
  return (body) => {
    const { ExpressionAttributeNames: names = {}, ExpressionAttributeValues: values = {} } = parse(body);
    if (values[':expectedStatus']?.S !== from) return false;
    const slot = Object.entries(names).find(([key, field]) => field === 'status' && key.startsWith('#f'))?.[0];
    return slot !== undefined && values[`:v${slot.slice(2)}`]?.S === to;
  };
}

// ---------------------------------------------------------------------------
// The bot with its DynamoDB traffic through a proxy (the table on moto)
// ---------------------------------------------------------------------------

const clock = new ManualClock(T0);
let h: Harness | undefined;
let db: AwsProxy | undefined;

afterEach(async () => {
  await h?.stop();
  await db?.stop();
  h = undefined;
  db = undefined;
});

/** Starts the bot on moto's DynamoDB through `db`, a proxy that can fault any DynamoDB call. */
async function start(options: { at?: string; env?: Record<string, string> } = {}): Promise<{ h: Harness; db: AwsProxy }> {
  clock.set(options.at ?? T0);
  const endpoint = workerAwsEndpoint();
  db = await AwsProxy.start(endpoint);
  // The SDK reads it itself; the harness's table set-up and the bot both go through the proxy (Harness.stop clears it).
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.url;
  h = await Harness.start({ awsEndpoint: endpoint, store: 'moto', clock, env: options.env ?? {} });
  return { h, db };
}

const inGroup = async (bot: Harness) => (await groupsOf(bot.iam, 'jane.doe')).includes(GROUP);

/** The generic answer to an unexpected failure: nothing changed, try again, a reference to the log line. */
const GENERIC = /went wrong on our side and nothing was changed\. Reference `[0-9a-f]{8}`/;

/** Sends the command and waits until the bot has answered it (ack body or response_url). */
async function commandAndSettle(bot: Harness, text: string): Promise<string> {
  const res = await bot.command(employee, text);
  expect(res.status).toBe(200);
  await bot.slack.waitFor(() => commandAnswers(bot, res).length > 0, 15_000);
  await bot.idle();
  return commandAnswers(bot, res).join('\n');
}

describe('a DynamoDB fault at the write of a new request', () => {
  for (const fault of FAULTS) {
    it(`${fault.what} on every attempt: the person is told nothing was stored, no admin message; asking again works`, async () => {
      const s = scenario({
        id: `dynamodb-request-write-${fault.slug}`,
        area: 'DynamoDB',
        injected: `PutItem of the new request answers ${fault.what} ${SDK_ATTEMPTS} times (every attempt)`,
      });
      const { h, db } = await start();
      db.failNext('PutItem', fault.error, { times: SDK_ATTEMPTS, match: requestItemPut });

      const answer = await commandAndSettle(h, ASK);
      expect(db.failed('PutItem')).toBe(SDK_ATTEMPTS);
      expect(answer).toMatch(GENERIC);
      expect(answer).not.toContain(fault.error.code);
      expect(await h.requestsOf(employee)).toEqual([]);
      expect(h.adminMessages()).toHaveLength(0);
      expect(h.dms(employee)).toHaveLength(0);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
      // Nothing half-written: the pending slot taken before the write was given back, so asking again is not refused.
      const request = await h.requestByText(employee, ASK);
      expect(request.status).toBe('PENDING');
      expect(await h.requestsOf(employee)).toHaveLength(1);
      expect(h.adminMessages()).toHaveLength(1);
      s.held({
        times: SDK_ATTEMPTS,
        userSaw: 'requester: "Something went wrong on our side and nothing was changed" with a reference; admins: nothing',
        finalState: 'nothing stored; asking again stores one PENDING request and one admin message',
        lost: 'nothing (the request was refused, not dropped)',
      });
    });
  }

  it('ThrottlingException once: the SDK retry absorbs it; the request is stored and posted as usual', async () => {
    const s = scenario({
      id: 'dynamodb-request-write-single-throttle-absorbed',
      area: 'DynamoDB',
      injected: 'PutItem of the new request answers ThrottlingException (400) once',
    });
    const { h, db } = await start();
    db.failNext('PutItem', throttlingOnce, { match: requestItemPut });

    const answer = await commandAndSettle(h, ASK);
    expect(db.failed('PutItem')).toBe(1);
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    expect(answer).toContain(request?.id);
    expect(answer).not.toMatch(/went wrong/);
    expect(h.adminMessages()).toHaveLength(1);
    s.held({ times: 1, userSaw: 'requester: the usual confirmation with the request id; admins: the request', finalState: 'PENDING, posted', lost: 'nothing' });
  });
});

describe('a DynamoDB fault at the write of an approval', () => {
  for (const fault of FAULTS) {
    it(`${fault.what} on every attempt of PENDING → APPROVED: no IAM change, the admin is told, PENDING; approving again grants`, async () => {
      const s = scenario({
        id: `dynamodb-approval-write-${fault.slug}`,
        area: 'DynamoDB',
        injected: `UpdateItem PENDING → APPROVED answers ${fault.what} ${SDK_ATTEMPTS} times (every attempt)`,
      });
      const { h, db } = await start();
      const request = await pendingRequest(h, employee, ASK);
      db.failNext('UpdateItem', fault.error, { times: SDK_ATTEMPTS, match: statusWrite('PENDING', 'APPROVED') });

      expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
      await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0], 15_000);
      await h.idle();
      expect(db.failed('UpdateItem')).toBe(SDK_ATTEMPTS);
      // No IAM change without a stored decision.
      expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
      expect(await inGroup(h)).toBe(false);
      const still = await stored(h, request.id);
      expect(still.status).toBe('PENDING');
      expect(still.version).toBe(request.version);
      const [told] = h.ephemeralsFor(admin1.id);
      expect(told?.text).toMatch(GENERIC);
      expect(buttonLabels(adminMessageOf(h, still))).toEqual(['Approve', 'Deny']);
      expect(h.dms(employee)).toHaveLength(0);

      const active = await activeGrantAgain(h, request);
      expect(active.approvals.map((a) => a.by)).toEqual([admin2.id]);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      s.held({
        times: SDK_ATTEMPTS,
        userSaw: 'admin: an ephemeral "Something went wrong on our side and nothing was changed" with a reference; requester: nothing until granted',
        finalState: 'PENDING with its Approve button, no IAM call; approved again: ACTIVE, added once',
        lost: 'nothing',
      });
    });
  }

  it('ThrottlingException once on PENDING → APPROVED: the SDK retry absorbs it; ACTIVE, added once', async () => {
    const s = scenario({
      id: 'dynamodb-approval-write-single-throttle-absorbed',
      area: 'DynamoDB',
      injected: 'UpdateItem PENDING → APPROVED answers ThrottlingException (400) once',
    });
    const { h, db } = await start();
    const request = await pendingRequest(h, employee, ASK);
    db.failNext('UpdateItem', throttlingOnce, { match: statusWrite('PENDING', 'APPROVED') });

    expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    await h.idle();
    expect(db.failed('UpdateItem')).toBe(1);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await inGroup(h)).toBe(true);
    expect(h.ephemeralsFor(admin1.id)).toHaveLength(0);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(h.dms(employee)).toHaveLength(1);
    s.held({ times: 1, userSaw: 'admin: "Approved by", no error; requester: the grant DM', finalState: 'ACTIVE, in the group', lost: 'nothing' });
  });

  it('every write after the IAM add fails (APPROVED → ACTIVE and → FAILED): the request stays APPROVED, and the next sweep finishes it once', async () => {
    const s = scenario({
      id: 'dynamodb-activate-write-fails-sweeper-finishes',
      area: 'DynamoDB',
      injected: `UpdateItem APPROVED → ACTIVE and APPROVED → FAILED answer InternalServerError (500) ${SDK_ATTEMPTS} times each`,
    });
    const { h, db } = await start();
    const request = await pendingRequest(h, employee, ASK);
    const error = FAULTS[0]?.error as InjectedError;
    db.failNext('UpdateItem', error, { times: SDK_ATTEMPTS, match: statusWrite('APPROVED', 'ACTIVE') });
    db.failNext('UpdateItem', error, { times: SDK_ATTEMPTS, match: statusWrite('APPROVED', 'FAILED') });

    expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
    await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0], 20_000);
    await h.idle();
    expect(db.failed('UpdateItem')).toBe(2 * SDK_ATTEMPTS);
    // Not "nothing was changed": the approval is stored and the sweeper finishes it.
    const told = h.ephemeralsFor(admin1.id)[0]?.text ?? '';
    expect(told).not.toMatch(GENERIC);
    expect(told).toMatch(/approval is stored.*next sweep.*no need to approve again.*Reference `[0-9a-f]{8}`/s);
    // The decision is stored, so the add was allowed; the sweeper's APPROVED query sees the rest as owed.
    const approved = await stored(h, request.id);
    expect(approved.status).toBe('APPROVED');
    expect(await inGroup(h)).toBe(true);
    expect((await h.bot.deps.store.listByStatus('APPROVED')).map((r) => r.id)).toEqual([request.id]);
    expect(h.dms(employee)).toHaveLength(0);

    clock.advance(2 * MINUTE);
    const report = await h.sweep();
    expect(report.recovered).toBe(1);
    expect(report.errors).toBe(0);
    await h.idle();
    const active = await stored(h, request.id);
    expect(active.status).toBe('ACTIVE');
    expect(await inGroup(h)).toBe(true);
    expect(h.dms(employee)).toHaveLength(1);
    expect(messageContent(h.dms(employee)[0])).toMatch(/active until/);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    s.held({
      times: 2 * SDK_ATTEMPTS,
      userSaw:
        'admin: at the click, an ephemeral "The approval is stored … finishes it on its next sweep … no need to approve again" with a reference; "Approved by" once the sweep finished it; requester: one grant DM',
      finalState: 'APPROVED (in the group) until the next sweep; then ACTIVE',
      lost: 'nothing',
    });
  });
});

describe('a DynamoDB call that never answers, or whose connection resets', () => {
  it('the new request write unanswered past the client timeout: the SDK gives up on it and writes again; stored and posted once', async () => {
    const s = scenario({
      id: 'dynamodb-request-write-timeout-absorbed',
      area: 'DynamoDB',
      injected: 'PutItem of the new request never answered once (held past the 5 s request timeout)',
    });
    const { h, db } = await start();
    db.faultNext('PutItem', { kind: 'stall' }, { match: requestItemPut });

    const answer = await commandAndSettle(h, ASK);
    // Without a request timeout on the DynamoDB client the command would wait on the stalled call for good.
    expect(db.stalledCount('PutItem')).toBe(1);
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    expect(answer).toContain(request?.id);
    expect(await h.requestsOf(employee)).toHaveLength(1);
    expect(h.adminMessages()).toHaveLength(1);
    s.held({
      times: 1,
      userSaw: 'requester: the usual confirmation, about 5 s late; admins: the request once',
      finalState: 'PENDING, posted once',
      lost: 'nothing',
    });
  });

  it('PENDING → APPROVED reaches the table but its answer is lost to a reset: the retry knows its own write; ACTIVE at once, approved once', async () => {
    const s = scenario({
      id: 'dynamodb-approval-write-reset-after-reaching-table',
      area: 'DynamoDB',
      injected: 'UpdateItem PENDING → APPROVED applied, then its connection reset instead of the answer, once',
    });
    const { h, db } = await start();
    const request = await pendingRequest(h, employee, ASK);
    db.faultNext('UpdateItem', { kind: 'reset-after' }, { match: statusWrite('PENDING', 'APPROVED') });

    expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    await h.idle();
    expect(db.resetCount('UpdateItem')).toBe(1);
    expect(active.approvals.map((a) => a.by)).toEqual([admin1.id]);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await inGroup(h)).toBe(true);
    // Not "already decided" by themselves: the retried write was recognised as the click's own.
    expect(h.ephemeralsFor(admin1.id)).toHaveLength(0);
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    s.held({
      times: 1,
      userSaw: 'admin: "Approved by", no error; requester: one grant DM',
      finalState: 'ACTIVE and in the group, approved once, every audit event written',
      lost: 'nothing',
    });
  });

  it('the new request and its pending slot reach the table but both answers are lost to resets: stored once, confirmed, posted once', async () => {
    const s = scenario({
      id: 'dynamodb-request-write-reset-after-reaching-table',
      area: 'DynamoDB',
      injected: 'PutItem of the pending slot and of the new request applied, then each connection reset instead of the answer, once',
    });
    const { h, db } = await start();
    db.faultNext('PutItem', { kind: 'reset-after' }, { match: pendingSlotPut });
    db.faultNext('PutItem', { kind: 'reset-after' }, { match: requestItemPut });

    const answer = await commandAndSettle(h, ASK);
    expect(db.resetCount('PutItem')).toBe(2);
    const requests = await h.requestsOf(employee);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.status).toBe('PENDING');
    expect(answer).toContain(requests[0]?.id);
    expect(answer).not.toMatch(/went wrong|already have a pending/);
    expect(h.adminMessages()).toHaveLength(1);
    expect((await h.bot.deps.store.auditEvents(requests[0]?.id ?? '')).map((e) => e.to)).toEqual(['PENDING']);
    // The slot still guards the pending request: a second ask is refused as a duplicate.
    const again = await commandAndSettle(h, ASK);
    expect(again).toMatch(/already have a pending read-only request/);
    expect(await h.requestsOf(employee)).toHaveLength(1);
    s.held({
      times: 2,
      userSaw: 'requester: the usual confirmation with the request id; admins: the request once',
      finalState: 'PENDING once, its slot held, its audit event written',
      lost: 'nothing',
    });
  });

  it('the summary period claim reaches the table but its answer is lost to a reset: the retry knows its own claim; posted once, at once', async () => {
    const s = scenario({
      id: 'dynamodb-summary-claim-reset-after-reaching-table',
      area: 'DynamoDB',
      injected: 'PutItem of the summary period claim applied, then its connection reset instead of the answer, once',
    });
    const { h, db } = await start({ at: '2030-03-04T09:00:30.000Z', env: EVERY_MINUTE });
    const summaries = h.bot.deps.summaries;
    expect(await summaries.runDue()).toBe(0);
    clock.advance(MINUTE);
    db.faultNext('PutItem', { kind: 'reset-after' }, { match: periodClaim });

    expect(await summaries.runDue()).toBe(1);
    expect(db.resetCount('PutItem')).toBe(1);
    expect(await summaries.runDue()).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect((await h.bot.deps.store.getPeriod('2030-03-04T09:01:00.000Z'))?.posted).toBe(true);
    s.held({ times: 1, userSaw: 'admins: exactly one summary, on time', finalState: 'the period claimed and posted once', lost: 'nothing' });
  });
});

describe('a DynamoDB fault at the audit event of a status change', () => {
  /** The PutItem of the audit event recording a move to `to`. */
  const auditPut = (to: string) => (body: string) => {
    const item = parse(body).Item;
    return item?.entity?.S === 'audit' && item.to?.S === to;
  };

  /** The events the table holds as records (the month index: an event an item still carries is not there). */
  async function recordedTrail(bot: Harness, id: string): Promise<string[]> {
    const out: string[] = [];
    for await (const page of bot.bot.deps.store.auditEventsSince(at(T0, -DAY), at(T0, 30 * DAY))) {
      out.push(...page.filter((e) => e.requestId === id).map((e) => e.to));
    }
    return out;
  }

  for (const fault of FAULTS) {
    it(`${fault.what} on every attempt of the APPROVED audit record: the approval goes on, and its event is written before the grant's`, async () => {
      const s = scenario({
        id: `dynamodb-approval-audit-${fault.slug}`,
        area: 'DynamoDB',
        injected: `PutItem of the APPROVED audit event answers ${fault.what} ${SDK_ATTEMPTS} times (every attempt)`,
      });
      const { h, db } = await start();
      const request = await pendingRequest(h, employee, ASK);
      db.failNext('PutItem', fault.error, { times: SDK_ATTEMPTS, match: auditPut('APPROVED') });

      expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
      // Throttles are retried with a longer backoff (up to several seconds over the five attempts): wait for the work to end.
      await h.slack.waitFor(() => db.failed('PutItem') === SDK_ATTEMPTS, 30_000);
      await h.idle();
      const active = await h.waitForStatus(request.id, 'ACTIVE');

      expect(db.failed('PutItem')).toBe(SDK_ATTEMPTS);
      expect(await inGroup(h)).toBe(true);
      // The approval stood: no error for the admin, the usual message; the requester told once.
      expect(h.ephemeralsFor(admin1.id)).toHaveLength(0);
      expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
      expect(h.dms(employee)).toHaveLength(1);
      // The item carried the event through the failure; the grant's write stored it first.
      expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
      expect(await recordedTrail(h, request.id)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
      s.held({
        times: SDK_ATTEMPTS,
        userSaw: 'admin: "Approved by", no error; requester: the grant DM once',
        finalState: 'ACTIVE, in the group; the APPROVED event kept on the item and written before the ACTIVE change',
        lost: 'nothing',
      });
    });
  }

  it('InternalServerError on every attempt of the PENDING audit record: the request is stored and posted, and its event written before the next change', async () => {
    const s = scenario({
      id: 'dynamodb-request-audit-internal-error',
      area: 'DynamoDB',
      injected: `PutItem of the new request's PENDING audit event answers InternalServerError (500) ${SDK_ATTEMPTS} times (every attempt)`,
    });
    const { h, db } = await start();
    db.failNext('PutItem', FAULTS[0]?.error as InjectedError, { times: SDK_ATTEMPTS, match: auditPut('PENDING') });

    const answer = await commandAndSettle(h, ASK);
    expect(answer).not.toMatch(GENERIC);
    expect(db.failed('PutItem')).toBe(SDK_ATTEMPTS);
    const [request] = await h.requestsOf(employee);
    if (!request) throw new Error('no request was stored');
    expect(answer).toContain(request.id);
    expect(request.adminMessage).toBeDefined();
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING']);

    expect((await h.click(admin1.id, 'approve', request.id)).status).toBe(200);
    await h.waitForStatus(request.id, 'ACTIVE');
    await h.idle();
    expect(await recordedTrail(h, request.id)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    s.held({
      times: SDK_ATTEMPTS,
      userSaw: 'requester: the usual confirmation with the request id; admins: the request once',
      finalState: 'PENDING and posted, the event kept on the item; approved later, every event written in order',
      lost: 'nothing',
    });
  });

  it('InternalServerError on every attempt of the CANCELLED audit record: the cancel stands, the event is on the trail at once and written by the next sweep', async () => {
    const s = scenario({
      id: 'dynamodb-final-audit-written-by-sweep',
      area: 'DynamoDB',
      injected: `PutItem of the CANCELLED audit event (a final status without notices) answers InternalServerError (500) ${SDK_ATTEMPTS} times (every attempt)`,
    });
    const { h, db } = await start();
    const request = await pendingRequest(h, employee, ASK);
    db.failNext('PutItem', FAULTS[0]?.error as InjectedError, { times: SDK_ATTEMPTS, match: auditPut('CANCELLED') });

    const answer = await commandAndSettle(h, `cancel ${request.id}`);
    expect(answer).toMatch(/cancel/i);
    expect(answer).not.toMatch(GENERIC);
    expect(db.failed('PutItem')).toBe(SDK_ATTEMPTS);
    expect((await stored(h, request.id)).status).toBe('CANCELLED');
    // The request's trail shows the cancel at once (the item carries it); the month index does not have it yet.
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'CANCELLED']);
    expect(await recordedTrail(h, request.id)).toEqual(['PENDING']);

    clock.advance(10 * MINUTE);
    await h.sweep();
    await h.idle();
    expect(await recordedTrail(h, request.id)).toEqual(['PENDING', 'CANCELLED']);
    expect((await h.bot.deps.store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'CANCELLED']);
    const after = await stored(h, request.id);
    expect(after.noticeDue).toBeUndefined();
    expect(after.auditOwed).toBeUndefined();
    s.held({
      times: SDK_ATTEMPTS,
      userSaw: 'requester: the usual cancel confirmation, no error',
      finalState: 'CANCELLED; the event on the request’s trail at once (kept on the item), written as a record by the next sweep',
      lost: 'nothing',
    });
  });
});

describe('a DynamoDB fault at the write of an expiry', () => {
  for (const fault of FAULTS) {
    it(`${fault.what} on every attempt of ACTIVE → EXPIRED: the grant stays ACTIVE and due; the next sweep ends it, told once`, async () => {
      const s = scenario({
        id: `dynamodb-expiry-write-${fault.slug}`,
        area: 'DynamoDB',
        injected: `UpdateItem ACTIVE → EXPIRED answers ${fault.what} ${SDK_ATTEMPTS} times (every attempt)`,
      });
      const { h, db } = await start();
      const grant = await activeGrant(h, employee, 'read-only 1d month-end close for October');
      expect(h.dms(employee)).toHaveLength(1);
      clock.set(at(T0, DAY + HOUR));
      db.failNext('UpdateItem', fault.error, { times: SDK_ATTEMPTS, match: statusWrite('ACTIVE', 'EXPIRED') });

      const first = await h.sweep();
      expect(first.expired).toBe(0);
      expect(first.errors).toBe(1);
      expect(db.failed('UpdateItem')).toBe(SDK_ATTEMPTS);
      await h.idle();
      // The user may be out of the group already, but the grant stays ACTIVE where the sweeper looks.
      const owed = await stored(h, grant.id);
      expect(owed.status).toBe('ACTIVE');
      expect((await h.bot.deps.store.listExpiring('ACTIVE', clock.now().toISOString())).map((r) => r.id)).toEqual([grant.id]);
      expect(h.dms(employee)).toHaveLength(1);
      expect(threadOf(h, grant)).toHaveLength(0);

      const second = await h.sweep();
      expect(second.expired).toBe(1);
      expect(second.errors).toBe(0);
      await h.idle();
      const expired = await stored(h, grant.id);
      expect(expired.status).toBe('EXPIRED');
      expect(await inGroup(h)).toBe(false);
      expect(h.dms(employee)).toHaveLength(2);
      expect(messageContent(h.dms(employee)[1])).toMatch(/expired/);
      expect(threadOf(h, grant)).toHaveLength(1);
      expect((await h.bot.deps.store.auditEvents(grant.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE', 'EXPIRED']);
      s.held({
        times: SDK_ATTEMPTS,
        userSaw: 'nothing after the failed sweep; after the next, the requester one expiry DM and the admins one thread reply',
        finalState: 'ACTIVE and due (already out of the group) after the failed sweep; EXPIRED after the next',
        lost: 'nothing',
      });
    });
  }
});

describe('a DynamoDB fault at a summary period claim', () => {
  for (const fault of FAULTS) {
    it(`${fault.what} on every attempt of the claim: no summary without a claim; posted once when the fault clears`, async () => {
      const s = scenario({
        id: `dynamodb-summary-claim-${fault.slug}`,
        area: 'DynamoDB',
        injected: `PutItem of the summary period claim answers ${fault.what} ${SDK_ATTEMPTS} times (every attempt)`,
      });
      const { h, db } = await start({ at: '2030-03-04T09:00:30.000Z', env: EVERY_MINUTE });
      const summaries = h.bot.deps.summaries;
      expect(await summaries.runDue()).toBe(0);
      clock.advance(MINUTE);
      const firingAt = '2030-03-04T09:01:00.000Z';
      db.failNext('PutItem', fault.error, { times: SDK_ATTEMPTS, match: periodClaim });

      await expect(summaries.runDue()).rejects.toThrow();
      expect(db.failed('PutItem')).toBe(SDK_ATTEMPTS);
      expect(weeklySummaries(h)).toHaveLength(0);
      expect(await h.bot.deps.store.getPeriod(firingAt)).toBeUndefined();

      expect(await summaries.runDue()).toBe(1);
      expect(await summaries.runDue()).toBe(0);
      expect(weeklySummaries(h)).toHaveLength(1);
      expect((await h.bot.deps.store.getPeriod(firingAt))?.posted).toBe(true);
      s.held({
        times: SDK_ATTEMPTS,
        userSaw: 'admins: no summary while the claim failed, then exactly one',
        finalState: 'the period unclaimed, then claimed and posted once',
        lost: 'nothing',
      });
    });
  }
});

/** Approves again (admin2) once the fault has cleared: ACTIVE, in the group, the requester told once. */
async function activeGrantAgain(bot: Harness, request: AccessRequest): Promise<AccessRequest> {
  expect((await bot.click(admin2.id, 'approve', request.id)).status).toBe(200);
  const active = await bot.waitForStatus(request.id, 'ACTIVE');
  await bot.idle();
  expect(await inGroup(bot)).toBe(true);
  expect(bot.dms(employee)).toHaveLength(1);
  expect(adminMessageOf(bot, active)?.text).toContain(`Approved by <@${admin2.id}>`);
  return stored(bot, request.id);
}
