/**
 * Ending grants: expiry (sweeper), revoke (admin) and done (holder). ACTIVE → EXPIRED or
 * REVOKED after the user is out of the group, unless another grant of theirs still needs
 * that group. The table is the truth: when the ending write loses to an extension or to
 * another end, IAM is put back in line with what won, and every IAM change is audited.
 */
import { sameIamUser } from '../domain/iam-user.js';
import type { AccessRequest } from '../domain/request.js';
import { type EndStatus, end, oweRevoke } from '../domain/transitions.js';
import {
  BillingAccessError,
  code,
  errorMessage,
  errorName,
  NotAllowedError,
  RequestConflictError,
  RequestNotFoundError,
  RequestRefusedError,
  text,
  user,
} from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import { type ClickOrigin, fromAdminPlace } from './decision-service.js';
import type { IdentityResolver } from './identity.js';
import type { GroupMembership } from './membership.js';
import type { BillingUsage, Clock, IamGateway, RequestStore, UsageReader } from './ports.js';

/** IAM did not answer while a grant was being ended: the grant stays ACTIVE, and a revoke is recorded for the sweeper to finish. */
export class EndNotFinishedError extends BillingAccessError {
  override name = 'EndNotFinishedError';
  constructor(
    readonly grant: AccessRequest,
    /** The revoke is recorded on the grant: the sweeper finishes it. */
    readonly owed: boolean,
    cause: unknown,
    /** How many grants the command was ending, when more than this one. */
    of = 1,
  ) {
    super(
      [
        of > 1 ? `Not every grant could be ended now (${of} in all): the access ` : 'The access ',
        ...text`${code(grant.id)} could not be taken out of ${code(grant.groupName)} because AWS IAM did not answer. `,
        owed ? 'The revoke is recorded and the sweeper finishes it within one sweep.' : 'Nothing was recorded; try again.',
      ],
      { cause, detail: `ending ${grant.id}: ${errorName(cause)}: ${errorMessage(cause)}` },
    );
  }
}

const MAX_RACE_RETRIES = 5;
/**
 * How long an ending grant waits for access advisor before its end is written and told: the end
 * notice says whether the access was used, and a slow or failing read makes it say "usage
 * unknown" instead of holding the notice (the user is already out of the group by then).
 */
export const END_USAGE_DEADLINE_MS = 8_000;

type Log = { error(obj: object, msg?: string): void };

export interface LifecycleDeps {
  adminChannelId: string;
  store: RequestStore;
  iam: IamGateway;
  admins: AdminPolicy;
  identity: IdentityResolver;
  announcer: Announcer;
  membership: GroupMembership;
  clock: Clock;
  log: Log;
  /** IAM access advisor: without it, ended grants carry no usage evidence. */
  usage?: UsageReader;
}

/** What releasing a grant's group membership did in IAM. */
interface Release {
  detail: string;
  removed: boolean;
}

export class LifecycleService {
  constructor(private readonly deps: LifecycleDeps) {}

  /**
   * Ends one grant. Returns the ended request, or undefined when someone else ended it first
   * or an extension moved its expiry (only the winner of the conditional write tells anyone).
   */
  async end(grant: AccessRequest, to: EndStatus, actor: string): Promise<AccessRequest | undefined> {
    const { store, clock } = this.deps;
    let current: AccessRequest | undefined = grant;
    let removedEarlier = false;
    let usage: Promise<BillingUsage | undefined> | undefined;
    for (let attempt = 0; attempt <= MAX_RACE_RETRIES; attempt++) {
      const now = clock.now().toISOString();
      if (current?.status !== 'ACTIVE' || (to === 'EXPIRED' && (current.expiresAt ?? '') > now)) break;
      // Asked before the removal, while the report still lists the group's billing services;
      // read once however many races follow.
      usage ??= this.usageOf(current);
      let release: Release;
      try {
        release = await this.release(current, removedEarlier);
      } catch (err) {
        const owed = to === 'REVOKED' && (await this.owe(current, actor, now, err));
        throw new EndNotFinishedError(current, owed, err);
      }
      removedEarlier ||= release.removed;
      const used = await usage;
      try {
        // Stamped when written, not when the IAM call began: a notice stamped minutes early would
        // look overdue to another sweep's redelivery while this one is still delivering it.
        const ended = await store.update(current, end(current, to, actor, clock.now().toISOString(), release.detail, used));
        await this.deps.announcer.announce(ended);
        return ended;
      } catch (err) {
        if (!(err instanceof RequestConflictError)) throw err;
        current = err.current;
      }
    }
    if (removedEarlier) await this.putBack(grant, current, actor);
    return undefined;
  }

