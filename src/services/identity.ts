/**
 * Slack user → IAM user (PRODUCT "Identity"), with the workspace rules of §3: only
 * full members of the bot's own workspace, with an email in an allowed domain.
 */
import type { IdentityMapping } from '../config.js';
import { NotAllowedError, RequestRefusedError } from '../errors.js';
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
    private readonly store: RequestStore,
    private readonly iam: IamGateway,
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
      throw new RequestRefusedError('Your Slack profile has no email address the bot can read (it needs the users:read.email scope).');
    }
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const allowed = this.options.allowedEmailDomains;
    if (allowed && !allowed.includes(domain)) {
      throw new NotAllowedError(`Your email domain (${domain}) is not one that may map to AWS IAM users.`);
    }

    const link = await this.store.getLink(userId);
    if (link) return { profile, email, iamUserName: link.iamUserName, pinned: true };

    switch (this.options.mapping) {
      case 'email':
        return { profile, email, iamUserName: email, pinned: false };
      case 'tag': {
        const userName = await this.iam.findUserByEmailTag(email);
        if (!userName) {
          throw new RequestRefusedError(
            `No IAM user is tagged \`email=${email}\`. Ask an admin to tag your IAM user, or to link it with \`/request-billing link\`.`,
          );
        }
        return { profile, email, iamUserName: userName, pinned: false };
      }
      default:
        return { profile, email, iamUserName: email.slice(0, email.lastIndexOf('@')), pinned: false };
    }
  }
}
