/**
 * Slack user → IAM user (PRODUCT "Identity"), with the workspace rules of §3: only
 * full members of the bot's own workspace, with an email in an allowed domain. The mapping
 * is one-to-one: an IAM user pinned to one Slack user by `link` is never reached by another.
 */
import type { IdentityMapping } from '../config.js';
import { sameIamUser } from '../domain/iam-user.js';
import { AmbiguousMappingError, code, NotAllowedError, RequestRefusedError, text } from '../errors.js';
import type { IamGateway, RequestStore, SlackDirectory, SlackUserProfile } from './ports.js';

export interface IdentityOptions {
  mapping: IdentityMapping;
  allowedEmailDomains: string[] | undefined;
  /** The bot's own workspace (auth.test team_id). */
  teamId: () => string | undefined;
}

export interface ResolvedIdentity {
  profile: SlackUserProfile;
  email: string;
  iamUserName: string;
  pinned: boolean;
}

export class IdentityResolver {
  constructor(
    private readonly directory: SlackDirectory,
    private readonly store: Pick<RequestStore, 'getLink' | 'linkHolder'>,
    private readonly iam: Pick<IamGateway, 'findUserByEmailTag'>,
    private readonly options: IdentityOptions,
  ) {}

  /** Checks that the user may request at all and finds their IAM user name. */
  async resolve(userId: string): Promise<ResolvedIdentity> {
    const profile = await this.directory.getUser(userId);
    if (!profile) throw new NotAllowedError('Slack does not know this user.');
    const team = this.options.teamId();
    if (team && profile.teamId !== team) {
      throw new NotAllowedError('Billing access can only be requested by members of this workspace (not from Slack Connect).');
    }
    if (profile.deleted) throw new NotAllowedError('This Slack account is deactivated.');
    if (profile.isBot) throw new NotAllowedError('Bots cannot request billing access.');
    if (profile.isRestricted || profile.isUltraRestricted) {
      throw new NotAllowedError('Guest accounts cannot request billing access.');
    }
    const email = profile.email?.trim().toLowerCase();
    if (!email) {
      throw new RequestRefusedError(text`The Slack profile has no email address the bot can read (it needs the ${code('users:read.email')} scope).`);
    }
    if (!this.domainAllowed(email)) {
      throw new NotAllowedError(`The email domain (${domainOf(email)}) is not one that may map to AWS IAM users.`);
    }

    const link = await this.store.getLink(userId);
    if (link) return { profile, email, iamUserName: link.iamUserName, pinned: true };

    const iamUserName = await this.mapped(email);
    if (!iamUserName) {
      throw new RequestRefusedError(
        text`No IAM user is tagged ${code(`email=${email}`)}. Ask an admin to tag your IAM user, or to link it with ${code('/request-billing link')}.`,
      );
    }
    const holder = await this.store.linkHolder(iamUserName);
    if (holder && holder.userId !== userId) {
      throw new NotAllowedError(
        text`The IAM user ${code(iamUserName)} is linked to another Slack user, so it cannot be requested from this account. Ask an admin to check the link.`,
      );
    }
    return { profile, email, iamUserName, pinned: false };
  }

  /**
   * Whether this Slack user's own IAM user is `iamUserName`, whichever way they reach it: a
   * pinned link, or what their email maps to. Used to refuse approvals (and Keeps) of one's own
   * access from a second Slack account. Throws when it cannot be told (IAM unreadable under
   * `tag`): a check that could not be made never lets an approval through.
   */
  async isOwnIamUser(slackUserId: string, iamUserName: string): Promise<boolean> {
    return (await this.iamUsersOf(slackUserId)).some((u) => sameIamUser(u, iamUserName));
  }

  /**
   * Every IAM user this Slack user reaches: the pinned link and what their email maps to,
   * without the rules on who may request (a deactivated holder still has grants to revoke).
   */
  async iamUsersOf(slackUserId: string): Promise<string[]> {
    const names: string[] = [];
    const link = await this.store.getLink(slackUserId);
    if (link) names.push(link.iamUserName);
    const profile = await this.directory.getUser(slackUserId);
    const email = profile?.email?.trim().toLowerCase();
    if (!email || !this.domainAllowed(email)) return names;
    try {
      const mapped = await this.mapped(email);
      if (mapped) names.push(mapped);
    } catch (err) {
      if (!(err instanceof AmbiguousMappingError)) throw err;
      names.push(...err.userNames);
    }
    return names;
  }

  private domainAllowed(email: string): boolean {
    const allowed = this.options.allowedEmailDomains;
    return !allowed || allowed.includes(domainOf(email));
  }

  /** The IAM user an email maps to under IAM_USER_MAPPING; undefined when `tag` finds none. */
  private async mapped(email: string): Promise<string | undefined> {
    switch (this.options.mapping) {
      case 'email':
        return email;
      case 'tag':
        return this.iam.findUserByEmailTag(email);
      default:
        return email.slice(0, email.lastIndexOf('@'));
    }
  }
}

function domainOf(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}
