/**
 * The admin's side: approve (with multi-approval), deny, retry. Every decision is
 * re-checked here, whatever the click said: admin, channel, not one's own request,
 * identity and MFA again at approval.
 */
import type { Config } from '../config.js';
import { type AccessRequest, approvalOutcome } from '../domain/request.js';
import { ConflictError, NotAllowedError, RequestNotFoundError, RequestRefusedError } from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import type { GrantExecutor } from './grant.js';
import type { IdentityResolver } from './identity.js';
import type { Clock, IamGateway, RequestStore } from './ports.js';

export interface Click {
  userId: string;
  channelId: string | undefined;
  requestId: string;
}

export type DecisionResult =
  | { kind: 'recorded'; request: AccessRequest }
  | { kind: 'completed'; request: AccessRequest }
  | { kind: 'denied'; request: AccessRequest }
  /** Someone else decided first: `request` says who and what. */
  | { kind: 'already-decided'; request: AccessRequest };

const MAX_RACE_RETRIES = 5;

export class DecisionService {
  constructor(
    private readonly config: Pick<Config, 'adminChannelId' | 'requireMfa' | 'iamMode'>,
    private readonly store: RequestStore,
    private readonly iam: IamGateway,
    private readonly identity: IdentityResolver,
    private readonly admins: AdminPolicy,
    private readonly announcer: Announcer,
    private readonly grants: GrantExecutor,
    private readonly clock: Clock,
  ) {}

  /** Who may click at all: an admin, in the admin channel. Cheap; run before opening a modal. */
  async authorize(click: Click): Promise<AccessRequest> {
    if (click.channelId !== this.config.adminChannelId) throw new NotAllowedError('Decisions are only taken in the admin channel.');
    if (!(await this.admins.isAdmin(click.userId))) throw new NotAllowedError('Only billing admins can decide on requests.');
    const request = await this.store.get(click.requestId);
    if (!request) throw new RequestNotFoundError(click.requestId);
    if (request.requesterId === click.userId) throw new NotAllowedError('You cannot decide on your own request; another admin must.');
    return request;
  }

  async approve(click: Click): Promise<DecisionResult> {
    let request = await this.authorize(click);
    for (let attempt = 0; ; attempt++) {
      if (request.status !== 'PENDING') return { kind: 'already-decided', request };
      if (request.approverIds.includes(click.userId)) {
        throw new RequestRefusedError(
          `You already approved this request; it needs ${request.approvalsRequired - request.approverIds.length} more approval(s) from other admins.`,
        );
      }
      if (approvalOutcome(request) === 'complete') await this.recheckAtApproval(request);
      const now = this.clock.now().toISOString();
      const approvals = [...request.approvals, { by: click.userId, at: now }];
      const approverIds = [...request.approverIds, click.userId];
      try {
        if (approvalOutcome(request) === 'record') {
          const recorded = await this.store.update(
            request,
            { approvals, approverIds, noticeDue: 'DUE', updatedAt: now },
            { actor: click.userId, detail: `approval ${approverIds.length} of ${request.approvalsRequired}` },
          );
          await this.announcer.announce(recorded);
          return { kind: 'recorded', request: recorded };
        }
        const approved = await this.store.update(
          request,
          { status: 'APPROVED', approvals, approverIds, decidedBy: click.userId, decidedAt: now, updatedAt: now },
          { actor: click.userId, detail: `approved by ${approverIds.join(', ')}` },
        );
        return { kind: 'completed', request: await this.grants.complete(approved, click.userId) };
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= MAX_RACE_RETRIES) throw err;
        const current = err.current as AccessRequest | undefined;
        if (!current) throw new RequestNotFoundError(click.requestId);
        request = current;
      }
    }
  }

  /** The mapping is resolved again at approval (§3), and with REQUIRE_MFA=block the MFA check runs again. */
  private async recheckAtApproval(request: AccessRequest): Promise<void> {
    const who = await this.identity.resolve(request.requesterId);
    if (who.iamUserName !== request.iamUserName) {
      throw new RequestRefusedError(
        `The requester now maps to IAM user \`${who.iamUserName}\`, not \`${request.iamUserName}\` as requested. Deny this request and ask them to request again.`,
      );
    }
    if (this.config.requireMfa !== 'block') return;
    const live = this.config.iamMode === 'live';
    const couldNotCheck = new RequestRefusedError(`Could not re-check MFA for \`${request.iamUserName}\`; the request stays pending. Try again.`);
    let user: Awaited<ReturnType<IamGateway['getUser']>>;
    try {
      user = await this.iam.getUser(request.iamUserName);
    } catch {
      // Dry-run goes on when IAM cannot be read; live mode never approves on a check it could not make.
      if (live) throw couldNotCheck;
      return;
    }
    if (!user) throw new RequestRefusedError(`IAM user \`${request.iamUserName}\` no longer exists. The request stays pending.`);
    if (user.mfaDeviceCount === 0) {
      throw new RequestRefusedError(`IAM user \`${request.iamUserName}\` has no MFA device any more, so it cannot be approved. The request stays pending.`);
    }
    if (user.mfaDeviceCount === null && live) throw couldNotCheck;
  }

  async deny(click: Click, reason: string | undefined): Promise<DecisionResult> {
    let request = await this.authorize(click);
    for (let attempt = 0; ; attempt++) {
      if (request.status !== 'PENDING') return { kind: 'already-decided', request };
      const now = this.clock.now().toISOString();
      try {
        const denied = await this.store.update(
          request,
          { status: 'DENIED', decidedBy: click.userId, decidedAt: now, noticeDue: 'DUE', updatedAt: now, ...(reason ? { denyReason: reason } : {}) },
          { actor: click.userId, detail: reason ? `denied: ${reason}` : 'denied' },
        );
        await this.announcer.announce(denied);
        return { kind: 'denied', request: denied };
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= MAX_RACE_RETRIES) throw err;
        const current = err.current as AccessRequest | undefined;
        if (!current) throw new RequestNotFoundError(click.requestId);
        request = current;
      }
    }
  }

  /** FAILED → APPROVED, then the grant again (membership is idempotent, so a retry is safe). */
  async retry(click: Click): Promise<DecisionResult> {
    const request = await this.authorize(click);
    if (request.status !== 'FAILED') return { kind: 'already-decided', request };
    const now = this.clock.now().toISOString();
    let approved: AccessRequest;
    try {
      approved = await this.store.update(request, { status: 'APPROVED', updatedAt: now }, { actor: click.userId, detail: 'retry' });
    } catch (err) {
      if (err instanceof ConflictError && err.current) return { kind: 'already-decided', request: err.current as AccessRequest };
      throw err;
    }
    return { kind: 'completed', request: await this.grants.complete(approved, click.userId) };
  }
}