  /** What access advisor says of the grant's user, within END_USAGE_DEADLINE_MS: a failure to read never stops the end. */
  private async usageOf(grant: AccessRequest): Promise<BillingUsage | undefined> {
    const usage = await this.deps.usage?.lastBillingUse({ userName: grant.iamUserName }, { deadlineMs: END_USAGE_DEADLINE_MS, urgent: true });
    if (usage && !usage.known) this.deps.log.error({ event: 'grant.usage_unknown', requestId: grant.id, reason: usage.reason });
    return usage;
  }

  /**
   * A revoke or done whose IAM call failed (it may even have reached IAM) is recorded on the
   * grant, so the sweeper finishes it: nobody has to notice the failure and click again. An
   * expiry needs no record: the grant stays due.
   */
  private async owe(grant: AccessRequest, actor: string, now: string, err: unknown): Promise<boolean> {
    if (grant.endDue) return true;
    try {
      await this.deps.store.update(grant, oweRevoke(grant, actor, now, errorName(err)));
      return true;
    } catch (writeErr) {
      this.deps.log.error({ event: 'revoke.not_recorded', requestId: grant.id, error: errorName(writeErr), message: errorMessage(writeErr) });
      return false;
    }
  }

  /** Takes the user out of the group unless another grant of theirs needs it; re-adds if one was approved meanwhile. */
  private async release(grant: AccessRequest, removedEarlier: boolean): Promise<Release> {
    const { iam } = this.deps;
    const who = `${grant.iamUserName} from ${grant.groupName}`;
    const others = await this.othersNeedingGroup(grant);
    if (others.length > 0) {
      const ids = others.map((o) => o.id).join(', ');
      if (!removedEarlier) return { removed: false, detail: `kept ${grant.iamUserName} in ${grant.groupName}: still needed by ${ids}` };
      await iam.addUserToGroup(grant.iamUserName, grant.groupName);
      return { removed: false, detail: `removed ${who}; re-added: ${ids} was granted meanwhile` };
    }
    const outcome = await iam.removeUserFromGroup(grant.iamUserName, grant.groupName, { endingGrant: true });
    let detail = iam.dryRun
      ? `[dry-run] would remove ${who}`
      : outcome === 'not-a-member' && !removedEarlier
        ? `already removed ${who} (not a member any more)`
        : `removed ${who}`;
    // A grant of the same user may have been approved while we removed: look again and put the user back.
    const arrived = await this.othersNeedingGroup(grant);
    if (arrived.length > 0) {
      await iam.addUserToGroup(grant.iamUserName, grant.groupName);
      detail += `; re-added: ${arrived.map((o) => o.id).join(', ')} was granted meanwhile`;
      return { removed: false, detail };
    }
    // In dry-run nothing left IAM, so there is nothing to put back after a lost race.
    return { removed: !iam.dryRun && (outcome === 'removed' || removedEarlier), detail };
  }

