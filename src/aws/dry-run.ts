/**
 * IAM_MODE=dry-run: the gateway that reads IAM like the live one and sends no write.
 */

import { GroupNotAllowedError } from '../errors.js';
import type { IamGateway, RemoveOutcome } from '../services/ports.js';
import { assertGroupName } from './iam.js';

/**
 * IAM_MODE=dry-run: reads go to IAM so the admin sees what would happen; writes are
 * reported, never sent. Reads that fail are reported as "not checked" by the caller.
 */
export class DryRunIamGateway implements IamGateway {
  readonly dryRun = true;
  constructor(
    private readonly reader: IamGateway,
    private readonly allowedGroups: ReadonlySet<string>,
  ) {}

  getUser(userName: string) {
    return this.reader.getUser(userName);
  }
  recheckUser(userName: string, options: { mfa: boolean }) {
    return this.reader.recheckUser(userName, options);
  }
  findUserByEmailTag(email: string) {
    return this.reader.findUserByEmailTag(email);
  }
  groupsPerUserQuota() {
    return this.reader.groupsPerUserQuota();
  }
  groupPolicies(groupName: string, expectedPolicyArn: string) {
    return this.reader.groupPolicies(groupName, expectedPolicyArn);
  }
  groupMembers(groupName: string) {
    return this.reader.groupMembers(groupName);
  }
  reviewMember(userName: string, now: Date) {
    return this.reader.reviewMember(userName, now);
  }
  /** Changes nothing; the caller records and shows what would have changed. */
  async addUserToGroup(_userName: string, groupName: string): Promise<void> {
    if (!this.allowedGroups.has(groupName)) throw new GroupNotAllowedError(groupName);
  }
  async removeUserFromGroup(_userName: string, groupName: string, options: { endingGrant?: boolean } = {}): Promise<RemoveOutcome> {
    if (options.endingGrant) assertGroupName(groupName);
    else if (!this.allowedGroups.has(groupName)) throw new GroupNotAllowedError(groupName);
    return 'removed';
  }
}
