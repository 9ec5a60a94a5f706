/** The SlackDirectory over the Slack Web API: who a user is, who is in a user group. */
import type { WebClient } from '@slack/web-api';
import type { SlackDirectory, SlackUserProfile } from '../services/ports.js';

/** Slack users and user groups, read through the Web API (users:read, users:read.email, usergroups:read). */
export class SlackWebDirectory implements SlackDirectory {
  constructor(private readonly client: WebClient) {}

  async getUser(userId: string): Promise<SlackUserProfile | undefined> {
    try {
      const out = await this.client.users.info({ user: userId });
      const u = out.user;
      if (!u?.id) return undefined;
      return {
        id: u.id,
        teamId: u.team_id ?? '',
        email: u.profile?.email,
        deleted: Boolean(u.deleted),
        isRestricted: Boolean(u.is_restricted),
        isUltraRestricted: Boolean(u.is_ultra_restricted),
        isBot: Boolean(u.is_bot),
      };
    } catch (err) {
      if ((err as { data?: { error?: string } }).data?.error === 'user_not_found') return undefined;
      throw err;
    }
  }

  async usergroupMembers(usergroupId: string): Promise<string[]> {
    const out = await this.client.usergroups.users.list({ usergroup: usergroupId });
    return out.users ?? [];
  }
}
