/**
 * Carries an APPROVED request into IAM: APPROVED → ACTIVE (or EXTENDED for an extension),
 * or APPROVED → FAILED with the error. Safe to run again on the same request: group
 * membership is idempotent and every state change is conditional.
 */
import type { LevelConfig } from '../config.js';
import { type AccessRequest, addDays, DAY_MS } from '../domain/request.js';
import { BillingAccessError, ConflictError, errorMessage, errorName, IamUnavailableError } from '../errors.js';
import type { Announcer } from './announcer.js';
import type { Clock, IamGateway, RequestStore } from './ports.js';

export class GroupPolicyMismatchError extends BillingAccessError {
  override name = 'GroupPolicyMismatch';
}

export interface GrantDeps {
  store: RequestStore;
  iam: IamGateway;
  announcer: Announcer;
  clock: Clock;
  levels: LevelConfig[];
  maxDurationDays: number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

export class GrantExecutor {
  constructor(private readonly deps: GrantDeps) {}

  /** Finishes an APPROVED request. Returns the request in its new state. */
  async complete(approved: AccessRequest, actor: string): Promise<AccessRequest> {
    const { store, clock, log } = this.deps;
    let finished: AccessRequest;
    try {
      const groupCheck = await this.checkGroup(approved);
      if (approved.extendsRequestId) {
        finished = await this.extend(approved, actor);
      } else {
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
      const now = clock.now().toISOString();
      finished = await store.update(
        approved,
        { status: 'FAILED', failure: { name: errorName(err), message: errorMessage(err).slice(0, 1000), at: now }, noticeDue: 'DUE', updatedAt: now },
        { actor, detail: `${errorName(err)}: ${errorMessage(err).slice(0, 500)}` },
      );
    }
    // A Slack failure here never undoes the grant: the notice stays due for the sweeper.
    await this.deps.announcer.announce(finished);
    return finished;
  }

  /** A group is only granted while it holds exactly its level's managed policy and no inline policy (§3). */
  /** '' when checked; in dry-run a note when IAM could not be read (live mode never grants on an unmade check). */
  private async checkGroup(request: AccessRequest): Promise<string> {
    const level = this.deps.levels.find((l) => l.level === request.level && l.groupName === request.groupName);
    if (!level) throw new GroupPolicyMismatchError(`Level ${request.level} / group ${request.groupName} is no longer configured.`);
    let state: Awaited<ReturnType<IamGateway['groupPolicies']>>;
    try {
      state = await this.deps.iam.groupPolicies(request.groupName);
    } catch (err) {
      if (this.deps.iam.dryRun && err instanceof IamUnavailableError) return ` (group policies not checked: ${errorName(err.cause)})`;
      throw err;
    }
    const extra = state.attachedPolicyArns.filter((arn) => arn !== level.policyArn);
    const missing = state.attachedPolicyArns.includes(level.policyArn) ? [] : [level.policyArn];
    if (extra.length || missing.length || state.inlinePolicyNames.length) {
      const found = [
        missing.length ? `missing ${missing.join(', ')}` : '',
        extra.length ? `unexpected managed policies ${extra.join(', ')}` : '',
        state.inlinePolicyNames.length ? `inline policies ${state.inlinePolicyNames.join(', ')}` : '',
      ].filter(Boolean);
      throw new GroupPolicyMismatchError(`Group ${request.groupName} does not hold exactly ${level.policyArn}: ${found.join('; ')}.`);
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
