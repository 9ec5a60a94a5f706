/**
 * The employee's side: submit a request (with every pre-check of PRODUCT §1), status,
 * cancel, and the admin's `link`. Returns data; handlers choose how to show it.
 */

import type { Config } from '../config.js';
import { type IamUserInfo, iamUserRefusal, sameIamUser } from '../domain/iam-user.js';
import { type LevelConfig, requireLevel } from '../domain/levels.js';
import type { AccessRequest, IamSnapshot, MfaStatus } from '../domain/request.js';
import { cancel, open } from '../domain/transitions.js';
import { code, LinkConflictError, NotAllowedError, RequestConflictError, RequestNotFoundError, RequestRefusedError, text, ValidationError } from '../errors.js';
import { monotonicUlids } from '../ids.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import type { GrantExecutor } from './grant.js';
import { readIamUser } from './iam-user-read.js';
import type { IdentityResolver } from './identity.js';
import type { Clock, IamGateway, RequestStore } from './ports.js';

export interface SubmitInput {
  userId: string;
  teamId: string;
  level: string;
  durationDays: number;
  justification: string;
  breakGlass: boolean;
}

export interface SubmitResult {
  request: AccessRequest;
  /** Set when the request extends a grant the user already holds. */
  extends?: AccessRequest;
  /** The admin channel could not be told (the request is stored; the sweeper re-posts it). */
  adminPostFailed?: boolean;
}

export interface RequestServiceDeps {
  config: Pick<Config, 'levels' | 'requireMfa' | 'iamMode' | 'maxDurationDays' | 'breakGlassMaxHours' | 'adminChannelId'>;
  store: RequestStore;
  iam: IamGateway;
  identity: IdentityResolver;
  admins: AdminPolicy;
  announcer: Announcer;
  grants: GrantExecutor;
  clock: Clock;
}

export class RequestService {
  private readonly newId = monotonicUlids();
  constructor(private readonly deps: RequestServiceDeps) {}

  async submit(input: SubmitInput): Promise<SubmitResult> {
    const level = requireLevel(this.deps.config.levels, input.level);
    if (input.durationDays < 1 || input.durationDays > this.deps.config.maxDurationDays) {
      throw new ValidationError(`${input.durationDays} days is more than the maximum of ${this.deps.config.maxDurationDays} days.`, 'duration');
    }
    const breakGlassHours = input.breakGlass ? this.deps.config.breakGlassMaxHours : undefined;
    if (input.breakGlass && !breakGlassHours) throw new ValidationError('Break-glass is not enabled on this workspace.');
    const who = await this.deps.identity.resolve(input.userId);
    const live = this.deps.config.iamMode === 'live';
    const user = await this.readIamUser(who.iamUserName, live);
    const snapshot = this.snapshot(who.iamUserName, user);

    // What this IAM user holds or waits for, from its own requests (the IAM-user index): the cost
    // grows with the user's history, not with everyone's open requests. The store's slot locks
    // (case-insensitive) stay the guard against a second pending request or break-glass grant.
    const own = await this.requestsOfIamUser(who.iamUserName);
    const active = own.filter((r) => r.status === 'ACTIVE');
    const approved = own.filter((r) => r.status === 'APPROVED');
    const held = active.find((r) => r.level === level.level && r.groupName === level.groupName);
    const pending = own.find((r) => r.status === 'PENDING' && r.level === level.level);
    if (pending) {
      throw new RequestRefusedError(
        text`You already have a pending ${level.level} request (${code(pending.id)}). Wait for the admins, or cancel it with ${code(`/request-billing cancel ${pending.id}`)}.`,
      );
    }
    if (breakGlassHours) this.refuseStretchedBreakGlass(level, held, [...active, ...approved]);
    if (user?.groups && !held && !user.groups.includes(level.groupName)) {
      const quota = await this.deps.iam.groupsPerUserQuota();
      if (quota !== null && user.groups.length + 1 > quota) {
        throw new RequestRefusedError(
          text`Your IAM user ${code(who.iamUserName)} is already in ${user.groups.length} groups, the account's limit per user (${quota}). An AWS admin must remove one first.`,
        );
      }
    }

    const now = this.deps.clock.now().toISOString();
    const { request, audit } = open(
      {
        id: this.newId(Date.parse(now)),
        requesterId: input.userId,
        requesterTeamId: who.profile.teamId,
        requesterEmail: who.email,
        iamUserName: who.iamUserName,
        level: level.level,
        groupName: level.groupName,
        durationDays: input.durationDays,
        justification: input.justification,
        approvalsRequired: level.approvalsRequired,
        dryRun: this.deps.iam.dryRun,
        iam: snapshot,
        ...(held ? { extendsRequestId: held.id } : {}),
        ...(who.linkedBy ? { linkedBy: who.linkedBy } : {}),
      },
      now,
      breakGlassHours ? { maxHours: breakGlassHours } : undefined,
    );
    try {
      await this.deps.store.create(request, audit);
    } catch (err) {
      if (err instanceof RequestConflictError) {
        const other = err.current;
        if (request.breakGlass) {
          throw other
            ? liveBreakGlassRefusal(other)
            : new RequestRefusedError('Another break-glass grant of yours is being made right now; only one may be live at a time.');
        }
        throw new RequestRefusedError(
          other
            ? text`You already have a pending ${level.level} request (${code(other.id)}). Wait for the admins or cancel it first.`
            : text`You already have a pending ${level.level} request. Wait for the admins or cancel it first.`,
        );
      }
      throw err;
    }

    const posted = await this.deps.announcer.post(request, now, held);
    let stored = posted.request;
    const adminPostFailed = !posted.delivered;
    if (breakGlassHours) stored = await this.deps.grants.complete(stored, input.userId);
    return { request: stored, ...(held ? { extends: held } : {}), ...(adminPostFailed ? { adminPostFailed } : {}) };
  }