  /**
   * The ending write lost after the user was taken out of the group. The table is the truth:
   * if the grant (or another of the user's) is still ACTIVE, the user goes back in; either
   * way the removal is recorded on the grant's audit trail.
   */
  private async putBack(grant: AccessRequest, winner: AccessRequest | undefined, actor: string): Promise<void> {
    const { store, iam, clock } = this.deps;
    const subject = winner ?? grant;
    const who = `${grant.iamUserName} in ${grant.groupName}`;
    const stillActive = winner?.status === 'ACTIVE' || (await this.othersNeedingGroup(grant)).length > 0;
    const lost = `removed ${grant.iamUserName} from ${grant.groupName}, then lost the ending write (now ${winner?.status ?? 'gone'})`;
    if (!stillActive) {
      await store.appendNote(subject, { actor, detail: lost, at: clock.now().toISOString() });
      return;
    }
    try {
      await iam.addUserToGroup(grant.iamUserName, grant.groupName);
    } catch (err) {
      const detail = `${lost}; could not re-add ${who}: ${errorName(err)}: ${errorMessage(err)}`;
      await store.appendNote(subject, { actor, detail, at: clock.now().toISOString() });
      this.deps.log.error({ event: 'iam.put_back_failed', requestId: grant.id, error: errorName(err), message: errorMessage(err) });
      await this.deps.announcer.putBackFailed(subject, grant, errorName(err));
      throw err;
    }
    await store.appendNote(subject, { actor, detail: `${lost}; re-added ${who}: the table says ACTIVE`, at: clock.now().toISOString() });
  }

  private othersNeedingGroup(grant: AccessRequest): Promise<AccessRequest[]> {
    return this.deps.membership.othersNeeding(grant);
  }

  /**
   * Admin revoke of one request, or of every active grant of a user; only in the admin channel
   * or from the admin's own App Home (`from: 'home'`); a click naming no channel is refused.
   */
  async revoke(
    actor: string,
    target: { requestId: string } | { userId: string },
    channelId: string | undefined,
    from: ClickOrigin = 'channel',
  ): Promise<AccessRequest[]> {
    if (!fromAdminPlace({ channelId, from }, this.deps.adminChannelId)) throw new NotAllowedError('Revoking is only done in the admin channel.');
    if (!(await this.deps.admins.isAdmin(actor))) throw new NotAllowedError('Only billing admins can revoke access.');
    const grants = 'requestId' in target ? await this.activeRequest(target.requestId) : await this.activeGrantsOf(target.userId);
    if (grants.length === 0) {
      throw new RequestRefusedError(
        'requestId' in target ? text`Request ${code(target.requestId)} is not an active grant.` : text`${user(target.userId)} holds no active grant.`,
      );
    }
    return this.endAll(grants, actor);
  }

  /** The holder ends their own grant(s) early. */
  async done(userId: string, level: string | undefined): Promise<AccessRequest[]> {
    const grants = (await this.activeGrantsOf(userId)).filter((g) => level === undefined || g.level === level);
    if (grants.length === 0) throw new RequestRefusedError(`You hold no active ${level ? `${level} ` : ''}billing access.`);
    return this.endAll(grants, userId);
  }

  /** Ends every grant, each on its own: one that IAM refuses does not keep the others. */
  private async endAll(grants: AccessRequest[], actor: string): Promise<AccessRequest[]> {
    const ended: AccessRequest[] = [];
    const unfinished: EndNotFinishedError[] = [];
    for (const grant of grants) {
      try {
        const result = await this.end(grant, 'REVOKED', actor);
        if (result) ended.push(result);
      } catch (err) {
        if (!(err instanceof EndNotFinishedError)) throw err;
        unfinished.push(err);
      }
    }
    const [first, ...more] = unfinished;
    if (first)
      throw more.length === 0 && ended.length === 0
        ? first
        : new EndNotFinishedError(
            first.grant,
            unfinished.every((u) => u.owed),
            first.cause,
            ended.length + unfinished.length,
          );
    if (ended.length === 0) throw new RequestRefusedError('That access was already ended by someone else.');
    return ended;
  }

  private async activeRequest(requestId: string): Promise<AccessRequest[]> {
    const request = await this.deps.store.get(requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    return request.status === 'ACTIVE' ? [request] : [];
  }

  /** Every ACTIVE grant a Slack user holds, by Slack id and by the IAM users they reach, through the status index: however long their history. */
  private async activeGrantsOf(slackUserId: string): Promise<AccessRequest[]> {
    const [active, iamUsers] = await Promise.all([this.deps.store.listByStatus('ACTIVE'), this.deps.identity.iamUsersOf(slackUserId, 'holder')]);
    return active.filter((r) => r.requesterId === slackUserId || iamUsers.some((u) => sameIamUser(u, r.iamUserName)));
  }
}
