/**
 * Carries an APPROVED request into IAM: APPROVED → ACTIVE (or EXTENDED for an extension),
 * or APPROVED → FAILED with the error. Safe to run again on the same request: group
 * membership is idempotent and every state change is conditional.
 */

import { groupPolicyProblems } from '../domain/group-policy.js';
import { configuredLevelOf, type LevelConfig } from '../domain/levels.js';
import { type AccessRequest, DAY_MS } from '../domain/request.js';
import { activate, extend, fail, moveExpiry, settleFailure } from '../domain/transitions.js';
import { BillingAccessError, errorMessage, errorName, IamUnavailableError, RequestConflictError } from '../errors.js';
import type { Announcer } from './announcer.js';
import type { GroupMembership } from './membership.js';
import type { Clock, GroupPolicyState, IamGateway, RequestStore } from './ports.js';

export class GroupPolicyMismatchError extends BillingAccessError {
  override name = 'GroupPolicyMismatch';
}

/**
 * An approval is stored but its outcome could not be written (the table refused both the grant and
 * the failure): the request stays APPROVED, and the sweeper's recovery finishes it.
 */
export class GrantUnfinishedError extends BillingAccessError {
  override name = 'GrantUnfinishedError';
}

export interface GrantDeps {
  store: RequestStore;
  iam: IamGateway;
  announcer: Announcer;
  membership: GroupMembership;
  clock: Clock;
  levels: LevelConfig[];
  /** BILLING_NAMESPACES: what a customer-managed group policy may allow. */
  billingNamespaces: readonly string[];
  maxDurationDays: number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

export class GrantExecutor {
  constructor(private readonly deps: GrantDeps) {}

  /**
   * Finishes an APPROVED request (anything else is returned as it is). Returns the request in
   * its new state. Two finishers may run at once (the live path and the sweeper's recovery):
   * each writes conditionally, and the loser brings IAM in line with what the winner wrote.
   */
  async complete(approved: AccessRequest, actor: string): Promise<AccessRequest> {
    if (approved.status !== 'APPROVED') return approved;
    const { store, clock, log } = this.deps;
    let finished: AccessRequest;
    let addTried = false;
    try {
      const groupCheck = await this.checkGroup(approved);
      if (approved.extendsRequestId) {
        finished = await this.extend(approved, actor);
      } else {
        addTried = true;
        await this.deps.iam.addUserToGroup(approved.iamUserName, approved.groupName);
        const added = `${this.deps.iam.dryRun ? '[dry-run] would add' : 'added'} ${approved.iamUserName} to ${approved.groupName}`;
        finished = await store.update(approved, activate(approved, actor, clock.now().toISOString(), added, groupCheck));
      }
      log.info({ event: 'grant.completed', requestId: approved.id, status: finished.status, dryRun: this.deps.iam.dryRun });
    } catch (err) {
      if (err instanceof RequestConflictError) {
        if (addTried) await this.alignWithWinner(err.current, actor);
        throw err;
      }
      log.warn({ event: 'grant.failed', requestId: approved.id, error: errorName(err), message: errorMessage(err) });
      try {
        finished = await this.fail(approved, err, addTried, actor);
      } catch (failErr) {
        if (failErr instanceof RequestConflictError) throw failErr;
        // The approval is stored and the request stays APPROVED, where the sweeper finishes it: not "nothing was changed".
        throw new GrantUnfinishedError(
          'The approval is stored, but the grant could not be recorded just now. The bot finishes it on its next sweep and tells the requester; there is no need to approve again.',
          { cause: failErr, detail: `${errorName(err)}: ${errorMessage(err)}; then ${errorName(failErr)}: ${errorMessage(failErr)}` },
        );
      }
    }
    // A Slack failure here never undoes the grant: the notice stays due for the sweeper.
    await this.deps.announcer.announce(finished);
    return finished;
  }

  /**
   * APPROVED → FAILED. An add that failed may still have reached IAM (a reset connection, a
   * timeout after the change), so the request is written FAILED with its membership unknown
   * first, and only the writer of that takes the user out again: whoever lost the write leaves
   * IAM to the winner. A crash in between leaves the flag for the sweeper.
   */
  private async fail(approved: AccessRequest, err: unknown, addTried: boolean, actor: string): Promise<AccessRequest> {
    const now = this.deps.clock.now().toISOString();
    const unknown = addTried && this.undoNeeded(approved);
    let failed: AccessRequest;
    try {
      failed = await this.deps.store.update(
        approved,
        fail(approved, actor, now, { name: errorName(err), message: errorMessage(err), membershipUnknown: unknown }),
      );
    } catch (writeErr) {
      if (writeErr instanceof RequestConflictError && addTried) await this.alignWithWinner(writeErr.current, actor);
      throw writeErr;
    }
    return unknown ? this.settleFailedAdd(failed, actor) : failed;
  }

  /** Whether a failed add of this request could have left someone in the group who must come out. */
  private undoNeeded(request: AccessRequest): boolean {
    // A member before they asked was put there by someone else: not the bot's to take out.
    return !this.deps.iam.dryRun && !request.extendsRequestId && !request.iam.currentGroups?.includes(request.groupName);
  }

