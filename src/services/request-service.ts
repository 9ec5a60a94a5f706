/**
 * The employee's side: submit a request (with every pre-check of PRODUCT §1), status,
 * cancel, and the admin's `link`. Returns data; handlers choose how to show it.
 */
import { monotonicFactory } from 'ulid';
import type { Config, LevelConfig } from '../config.js';
import { unknownLevel } from '../domain/command.js';
import { type IamUserInfo, iamUserProblem, sameIamUser } from '../domain/iam-user.js';
import type { AccessRequest, IamSnapshot, MfaStatus } from '../domain/request.js';
import { addDays } from '../domain/request.js';
import { ConflictError, code, errorMessage, errorName, NotAllowedError, RequestNotFoundError, RequestRefusedError, text, ValidationError } from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import type { GrantExecutor } from './grant.js';
import type { IdentityResolver } from './identity.js';
import type { Clock, IamGateway, IdentityLink, Notifier, RequestStore } from './ports.js';

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

type RequestConfig = Pick<Config, 'levels' | 'requireMfa' | 'iamMode' | 'maxDurationDays' | 'breakGlassMaxHours' | 'adminChannelId'>;

export class RequestService {
  private readonly newId = monotonicFactory();

  constructor(
    private readonly config: RequestConfig,
    private readonly store: RequestStore,
    private readonly iam: IamGateway,
    private readonly identity: IdentityResolver,
    private readonly admins: AdminPolicy,
    private readonly notifier: Notifier,
    private readonly announcer: Announcer,
    private readonly grants: GrantExecutor,
    private readonly clock: Clock,
  ) {}

  level(level: string): LevelConfig {
    const found = this.config.levels.find((l) => l.level === level);
    if (!found)
      throw unknownLevel(
        level,
        this.config.levels.map((l) => l.level),
      );
    return found;
  }