  /**
   * Break-glass never extends anything (PRODUCT §1): refused while the requester holds the level
   * or has another break-glass grant live, so repeating it cannot add up to more than its hours.
   */
  private refuseStretchedBreakGlass(level: LevelConfig, held: AccessRequest | undefined, live: AccessRequest[]): void {
    if (held) {
      throw new RequestRefusedError(
        text`You already hold ${level.level} access (${code(held.id)}), so break-glass is refused: it never extends a grant. To keep it longer, ask the admins with ${code(`/request-billing ${level.level} <n>d <justification>`)}.`,
      );
    }
    const other = live.find((r) => r.breakGlass);
    if (other) throw liveBreakGlassRefusal(other);
  }

  /** The requests stored for this IAM user, under its name as given and lowercased (IAM names are case-insensitive; the index is not). */
  private async requestsOfIamUser(iamUserName: string): Promise<AccessRequest[]> {
    const names = [...new Set([iamUserName, iamUserName.toLowerCase()])];
    const found = (await Promise.all(names.map((n) => this.deps.store.listByIamUser(n)))).flat();
    return found.filter((r) => sameIamUser(r.iamUserName, iamUserName));
  }

  /** Reads the IAM user and refuses what the verdict refuses; undefined when unreadable in dry-run (the flow goes on, marked). */
  private async readIamUser(userName: string, live: boolean): Promise<IamUserInfo | undefined> {
    const read = await readIamUser(this.deps.iam, userName);
    const refusal = iamUserRefusal(read, { requireMfa: this.deps.config.requireMfa, live }, userName, 'request');
    if (refusal) throw refusal;
    return 'user' in read ? read.user : undefined;
  }