  /**
   * Takes the user of a FAILED request whose add may have reached IAM out of the group again
   * (unless another grant needs it) and clears the flag; while IAM cannot be asked the flag
   * stays for the sweeper. Returns the request as it is after.
   */
  async settleFailedAdd(failed: AccessRequest, actor: string): Promise<AccessRequest> {
    if (!failed.failure?.membershipUnknown) return failed;
    const undo = await this.undoUncertainAdd(failed);
    if (!undo.confirmed) {
      this.deps.log.warn({ event: 'grant.undo_unconfirmed', requestId: failed.id, detail: undo.detail });
      return failed;
    }
    const now = this.deps.clock.now().toISOString();
    const detail = undo.detail || `confirmed ${failed.iamUserName} is not in ${failed.groupName} for this request`;
    try {
      return await this.deps.store.update(failed, settleFailure(failed, actor, now, detail));
    } catch (err) {
      if (err instanceof RequestConflictError && err.current) return err.current;
      throw err;
    }
  }

  /**
   * This finisher's add may have reached IAM but another finisher's write won. The table is
   * the truth: when what won does not hold the membership (FAILED, or ended), the add is taken
   * back, unless another grant needs the group; the change goes on the request's audit trail.
   */
  private async alignWithWinner(winner: AccessRequest | undefined, actor: string): Promise<void> {
    if (!winner || winner.status === 'ACTIVE' || winner.status === 'APPROVED' || !this.undoNeeded(winner)) return;
    const undo = await this.undoUncertainAdd(winner);
    if (undo.detail) {
      await this.deps.store.appendNote(winner, {
        actor,
        detail: `a second attempt's add reached IAM after the request was ${winner.status}${undo.detail}`,
        at: this.deps.clock.now().toISOString(),
      });
    }
  }

  /**
   * Takes the user out of the group for a request whose add may have reached IAM, unless
   * another grant needs it. `confirmed` is false when IAM could not be asked.
   */
  async undoUncertainAdd(request: AccessRequest): Promise<{ detail: string; confirmed: boolean }> {
    const { iam } = this.deps;
    try {
      if ((await this.deps.membership.othersNeeding(request)).length > 0) return { detail: '', confirmed: true };
      const outcome = await iam.removeUserFromGroup(request.iamUserName, request.groupName, { endingGrant: true });
      return {
        detail: outcome === 'removed' ? `; removed ${request.iamUserName} from ${request.groupName} again (the add had reached IAM)` : '',
        confirmed: true,
      };
    } catch (err) {
      return { detail: `; could not confirm ${request.iamUserName} is out of ${request.groupName}: ${errorName(err)}`, confirmed: false };
    }
  }

  /**
   * A group is only granted while it holds exactly its level's managed policy, no inline policy,
   * and (for a customer-managed policy) a default version that stays within billing (§3).
   * '' when checked; in dry-run a note when IAM could not be read (live mode never grants on an unmade check).
   */
  private async checkGroup(request: AccessRequest): Promise<string> {
    const level = configuredLevelOf(this.deps.levels, request);
    if (!level) throw new GroupPolicyMismatchError(`Level ${request.level} / group ${request.groupName} is no longer configured.`);
    let state: GroupPolicyState;
    try {
      state = await this.deps.iam.groupPolicies(request.groupName, level.policyArn);
    } catch (err) {
      if (this.deps.iam.dryRun && err instanceof IamUnavailableError) return ` (group policies not checked: ${errorName(err.cause)})`;
      throw err;
    }
    const problems = groupPolicyProblems({ expectedArn: level.policyArn, ...state, namespaces: this.deps.billingNamespaces });
    if (problems.length > 0) {
      const found = problems.map((p) => p.text).join('; ');
      throw new GroupPolicyMismatchError(`Group ${request.groupName} must hold exactly ${level.policyArn}, within billing, and no inline policy: ${found}.`);
    }
    return '';
  }

  /** Moves the held grant's expiry: the earlier of (current + n days) and (now + MAX_DURATION_DAYS). */
  private async extend(extension: AccessRequest, actor: string): Promise<AccessRequest> {
    const { store, clock } = this.deps;
    const grantId = extension.extendsRequestId as string;
    const nowMs = clock.now().getTime();
    const now = new Date(nowMs).toISOString();
    for (let attempt = 0; ; attempt++) {
      const grant = await store.get(grantId);
      if (grant?.status !== 'ACTIVE' || !grant.expiresAt) {
        throw new BillingAccessError(`The grant ${grantId} this extends is no longer active; ask for new access instead.`);
      }
      let expiresAt = grant.expiresAt;
      try {
        // Recorded on the grant in the same write, so a re-run after a crash never extends twice.
        if (!(grant.appliedExtensions ?? []).includes(extension.id)) {
          const wanted = Date.parse(grant.expiresAt) + extension.durationDays * DAY_MS;
          const capped = new Date(Math.min(wanted, nowMs + this.deps.maxDurationDays * DAY_MS)).toISOString();
          if (capped > expiresAt) expiresAt = capped;
          await store.update(grant, moveExpiry(grant, extension.id, expiresAt, actor, now));
        }
        return await store.update(extension, extend(extension, actor, now, expiresAt));
      } catch (err) {
        if (err instanceof RequestConflictError && attempt < 3 && err.current?.id === grantId) continue;
        throw err;
      }
    }
  }
}