  async submit(input: SubmitInput): Promise<SubmitResult> {
    const level = this.level(input.level);
    if (input.durationDays < 1 || input.durationDays > this.config.maxDurationDays) {
      throw new ValidationError(`${input.durationDays} days is more than the maximum of ${this.config.maxDurationDays} days.`, 'duration');
    }
    const breakGlassHours = input.breakGlass ? this.config.breakGlassMaxHours : undefined;
    if (input.breakGlass && !breakGlassHours) throw new ValidationError('Break-glass is not enabled on this workspace.');
    const who = await this.identity.resolve(input.userId);
    const live = this.config.iamMode === 'live';
    const user = await this.readIamUser(who.iamUserName, live);
    const snapshot = this.snapshot(who.iamUserName, user);

    // Found through the status index: what a user holds or waits for, however long their history.
    const [active, approved, pendingAll] = await Promise.all([
      this.store.listByStatus('ACTIVE'),
      this.store.listByStatus('APPROVED'),
      this.store.listByStatus('PENDING'),
    ]);
    const mine = (r: AccessRequest) => sameIamUser(r.iamUserName, who.iamUserName);
    const held = active.find((r) => mine(r) && r.level === level.level && r.groupName === level.groupName);
    const pending = pendingAll.find((r) => mine(r) && r.level === level.level);
    if (pending) {
      throw new RequestRefusedError(
        text`You already have a pending ${level.level} request (${code(pending.id)}). Wait for the admins, or cancel it with ${code(`/request-billing cancel ${pending.id}`)}.`,
      );
    }
    if (breakGlassHours) this.refuseStretchedBreakGlass(level, held, [...active, ...approved].filter(mine));
    if (user?.groups && !held && !user.groups.includes(level.groupName)) {
      const quota = await this.iam.groupsPerUserQuota();
      if (quota !== null && user.groups.length + 1 > quota) {
        throw new RequestRefusedError(
          text`Your IAM user ${code(who.iamUserName)} is already in ${user.groups.length} groups, the account's limit per user (${quota}). An AWS admin must remove one first.`,
        );
      }
    }

    const now = this.clock.now().toISOString();
    const request: AccessRequest = {
      id: this.newId(Date.parse(now)),
      status: breakGlassHours ? 'APPROVED' : 'PENDING',
      requesterId: input.userId,
      requesterTeamId: who.profile.teamId,
      requesterEmail: who.email,
      iamUserName: who.iamUserName,
      level: level.level,
      groupName: level.groupName,
      durationDays: input.durationDays,
      justification: input.justification,
      createdAt: now,
      approvals: breakGlassHours ? [{ by: input.userId, at: now }] : [],
      approverIds: breakGlassHours ? [input.userId] : [],
      approvalsRequired: level.approvalsRequired,
      dryRun: this.iam.dryRun,
      iam: snapshot,
      version: 1,
      updatedAt: now,
      ...(held ? { extendsRequestId: held.id } : {}),
      ...(who.linkedBy ? { linkedBy: who.linkedBy } : {}),
      // The cap is fixed here and only ever shortened: a grant made later (after a crash) ends sooner, never later.
      ...(breakGlassHours
        ? { decidedBy: input.userId, decidedAt: now, breakGlass: true, expiresAt: addDays(now, Math.min(breakGlassHours / 24, input.durationDays)) }
        : {}),
    };
    try {
      await this.store.create(request, {
        actor: input.userId,
        detail: `${breakGlassHours ? 'break-glass ' : ''}${held ? 'extension ' : ''}request for ${level.level} (${level.groupName}), ${input.durationDays}d`,
      });
    } catch (err) {
      if (err instanceof ConflictError) {
        const other = err.current as AccessRequest | undefined;
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

    let stored = request;
    let adminPostFailed = false;
    try {
      const where = await this.notifier.requestPosted(request, held ? { extensionOf: held } : {});
      stored = await this.store.update(request, { adminMessage: where, updatedAt: now }, { actor: 'system', detail: '' });
    } catch (err) {
      if (err instanceof ConflictError && err.current) stored = err.current as AccessRequest;
      else adminPostFailed = true;
    }
    if (breakGlassHours) stored = await this.grants.complete(stored, input.userId);
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

  /** Reads the IAM user and refuses what the verdict refuses; undefined when unreadable in dry-run (the flow goes on, marked). */
  private async readIamUser(userName: string, live: boolean): Promise<IamUserInfo | undefined> {
    let user: IamUserInfo | undefined;
    let readError: unknown;
    try {
      user = await this.iam.getUser(userName);
    } catch (err) {
      readError = err;
    }
    const read = readError === undefined ? { user } : { error: readError };
    switch (iamUserProblem(read, { requireMfa: this.config.requireMfa, live })) {
      case 'missing':
        throw new RequestRefusedError(
          text`There is no IAM user ${code(userName)} in this AWS account. Ask an admin to create it, or to link your Slack user to your IAM user with ${code('/request-billing link @you <iam-user>')}.`,
        );
      case 'unreadable':
        throw new RequestRefusedError(text`Could not check your IAM user ${code(userName)}. Nothing was stored; try again later or tell an admin.`, {
          cause: readError,
          detail: `reading IAM user ${userName} failed: ${errorName(readError)}: ${errorMessage(readError)}`,
        });
      case 'no-mfa':
        throw new RequestRefusedError(
          text`Your IAM user ${code(userName)} has no MFA device, and billing access requires one. Add one in the AWS console (IAM → Users → ${userName} → Security credentials → Assign MFA device), then ask again.`,
        );
      case 'mfa-unreadable':
      case 'partly-unreadable':
        throw new RequestRefusedError(text`Could not check your IAM user ${code(userName)}. Nothing was stored; try again later or tell an admin.`, {
          detail: `IAM user ${userName} not fully readable: ${user?.notChecked.join('; ') ?? ''}`,
        });
      default:
        return user;
    }
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
    if (this.config.requireMfa === 'warn' && mfa === 'missing') warnings.push(`IAM user ${userName} has no MFA device`);
    for (const n of user.notChecked) warnings.push(`not checked: ${n}`);
    return { mfa, hasConsolePassword: user.hasConsolePassword, currentGroups: user.groups, warnings };
  }

  async status(userId: string): Promise<AccessRequest[]> {
    return this.store.listByRequester(userId, 20);
  }

  async cancel(userId: string, requestId: string): Promise<AccessRequest> {
    const request = await this.store.get(requestId);
    if (!request || request.requesterId !== userId) throw new RequestNotFoundError(requestId);
    if (request.status !== 'PENDING') {
      throw new RequestRefusedError(text`Request ${code(requestId)} is ${request.status.toLowerCase()}, so it cannot be cancelled.`);
    }
    const now = this.clock.now().toISOString();
    let cancelled: AccessRequest;
    try {
      cancelled = await this.store.update(
        request,
        { status: 'CANCELLED', decidedBy: userId, decidedAt: now, updatedAt: now },
        { actor: userId, detail: 'cancelled by the requester' },
      );
    } catch (err) {
      if (err instanceof ConflictError) {
        const current = err.current as AccessRequest | undefined;
        throw new RequestRefusedError(text`Request ${code(requestId)} was ${current?.status.toLowerCase() ?? 'changed'} meanwhile, so it cannot be cancelled.`);
      }
      throw err;
    }
    await this.announcer.announce(cancelled);
    return cancelled;
  }

  /** An admin pins a Slack user to an IAM user, in the admin channel; one IAM user is never pinned to two Slack users. */
  async link(adminId: string, channelId: string | undefined, userId: string, iamUserName: string): Promise<void> {
    if (channelId !== this.config.adminChannelId) throw new NotAllowedError('Linking is only done in the admin channel.');
    if (!(await this.admins.isAdmin(adminId))) throw new NotAllowedError('Only admins can link Slack users to IAM users.');
    const user = await this.iam.getUser(iamUserName).catch(() => null);
    if (user === undefined) throw new RequestRefusedError(text`There is no IAM user ${code(iamUserName)}; nothing was linked.`);
    const previous = await this.store.getLink(userId);
    const linkedAt = this.clock.now().toISOString();
    try {
      await this.store.putLink({ userId, iamUserName, linkedBy: adminId, linkedAt });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const other = err.current as IdentityLink | undefined;
      throw new RequestRefusedError(
        other
          ? text`IAM user ${code(iamUserName)} is already linked to ${{ user: other.userId }}; one IAM user belongs to one Slack user. Nothing was linked.`
          : text`IAM user ${code(iamUserName)} is already linked to another Slack user. Nothing was linked.`,
      );
    }
    // A link decides whose access a grant is: it is on the audit trail and in front of every admin.
    const was = previous ? ` (was ${previous.iamUserName})` : '';
    await this.store.appendAudit({
      requestId: `link:${userId}`,
      at: linkedAt,
      actor: adminId,
      from: null,
      to: 'LINKED',
      detail: `linked ${userId} to IAM user ${iamUserName}${was}`,
    });
    await this.announcer.linkMade({ adminId, userId, iamUserName, ...(previous ? { previous: previous.iamUserName } : {}) });
  }
}

function liveBreakGlassRefusal(other: AccessRequest): RequestRefusedError {
  return new RequestRefusedError(
    text`You already have break-glass ${other.level} access (${code(other.id)}); only one break-glass grant may be live at a time. Ask the admins for anything more.`,
  );
}
