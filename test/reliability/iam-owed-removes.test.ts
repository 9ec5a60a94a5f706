/**
 * An owed remove (issue 14, point 1, IAM): an admin's Revoke (button or command) or a holder's
 * `done` meets RemoveUserFromGroup failing on every attempt the SDK makes. The grant must not be
 * reported as ended while the user is still in the group: it stays ACTIVE with the revoke
 * recorded on it (`endDue`), the person who acted is told it is recorded, and nobody else is
 * told anything. The sweeper's `finish_end` step ends it within one sweep once IAM answers
 * (a sweep while IAM still fails changes nothing), and the requester and the admins are told
 * once (PRODUCT §1 "Expire and revoke", §2).
 */
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { InjectedError } from '../../testkit/aws-proxy.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import { admin1, admin2, adminMessageOf, deliveredGrant, employee, NOTHING_DONE, quiet, threadOf, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { buttonLabels, messageContent, stored } from '../support/scenario-helpers.js';

const GROUP = 'BillingReadOnly';
/** The bot's IAM client makes up to 5 attempts (src/deps.ts openIam). */
const SDK_ATTEMPTS = 5;
const serviceFailure: InjectedError = {
  status: 500,
  code: 'ServiceFailure',
  message: 'Request processing has failed due to an internal error',
  type: 'Receiver',
};
const RECORDED = 'The revoke is recorded and the sweeper finishes it within one sweep.';

const inGroup = async (h: Harness) => (await groupsOf(h.iam, 'jane.doe')).includes(GROUP);

interface EndAction {
  /** For scenario ids: `iam-owed-remove-<name>`. */
  name: string;
  /** Who ends the grant. */
  actor: string;
  words: string;
  /** Ends the grant; resolves to what the actor was told. */
  act(h: Harness, grant: AccessRequest): Promise<string>;
}

const ACTIONS: EndAction[] = [
  {
    name: 'revoke-button',
    actor: admin2.id,
    words: "an admin's Revoke button",
    async act(h, grant) {
      expect((await h.click(admin2.id, 'revoke', grant.id)).status).toBe(200);
      await h.idle();
      return (await h.slack.waitFor(() => h.ephemeralsFor(admin2.id)[0])).text;
    },
  },
  {
    name: 'revoke-command',
    actor: admin2.id,
    words: "an admin's /request-billing revoke <@user>",
    async act(h) {
      const res = await h.adminCommand(admin2.id, `revoke <@${employee}>`);
      expect(res.status).toBe(200);
      await h.idle();
      return h.waitForReply(res.key);
    },
  },
  {
    name: 'done',
    actor: employee,
    words: "the holder's /request-billing done",
    async act(h) {
      const res = await h.command(employee, 'done');
      expect(res.status).toBe(200);
      await h.idle();
      return h.waitForReply(res.key);
    },
  },
];