  private snapshot(userName: string, user: IamUserInfo | undefined): IamSnapshot {
    if (!user) {
      return {
        mfa: 'not-checked',
        hasConsolePassword: null,
        currentGroups: null,
        warnings: [`IAM user ${userName} not checked (IAM could not be read; dry-run goes on)`],
      };
    }
    const mfa: MfaStatus = user.mfaDeviceCount === null ? 'not-checked' : user.mfaDeviceCount > 0 ? 'present' : 'missing';
    const warnings: string[] = [];
    if (user.hasConsolePassword === false) warnings.push(`IAM user ${userName} has no console password: billing is a console task, so it may not be usable`);
    if (this.deps.config.requireMfa === 'warn' && mfa === 'missing') warnings.push(`IAM user ${userName} has no MFA device`);
    for (const n of user.notChecked) warnings.push(`not checked: ${n}`);
    return { mfa, hasConsolePassword: user.hasConsolePassword, currentGroups: user.groups, warnings };
  }

  async status(userId: string): Promise<AccessRequest[]> {
    return this.deps.store.listByRequester(userId, 20);
  }

  async cancel(userId: string, requestId: string): Promise<AccessRequest> {
    const request = await this.deps.store.get(requestId);
    if (!request || request.requesterId !== userId) throw new RequestNotFoundError(requestId);
    if (request.status !== 'PENDING') {
      throw new RequestRefusedError(text`Request ${code(requestId)} is ${request.status.toLowerCase()}, so it cannot be cancelled.`);
    }
    let cancelled: AccessRequest;
    try {
      cancelled = await this.deps.store.update(request, cancel(request, userId, this.deps.clock.now().toISOString()));
    } catch (err) {
      if (err instanceof RequestConflictError) {
        throw new RequestRefusedError(
          text`Request ${code(requestId)} was ${err.current?.status.toLowerCase() ?? 'changed'} meanwhile, so it cannot be cancelled.`,
        );
      }
      throw err;
    }
    await this.deps.announcer.announce(cancelled);
    return cancelled;
  }

  /** An admin pins a Slack user to an IAM user, in the admin channel; one IAM user is never pinned to two Slack users. */
  async link(adminId: string, channelId: string | undefined, userId: string, iamUserName: string): Promise<void> {
    if (channelId !== this.deps.config.adminChannelId) throw new NotAllowedError('Linking is only done in the admin channel.');
    if (!(await this.deps.admins.isAdmin(adminId))) throw new NotAllowedError('Only admins can link Slack users to IAM users.');
    const user = await this.deps.iam.getUser(iamUserName).catch(() => null);
    if (user === undefined) throw new RequestRefusedError(text`There is no IAM user ${code(iamUserName)}; nothing was linked.`);
    const previous = await this.deps.store.getLink(userId);
    const linkedAt = this.deps.clock.now().toISOString();
    try {
      await this.deps.store.putLink({ userId, iamUserName, linkedBy: adminId, linkedAt });
    } catch (err) {
      if (!(err instanceof LinkConflictError)) throw err;
      const other = err.current;
      throw new RequestRefusedError(
        other
          ? text`IAM user ${code(iamUserName)} is already linked to ${{ user: other.userId }}; one IAM user belongs to one Slack user. Nothing was linked.`
          : text`IAM user ${code(iamUserName)} is already linked to another Slack user. Nothing was linked.`,
      );
    }
    // A link decides whose access a grant is: it is on the audit trail and in front of every admin.
    const was = previous ? ` (was ${previous.iamUserName})` : '';
    await this.deps.store.appendAudit({
      requestId: `link:${userId}`,
      at: linkedAt,
      actor: adminId,
      from: null,
      to: 'LINKED',
      detail: `linked ${userId} to IAM user ${iamUserName}${was}`,
    });
    await this.deps.announcer.linkMade({ adminId, userId, iamUserName, ...(previous ? { previous: previous.iamUserName } : {}) });
  }
}

function liveBreakGlassRefusal(other: AccessRequest): RequestRefusedError {
  return new RequestRefusedError(
    text`You already have break-glass ${other.level} access (${code(other.id)}); only one break-glass grant may be live at a time. Ask the admins for anything more.`,
  );
}
