/**
 * What the grant-lifecycle scenarios share (test/integration/expiry, revoke-and-done, extension,
 * pending-requests, redelivery-and-healthz; rechecks and the summary files use parts of it): a
 * fresh Harness per test on a ManualClock, time arithmetic from T0, and readers for a request's
 * admin message, its thread and a sweep report.
 */

import { afterEach, expect } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { SweepReport } from '../../src/services/sweeper.js';
import type { UserFixture } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from './aws-endpoint.js';
import { ManualClock } from './clock.js';
import type { StoredMessage } from './fake-slack.js';
import { ADMIN_CHANNEL, Harness, PEOPLE } from './harness.js';
import { activeGrant as grantByAdmin } from './scenario-helpers.js';

/** The requester of every scenario (jane.doe in IAM) and the people who decide. */
export const employee = PEOPLE.employee.id;
export const { admin1, admin2, admin3, outsider } = PEOPLE;

export const T0 = '2030-03-04T09:00:00.000Z';
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** `base` moved by `ms` (earlier when negative), as an ISO string. */
export const at = (base: string, ms: number) => new Date(Date.parse(base) + ms).toISOString();

export interface StartOptions {
  /** Where the clock starts; T0 unless given. */
  at?: string | Date;
  env?: Record<string, string>;
  users?: UserFixture[];
}

export interface ClockedHarness {
  /** The scenario's clock, one object for the whole describe: every start sets it to its start time. */
  readonly clock: ManualClock;
  /** Starts a fresh Harness on the clock; it is stopped after the test. */
  start(options?: StartOptions): Promise<Harness>;
}

/** Call inside a describe: registers the afterEach that stops whatever `start` started. */
export function useClockedHarness(): ClockedHarness {
  const clock = new ManualClock(T0);
  let running: Harness | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });
  return {
    clock,
    async start(options: StartOptions = {}) {
      clock.set(options.at ?? T0);
      running = await Harness.start({
        awsEndpoint: workerAwsEndpoint(),
        clock,
        env: options.env ?? {},
        ...(options.users ? { users: options.users } : {}),
      });
      return running;
    },
  };
}

/** The request's one message in the admin channel, as it reads now. */
export function adminMessageOf(h: Harness, request: AccessRequest): StoredMessage | undefined {
  const ts = request.adminMessage?.ts;
  expect(ts, `request ${request.id} has no admin message`).toBeTruthy();
  return h.adminMessages().find((m) => m.ts === ts);
}

/** Replies in the admin message's thread (not ephemerals). */
export function threadOf(h: Harness, request: AccessRequest): StoredMessage[] {
  const ts = request.adminMessage?.ts;
  return h.slack.messages(ADMIN_CHANNEL).filter((m) => m.threadTs !== undefined && m.threadTs === ts && !m.ephemeralTo);
}

/** A sweep report without its time, to compare with NOTHING_DONE. */
export function quiet(report: SweepReport): Omit<SweepReport, 'at'> {
  const { at: _at, ...counts } = report;
  return counts;
}

export const NOTHING_DONE = { expired: 0, timedOut: 0, reminded: 0, recovered: 0, reposted: 0, redelivered: 0, errors: 0 };

/** Requests by text and has an admin (admin1 unless named) approve it: the ACTIVE grant, every notice delivered. */
export async function deliveredGrant(h: Harness, userId: string, text: string, approver: string = admin1.id): Promise<AccessRequest> {
  const active = await grantByAdmin(h, userId, text, approver);
  expect(active.noticeDue).toBeUndefined();
  return active;
}