describe('IAM: a revoke or done whose RemoveUserFromGroup fails is owed, and the sweeper pays it', () => {
  const { clock, start } = useClockedHarness();

  it.each(ACTIONS)(
    '$name: ACTIVE and in the group with the revoke recorded, nobody told it ended; one sweep after IAM answers ends it, everyone told once',
    async (a) => {
      const s = scenario({
        id: `iam-owed-remove-${a.name}`,
        area: 'IAM',
        injected: `RemoveUserFromGroup answers ServiceFailure (500) on all ${SDK_ATTEMPTS} attempts at ${a.words}, and again on all ${SDK_ATTEMPTS} attempts at the next sweep`,
      });
      const h = await start();
      const grant = await deliveredGrant(h, employee, 'read-only 7d month-end close for October', admin1.id);
      const grantMessage = messageContent(adminMessageOf(h, grant));
      clock.advanceHours(2);
      h.iamProxy.failNext('RemoveUserFromGroup', serviceFailure, { times: SDK_ATTEMPTS });

      const told = await a.act(h, grant);
      expect(h.iamProxy.failed('RemoveUserFromGroup')).toBe(SDK_ATTEMPTS);
      expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(0);

      // Not ended while the user is still in the group: ACTIVE, the revoke owed, nobody told it ended.
      const expectOwed = async () => {
        const owed = await stored(h, grant.id);
        expect(owed.status).toBe('ACTIVE');
        expect(owed.endedAt).toBeUndefined();
        expect(owed.endDue).toMatchObject({ to: 'REVOKED', by: a.actor });
        expect(await inGroup(h)).toBe(true);
        expect(messageContent(adminMessageOf(h, owed))).toBe(grantMessage);
        expect(buttonLabels(adminMessageOf(h, owed))).toEqual(['Revoke']);
        expect(threadOf(h, owed)).toHaveLength(0);
        expect(h.dms(employee)).toHaveLength(1);
        return owed;
      };
      await expectOwed();
      expect(told).toContain(`could not be taken out of \`${GROUP}\` because AWS IAM did not answer`);
      expect(told).toContain(RECORDED);
      expect(told).not.toMatch(/Revoked:|is ended and removed/);
      for (const raw of ['ServiceFailure', serviceFailure.message]) expect(told).not.toContain(raw);
      expect((await h.bot.deps.store.auditEvents(grant.id)).at(-1)).toMatchObject({
        actor: a.actor,
        from: 'ACTIVE',
        to: 'ACTIVE',
        detail: 'revoke could not finish (ServiceFailureException); the sweeper finishes it',
      });

      // IAM still failing at the next sweep: the sweep changes nothing and tells nobody.
      clock.advance(5 * 60_000);
      h.iamProxy.failNext('RemoveUserFromGroup', serviceFailure, { times: SDK_ATTEMPTS });
      const failing = await h.sweep();
      expect(failing.recovered).toBe(0);
      expect(failing.errors).toBe(1);
      await h.idle();
      await expectOwed();

      // IAM answers: one sweep ends it, and the requester and the admins are told once.
      clock.advance(5 * 60_000);
      const paid = await h.sweep();
      expect(paid.recovered).toBe(1);
      expect(paid.errors).toBe(0);
      await h.idle();
      const revoked = await stored(h, grant.id);
      expect(revoked.status).toBe('REVOKED');
      expect(revoked.endedBy).toBe(a.actor);
      expect(revoked.endDue).toBeUndefined();
      expect(revoked.noticeDue).toBeUndefined();
      expect(await inGroup(h)).toBe(false);
      expect(h.iamProxy.forwarded('RemoveUserFromGroup')).toBe(1);
      const dms = h.dms(employee);
      expect(dms).toHaveLength(2);
      expect(messageContent(dms[1])).toMatch(/revoked|ended/i);
      expect(threadOf(h, revoked).map((m) => m.text)).toEqual([expect.stringContaining(`revoked by <@${a.actor}>`)]);
      expect(buttonLabels(adminMessageOf(h, revoked))).toEqual([]);
      expect(adminMessageOf(h, revoked)?.text).toContain(`revoked by <@${a.actor}>`);
      expect((await h.bot.deps.store.auditEvents(grant.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE', 'ACTIVE', 'REVOKED']);

      clock.advance(5 * 60_000);
      expect(quiet(await h.sweep())).toEqual(NOTHING_DONE);
      await h.idle();
      expect(h.dms(employee)).toHaveLength(2);
      expect(threadOf(h, revoked)).toHaveLength(1);
      s.held({
        times: 2 * SDK_ATTEMPTS,
        userSaw: `${a.actor === employee ? 'the holder' : 'the admin'}: "could not be taken out … AWS IAM did not answer. The revoke is recorded and the sweeper finishes it within one sweep"; after the sweep, the requester one "revoked" DM and the admins one thread reply`,
        finalState:
          'ACTIVE and in the group with endDue while IAM failed (a failing sweep changed nothing); REVOKED and out of the group after the first sweep that IAM answered',
        lost: 'nothing',
      });
    },
  );
});
