/**
 * Ending grants: expiry (sweeper), revoke (admin) and done (holder). ACTIVE → EXPIRED or
 * REVOKED after the user is out of the group, unless another ACTIVE grant of theirs still
 * needs that group.
 */
import type { AccessRequest } from '../domain/request.js';
import { ConflictError, NotAllowedError, RequestNotFoundError, RequestRefusedError } from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { Announcer } from './announcer.js';
import type { Clock, IamGateway, RequestStore } from './ports.js';

export type EndStatus = 'EXPIRED' | 'REVOKED';

export class LifecycleService {
  constructor(
    private readonly adminChannelId: string,
    private readonly store: RequestStore,
    private readonly iam: IamGateway,
    private readonly admins: AdminPolicy,
    private readonly announcer: Announcer,
    private readonly clock: Clock,
  ) {}

  /**
   * Ends one grant. Returns the ended request, or undefined when someone else ended or
   * changed it first (only the winner of the conditional write tells anyone).
   */
  async end(grant: AccessRequest, to: EndStatus, actor: string): Promise<AccessRequest | undefined> {
    if (grant.status !== 'ACTIVE') return undefined;
    const now = this.clock.now().toISOString();
    let detail: string;
    const others = await this.othersNeedingGroup(grant, now);
    if (others.length > 0) {
      detail = `kept ${grant.iamUserName} in ${grant.groupName}: still needed by ${others.map((o) => o.id).join(', ')}`;
    } else {
      const removed = await this.iam.removeUserFromGroup(grant.iamUserName, grant.groupName);
      const who = `${grant.iamUserName} from ${grant.groupName}`;
      detail = this.iam.dryRun
        ? `[dry-run] would remove ${who}`
        : removed === 'not-a-member'
          ? `already removed ${who} (not a member any more)`
          : `removed ${who}`;
      // A grant of the same user may have been approved while we removed: look again and put the user back.
      const arrived = await this.othersNeedingGroup(grant, now);
      if (arrived.length > 0) {
        await this.iam.addUserToGroup(grant.iamUserName, grant.groupName);
        detail += `; re-added: ${arrived.map((o) => o.id).join(', ')} was granted meanwhile`;
      }
    }
    try {
      const ended = await this.store.update(grant, { status: to, endedBy: actor, endedAt: now, noticeDue: 'DUE', updatedAt: now }, { actor, detail });
      await this.announcer.announce(ended);
      return ended;
    } catch (err) {
      if (err instanceof ConflictError) return undefined;
      throw err;
    }
  }

  /** Other grants of the same IAM user on the same group that are live or about to be (APPROVED: the add is in flight). */
  private async othersNeedingGroup(grant: AccessRequest, now: string): Promise<AccessRequest[]> {
    return (await this.store.listByIamUser(grant.iamUserName)).filter(
      (r) =>
        r.id !== grant.id &&
        r.groupName === grant.groupName &&
        !r.extendsRequestId &&
        (r.status === 'APPROVED' || (r.status === 'ACTIVE' && (r.expiresAt ?? '') > now)),
    );
  }

  /** Admin revoke of one request, or of every active grant of a user. */
  async revoke(actor: string, target: { requestId: string } | { userId: string }, channelId?: string): Promise<AccessRequest[]> {
    if (channelId !== undefined && channelId !== this.adminChannelId) throw new NotAllowedError('Revoke buttons only work in the admin channel.');
    if (!(await this.admins.isAdmin(actor))) throw new NotAllowedError('Only billing admins can revoke access.');
    const grants = await this.activeGrants(target);
    if (grants.length === 0) {
      throw new RequestRefusedError(
        'requestId' in target ? `Request \`${target.requestId}\` is not an active grant.` : `<@${target.userId}> holds no active grant.`,
      );
    }
    return this.endAll(grants, actor);
  }

  /** The holder ends their own grant(s) early. */
  async done(userId: string, level: string | undefined): Promise<AccessRequest[]> {
    const grants = (await this.activeGrants({ userId })).filter((g) => level === undefined || g.level === level);
    if (grants.length === 0) throw new RequestRefusedError(`You hold no active ${level ? `${level} ` : ''}billing access.`);
    return this.endAll(grants, userId);
  }

  private async endAll(grants: AccessRequest[], actor: string): Promise<AccessRequest[]> {
    const ended: AccessRequest[] = [];
    for (const grant of grants) {
      const result = await this.end(grant, 'REVOKED', actor);
      if (result) ended.push(result);
    }
    if (ended.length === 0) throw new RequestRefusedError('That access was already ended by someone else.');
    return ended;
  }

  private async activeGrants(target: { requestId: string } | { userId: string }): Promise<AccessRequest[]> {
    if ('requestId' in target) {
      const request = await this.store.get(target.requestId);
      if (!request) throw new RequestNotFoundError(target.requestId);
      return request.status === 'ACTIVE' ? [request] : [];
    }
    return (await this.store.listByRequester(target.userId, 100)).filter((r) => r.status === 'ACTIVE');
  }
}
