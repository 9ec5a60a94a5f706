import type { SlackDirectory } from './ports.js';

const USERGROUP_CACHE_MS = 60_000;

/** Who is an admin: ADMIN_USER_IDS, plus members of ADMIN_USERGROUP_ID (cached for a minute). */
export class AdminPolicy {
  private cache: { at: number; members: Set<string> } | undefined;

  constructor(
    private readonly userIds: readonly string[],
    private readonly usergroupId: string | undefined,
    private readonly directory: SlackDirectory,
    private readonly now: () => number = Date.now,
  ) {}

  async isAdmin(userId: string): Promise<boolean> {
    if (this.userIds.includes(userId)) return true;
    if (!this.usergroupId) return false;
    if (!this.cache || this.now() - this.cache.at > USERGROUP_CACHE_MS) {
      this.cache = { at: this.now(), members: new Set(await this.directory.usergroupMembers(this.usergroupId)) };
    }
    return this.cache.members.has(userId);
  }
}
