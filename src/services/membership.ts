/**
 * Which grants keep an IAM user in a group. A user leaves a group only when no other grant of
 * theirs needs it: ACTIVE ones (the table is the truth, even past expiry until swept) and
 * APPROVED ones (their add is in flight). IAM user names compare case-insensitively.
 */
import { sameIamUser } from '../domain/iam-user.js';
import type { AccessRequest } from '../domain/request.js';
import type { RequestStore } from './ports.js';

export class GroupMembership {
  constructor(private readonly store: Pick<RequestStore, 'listByStatus'>) {}

  /** The other grants of the same IAM user on the same group; extension requests never add anyone, so they do not count. */
  async othersNeeding(grant: Pick<AccessRequest, 'id' | 'iamUserName' | 'groupName'>): Promise<AccessRequest[]> {
    const [active, approved] = await Promise.all([this.store.listByStatus('ACTIVE'), this.store.listByStatus('APPROVED')]);
    return [...active, ...approved].filter(
      (r) => r.id !== grant.id && r.groupName === grant.groupName && !r.extendsRequestId && sameIamUser(r.iamUserName, grant.iamUserName),
    );
  }
}
