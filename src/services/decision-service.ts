/**
 * The admin's side: approve (with multi-approval), deny, retry. Every decision is
 * re-checked here, whatever the click said: admin, channel, not one's own request (by Slack
 * id, and by IAM user from any Slack account), and at approval and retry everything a grant
 * depends on again: identity, workspace, the level, the IAM user and its MFA.
 */
import type { Config } from '../config.js';
import { iamUserRefusal, sameIamUser, whatStays } from '../domain/iam-user.js';
import { configuredLevelOf } from '../domain/levels.js';
import type { AccessRequest } from '../domain/request.js';
import { approvalOutcome, approve, deny, retry } from '../domain/transitions.js';
import {
  BillingAccessError,
  code,
  IamUnavailableError,
  NotAllowedError,
  RequestConflictError,
  RequestNotFoundError,
  RequestRefusedError,
  text,
  user,
} from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import type { GrantExecutor } from './grant.js';
import { recheckIamUser } from './iam-user-read.js';
import { approverConflictError, type IdentityResolver } from './identity.js';
import type { Clock, IamGateway, RequestStore } from './ports.js';

/** Where a click came from: a message in a channel, or the clicker's own App Home (Slack sends a Home click with no channel). */
export type ClickOrigin = 'channel' | 'home';

export interface Click {
  userId: string;
  channelId: string | undefined;
  requestId: string;
  /** Absent: a channel. */
  from?: ClickOrigin;
}

/** A click counts only from the admin channel or the clicker's own App Home; one naming no channel is refused. */
export function fromAdminPlace(where: { channelId: string | undefined; from?: ClickOrigin }, adminChannelId: string): boolean {
  return where.from === 'home' || (where.channelId !== undefined && where.channelId === adminChannelId);
}

export type DecisionResult =
  | { kind: 'recorded'; request: AccessRequest }
  | { kind: 'completed'; request: AccessRequest }
  | { kind: 'denied'; request: AccessRequest }
  /** Someone else decided first: `request` says who and what. */
  | { kind: 'already-decided'; request: AccessRequest };

const MAX_RACE_RETRIES = 5;

export interface DecisionServiceDeps {
  config: Pick<Config, 'adminChannelId' | 'requireMfa' | 'iamMode' | 'levels'>;
  store: RequestStore;
  iam: IamGateway;
  identity: IdentityResolver;
  admins: AdminPolicy;
  announcer: Announcer;
  grants: GrantExecutor;
  clock: Clock;
}

export class DecisionService {
  constructor(private readonly deps: DecisionServiceDeps) {}

  /**
   * Who may click at all: an admin, in the admin channel or their own App Home (a click naming
   * no channel is refused). Cheap; run before opening a modal.
   */
  async authorize(click: Click): Promise<AccessRequest> {
    if (!fromAdminPlace(click, this.deps.config.adminChannelId)) throw new NotAllowedError('Decisions are only taken in the admin channel.');
    if (!(await this.deps.admins.isAdmin(click.userId))) throw new NotAllowedError('Only billing admins can decide on requests.');
    const request = await this.deps.store.get(click.requestId);
    if (!request) throw new RequestNotFoundError(click.requestId);
    if (request.requesterId === click.userId) throw new NotAllowedError('You cannot decide on your own request; another admin must.');
    return request;
  }

  /** No approval of one's own IAM user from any Slack account, nor by the admin who linked the requester to it. */
  private async refuseOwnIamUser(identity: IdentityResolver, click: Click, request: AccessRequest, own?: readonly string[]): Promise<void> {
    const conflict = await identity.approverConflict(click.userId, request, own);
    if (conflict) throw approverConflictError(conflict, request, 'approve');
  }

  /** One person counts once: an approval from a Slack account whose IAM user already approved (through another account) is refused. */
  private async refuseSecondAccount(identity: IdentityResolver, mine: readonly string[], request: AccessRequest): Promise<void> {
    for (const earlier of request.approvals) {
      const theirs = [...(earlier.iamUsers ?? []), ...(await identity.iamUsersOf(earlier.by, 'self-check'))];
      const shared = mine.find((m) => theirs.some((t) => sameIamUser(m, t)));
      if (shared) {
        throw new RequestRefusedError(
          text`The IAM user ${code(shared)} already approved this request through ${user(earlier.by)}; one person counts once, so another admin must approve.`,
        );
      }
    }
  }

