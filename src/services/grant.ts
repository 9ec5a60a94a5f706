/**
 * Carries an APPROVED request into IAM: APPROVED → ACTIVE (or EXTENDED for an extension),
 * or APPROVED → FAILED with the error. Safe to run again on the same request: group
 * membership is idempotent and every state change is conditional.
 */
import type { LevelConfig } from '../config.js';
import { groupPolicyProblems } from '../domain/group-policy.js';
import { type AccessRequest, addDays, DAY_MS } from '../domain/request.js';
import { BillingAccessError, ConflictError, errorMessage, errorName, IamUnavailableError } from '../errors.js';
import type { Announcer } from './announcer.js';
import type { GroupMembership } from './membership.js';
import type { Clock, GroupPolicyState, IamGateway, RequestStore } from './ports.js';

export class GroupPolicyMismatchError extends BillingAccessError {
  override name = 'GroupPolicyMismatch';
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

  /** Finishes an APPROVED request. Returns the request in its new state. */
  async complete(approved: AccessRequest, actor: string): Promise<AccessRequest> {
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
        const now = clock.now().toISOString();
        const expiresAt = approved.expiresAt ?? addDays(now, approved.durationDays);
        finished = await store.update(
          approved,
          { status: 'ACTIVE', expiresAt, noticeDue: 'DUE', updatedAt: now },
          {
            actor,
            detail: `${this.deps.iam.dryRun ? '[dry-run] would add' : 'added'} ${approved.iamUserName} to ${approved.groupName}; expires ${expiresAt}${groupCheck}`,
          },
        );
      }
      log.info({ event: 'grant.completed', requestId: approved.id, status: finished.status, dryRun: this.deps.iam.dryRun });
    } catch (err) {
      if (err instanceof ConflictError) throw err;
      log.warn({ event: 'grant.failed', requestId: approved.id, error: errorName(err), message: errorMessage(err) });
      const undo = addTried ? await this.undoUncertainAdd(approved) : { detail: '', confirmed: true };
      const now = clock.now().toISOString();
      finished = await store.update(
        approved,
        {
          status: 'FAILED',
          failure: { name: errorName(err), message: errorMessage(err).slice(0, 1000), at: now, ...(undo.confirmed ? {} : { membershipUnknown: true }) },
          noticeDue: 'DUE',
          updatedAt: now,
        },
        { actor, detail: `${errorName(err)}: ${errorMessage(err).slice(0, 500)}${undo.detail}` },
      );
    }
    // A Slack failure here never undoes the grant: the notice stays due for the sweeper.
    await this.deps.announcer.announce(finished);
    return finished;
  }

  /**
   * An add that failed may still have reached IAM (a reset connection, a timeout after the
   * change). A FAILED request must not leave anyone in the group: take the user out again
   * unless another grant needs the group or they were a member before they asked.
   * `confirmed` is false when IAM could not be asked; the sweeper tries again.
   */
  async undoUncertainAdd(request: AccessRequest): Promise<{ detail: string; confirmed: boolean }> {
    const { iam } = this.deps;
    if (iam.dryRun || request.extendsRequestId || request.iam.currentGroups?.includes(request.groupName)) return { detail: '', confirmed: true };
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
    const level = this.deps.levels.find((l) => l.level === request.level && l.groupName === request.groupName);
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
      const applied = grant.appliedExtensions ?? [];
      let expiresAt = grant.expiresAt;
      try {
        // Recorded on the grant in the same write, so a re-run after a crash never extends twice.
        if (!applied.includes(extension.id)) {
          const wanted = Date.parse(grant.expiresAt) + extension.durationDays * DAY_MS;
          const capped = new Date(Math.min(wanted, nowMs + this.deps.maxDurationDays * DAY_MS)).toISOString();
          if (capped > expiresAt) expiresAt = capped;
          await store.update(
            grant,
            { expiresAt, appliedExtensions: [...applied, extension.id], updatedAt: now },
            { actor, detail: `expiry moved from ${grant.expiresAt} to ${expiresAt} by extension ${extension.id}` },
          );
        }
        return await store.update(
          extension,
          { status: 'EXTENDED', expiresAt, noticeDue: 'DUE', updatedAt: now },
          { actor, detail: `grant ${grantId} now expires ${expiresAt}` },
        );
      } catch (err) {
        if (err instanceof ConflictError && attempt < 3 && (err.current as AccessRequest | undefined)?.id === grantId) continue;
        throw err;
      }
    }
  }
}
