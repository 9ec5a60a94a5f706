/**
 * Slack user → IAM user (PRODUCT "Identity"), with the workspace rules of §3: only
 * full members of the bot's own workspace, with an email in an allowed domain. The mapping
 * is one-to-one: an IAM user pinned to one Slack user by `link` is never reached by another.
 */
import type { IdentityMapping } from '../config.js';
import { sameIamUser } from '../domain/iam-user.js';
import type { AccessRequest } from '../domain/request.js';
import { AmbiguousMappingError, code, NotAllowedError, RequestRefusedError, text, user } from '../errors.js';
import type { IamGateway, RequestStore, SlackDirectory, SlackUserProfile } from './ports.js';

export interface IdentityDeps {
  directory: SlackDirectory;
  store: Pick<RequestStore, 'getLink' | 'linkHolder'>;
  iam: Pick<IamGateway, 'findUserByEmailTag'>;
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
  /** With a pinned link: the admin who made it. */
  linkedBy?: string;
}

/**
 * Why a Slack user's IAM users are asked for: `self-check` (may this person approve?) counts
 * every IAM user they might be, ambiguous tags included; `holder` (whose grants are these?)
 * only those that are surely theirs.
 */
export type IamUsersPurpose = 'self-check' | 'holder';

export class IdentityResolver {
  constructor(private readonly deps: IdentityDeps) {}

  /**
   * This resolver for one decision (a click): each Slack user's link is read once, however many
   * of the decision's rules ask for it (whether the approver is the requester's IAM user, who
   * linked the requester, the re-check of the requester's mapping). Made per click, never kept.
   */
  forOneDecision(): IdentityResolver {
    const { store } = this.deps;
    const links = new Map<string, ReturnType<typeof store.getLink>>();
    const getLink = (userId: string) => {
      let link = links.get(userId);
      if (!link) {
        link = store.getLink(userId);
        links.set(userId, link);
      }
      return link;
    };
    return new IdentityResolver({ ...this.deps, store: { getLink, linkHolder: (iamUserName) => store.linkHolder(iamUserName) } });
  }

  /** Checks that the user may request at all and finds their IAM user name. */
  async resolve(userId: string): Promise<ResolvedIdentity> {
    const profile = await this.deps.directory.getUser(userId);
    if (!profile) throw new NotAllowedError('Slack does not know this user.');
    const team = this.deps.teamId();
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

    const link = await this.deps.store.getLink(userId);
    if (link) {
      // Two Slack users linked to one IAM user before links were one-to-one: neither is used until an admin re-links.
      const holder = await this.deps.store.linkHolder(link.iamUserName);
      if (holder && holder.userId !== userId) {
        throw new NotAllowedError(text`The IAM user ${code(link.iamUserName)} is linked to another Slack user too. Ask an admin to check the links.`);
      }
      return { profile, email, iamUserName: link.iamUserName, pinned: true, linkedBy: link.linkedBy };
    }

    const iamUserName = await this.mapped(email);
    if (!iamUserName) {
      throw new RequestRefusedError(
        text`No IAM user is tagged ${code(`email=${email}`)}. Ask an admin to tag your IAM user, or to link it with ${code('/request-billing link')}.`,
      );
    }
    const holder = await this.deps.store.linkHolder(iamUserName);
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
    return (await this.iamUsersOf(slackUserId, 'self-check')).some((u) => sameIamUser(u, iamUserName));
  }

  /**
   * Why this Slack user may not approve (or Keep) this request's access, if they may not: the
   * IAM user is their own, whichever account they click from; or they pinned the requester to
   * it with `link` (the way around the first rule when their own IAM user cannot be told from
   * their email).
   */
  async approverConflict(
    slackUserId: string,
    request: Pick<AccessRequest, 'requesterId' | 'iamUserName' | 'linkedBy'>,
    /** The clicker's own IAM users, when the caller has read them already. */
    own?: readonly string[],
  ): Promise<'own' | 'linked' | undefined> {
    const mine = own ?? (await this.iamUsersOf(slackUserId, 'self-check'));
    if (mine.some((u) => sameIamUser(u, request.iamUserName))) return 'own';
    if (request.linkedBy === slackUserId) return 'linked';
    const link = await this.deps.store.getLink(request.requesterId);
    if (link?.linkedBy === slackUserId && sameIamUser(link.iamUserName, request.iamUserName)) return 'linked';
    return undefined;
  }

  /**
   * The IAM users this Slack user reaches: the pinned link and what their email maps to,
   * without the rules on who may request (a deactivated holder still has grants to revoke).
   */
  async iamUsersOf(slackUserId: string, purpose: IamUsersPurpose): Promise<string[]> {
    const names: string[] = [];
    const link = await this.deps.store.getLink(slackUserId);
    if (link) names.push(link.iamUserName);
    const profile = await this.deps.directory.getUser(slackUserId);
    const email = profile?.email?.trim().toLowerCase();
    if (!email || !this.domainAllowed(email)) return names;
    let mapped: string | undefined;
    try {
      mapped = await this.mapped(email);
    } catch (err) {
      if (!(err instanceof AmbiguousMappingError)) throw err;
      if (purpose === 'self-check') names.push(...err.userNames);
      return names;
    }
    if (!mapped) return names;
    if (purpose === 'holder') {
      // An IAM user pinned to someone else is theirs, not this person's.
      const holder = await this.deps.store.linkHolder(mapped);
      if (holder && holder.userId !== slackUserId) return names;
    }
    names.push(mapped);
    return names;
  }

  private domainAllowed(email: string): boolean {
    const allowed = this.deps.allowedEmailDomains;
    return !allowed || allowed.includes(domainOf(email));
  }

  /** The IAM user an email maps to under IAM_USER_MAPPING; undefined when `tag` finds none. */
  private async mapped(email: string): Promise<string | undefined> {
    switch (this.deps.mapping) {
      case 'email':
        return email;
      case 'tag':
        return this.deps.iam.findUserByEmailTag(email);
      default:
        return email.slice(0, email.lastIndexOf('@'));
    }
  }
}

function domainOf(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}

/** The refusal for an approver (or reviewer) who may not act on this request's access. */
export function approverConflictError(conflict: 'own' | 'linked', request: AccessRequest, verb: 'approve' | 'keep'): NotAllowedError {
  return conflict === 'own'
    ? new NotAllowedError(
        text`The IAM user ${code(request.iamUserName)} is your own, so you cannot ${verb === 'approve' ? 'approve it' : 'keep its access'} from any Slack account; another admin must.`,
      )
    : new NotAllowedError(
        text`You linked ${user(request.requesterId)} to the IAM user ${code(request.iamUserName)}, so you cannot ${verb} its access; another admin must.`,
      );
}
