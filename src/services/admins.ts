import { BillingAccessError, errorMessage, errorName } from '../errors.js';
import type { SlackDirectory } from './ports.js';

const USERGROUP_CACHE_MS = 60_000;

/** Slack did not answer who is in the admin user group: nobody is taken for an admin on a guess. */
export class AdminsUnknownError extends BillingAccessError {
  override name = 'AdminsUnknownError';
  constructor(usergroupId: string, cause: unknown) {
    super('Slack did not say who the billing admins are right now (the admin user group could not be read), so nothing was changed. Try again in a minute.', {
      cause,
      detail: `usergroups.users.list of ${usergroupId} failed: ${errorName(cause)}: ${errorMessage(cause)}`,
    });
  }
}

/** Who is an admin: ADMIN_USER_IDS, plus members of ADMIN_USERGROUP_ID (cached for a minute). */
export class AdminPolicy {
  private cache: { at: number; members: Set<string> } | undefined;

  constructor(
    private readonly userIds: readonly string[],
    private readonly usergroupId: string | undefined,
    private readonly directory: SlackDirectory,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws AdminsUnknownError when the user group is needed and Slack does not answer: never a guess either way. */
  async isAdmin(userId: string): Promise<boolean> {
    if (this.userIds.includes(userId)) return true;
    if (!this.usergroupId) return false;
    if (!this.cache || this.now() - this.cache.at > USERGROUP_CACHE_MS) {
      let members: string[];
      try {
        members = await this.directory.usergroupMembers(this.usergroupId);
      } catch (err) {
        throw new AdminsUnknownError(this.usergroupId, err);
      }
      this.cache = { at: this.now(), members: new Set(members) };
    }
    return this.cache.members.has(userId);
  }
}