  async approve(click: Click): Promise<DecisionResult> {
    let request = await this.authorize(click);
    const identity = this.deps.identity.forOneDecision();
    // Read once: who the clicker is does not change between attempts of this one click.
    const iamUsers = await identity.iamUsersOf(click.userId, 'self-check');
    await this.refuseOwnIamUser(identity, click, request, iamUsers);
    for (let attempt = 0; ; attempt++) {
      if (request.status !== 'PENDING') return { kind: 'already-decided', request };
      if (request.approverIds.includes(click.userId)) {
        throw new RequestRefusedError(
          `You already approved this request; it needs ${request.approvalsRequired - request.approverIds.length} more approval(s) from other admins.`,
        );
      }
      await this.refuseSecondAccount(identity, iamUsers, request);
      if (approvalOutcome(request) === 'complete') await this.recheck(identity, request, 'approval');
      const now = this.deps.clock.now().toISOString();
      try {
        const after = await this.deps.store.update(request, approve(request, { by: click.userId, at: now, ...(iamUsers.length ? { iamUsers } : {}) }));
        if (after.status === 'PENDING') {
          await this.deps.announcer.announce(after);
          return { kind: 'recorded', request: after };
        }
        return { kind: 'completed', request: await this.deps.grants.complete(after, click.userId) };
      } catch (err) {
        if (!(err instanceof RequestConflictError) || attempt >= MAX_RACE_RETRIES) throw err;
        if (!err.current) throw new RequestNotFoundError(click.requestId);
        request = err.current;
      }
    }
  }

  /**
   * Everything a grant rests on, checked again when it is about to happen (approval, retry):
   * the level is still configured, the requester still may request (workspace, guest,
   * deactivated, email domain) and still maps to the same IAM user, which still exists and,
   * under REQUIRE_MFA=block, still has MFA. Live mode never goes on with a check it could not make.
   */
  private async recheck(identity: IdentityResolver, request: AccessRequest, stage: 'approval' | 'retry'): Promise<void> {
    const stays = whatStays(stage);
    const level = configuredLevelOf(this.deps.config.levels, request);
    if (!level) {
      throw new RequestRefusedError(
        text`The ${request.level} level (IAM group ${code(request.groupName)}) is no longer configured, so nothing is granted into it. ${stays}`,
      );
    }
    let who: Awaited<ReturnType<IdentityResolver['resolve']>>;
    try {
      who = await identity.resolve(request.requesterId);
    } catch (err) {
      if (err instanceof BillingAccessError && !(err instanceof IamUnavailableError)) {
        throw new RequestRefusedError(['The requester can no longer be granted: ', ...err.parts, ` ${stays}`], { cause: err });
      }
      throw err;
    }
    if (!sameIamUser(who.iamUserName, request.iamUserName)) {
      throw new RequestRefusedError(
        text`The requester now maps to IAM user ${code(who.iamUserName)}, not ${code(request.iamUserName)} as requested. ${stays} ${
          stage === 'approval' ? 'Deny it' : 'Let it time out'
        } and ask them to request again.`,
      );
    }
    await this.recheckIamUser(request.iamUserName, stage);
  }

  private async recheckIamUser(userName: string, stage: 'approval' | 'retry'): Promise<void> {
    const { requireMfa } = this.deps.config;
    const read = await recheckIamUser(this.deps.iam, userName, { mfa: requireMfa === 'block' });
    const refusal = iamUserRefusal(read, { requireMfa, live: this.deps.config.iamMode === 'live' }, userName, stage);
    if (refusal) throw refusal;
  }

  async deny(click: Click, reason: string | undefined): Promise<DecisionResult> {
    let request = await this.authorize(click);
    for (let attempt = 0; ; attempt++) {
      if (request.status !== 'PENDING') return { kind: 'already-decided', request };
      try {
        const denied = await this.deps.store.update(request, deny(request, click.userId, this.deps.clock.now().toISOString(), reason));
        await this.deps.announcer.announce(denied);
        return { kind: 'denied', request: denied };
      } catch (err) {
        if (!(err instanceof RequestConflictError) || attempt >= MAX_RACE_RETRIES) throw err;
        if (!err.current) throw new RequestNotFoundError(click.requestId);
        request = err.current;
      }
    }
  }

  /** FAILED → APPROVED after every check an approval runs, then the grant again (membership is idempotent, so a retry is safe). */
  async retry(click: Click): Promise<DecisionResult> {
    const request = await this.authorize(click);
    if (request.status !== 'FAILED') return { kind: 'already-decided', request };
    // Made first: it refuses while a failed add may still be in IAM, before any other check.
    const retried = retry(request, click.userId, this.deps.clock.now().toISOString());
    const identity = this.deps.identity.forOneDecision();
    await this.refuseOwnIamUser(identity, click, request);
    await this.recheck(identity, request, 'retry');
    let approved: AccessRequest;
    try {
      approved = await this.deps.store.update(request, retried);
    } catch (err) {
      const current = err instanceof RequestConflictError ? err.current : undefined;
      if (current && current.id !== request.id) {
        throw new RequestRefusedError(
          text`Another break-glass grant of ${code(request.iamUserName)} is live (${code(current.id)}); only one may be live at a time. The request stays failed.`,
        );
      }
      if (current) return { kind: 'already-decided', request: current };
      throw err;
    }
    return { kind: 'completed', request: await this.deps.grants.complete(approved, click.userId) };
  }
}
