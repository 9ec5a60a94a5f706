import {
  AddUserToGroupCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  type IAMClient,
  ListMFADevicesCommand,
  NoSuchEntityException,
  paginateGetAccountAuthorizationDetails,
  paginateGetGroup,
  paginateListAccessKeys,
  paginateListAttachedGroupPolicies,
  paginateListGroupPolicies,
  paginateListGroupsForUser,
  RemoveUserFromGroupCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { needsPolicyDocument, type PolicyVersion } from '../domain/group-policy.js';
import { sameIamUser } from '../domain/iam-user.js';
import { AmbiguousMappingError, BillingAccessError, errorName, GroupNotAllowedError, IamUnavailableError } from '../errors.js';
import type { GroupPolicyState, IamGateway, IamUserInfo, MemberReview, RemoveOutcome } from '../services/ports.js';

export { AmbiguousMappingError, GroupNotAllowedError, IamUnavailableError } from '../errors.js';

/** A policy outside BILLING_GROUP_POLICIES was asked for: refused before any IAM call. */
export class PolicyNotAllowedError extends BillingAccessError {
  override name = 'PolicyNotAllowedError';
  constructor(policyArn: string) {
    super(`Policy ${policyArn} is not one of the configured billing group policies.`);
  }
}

/**
 * The default version of a managed policy: GetPolicy names it, GetPolicyVersion returns its
 * document URL-encoded. SDK errors are passed on as they come.
 */
async function readDefaultPolicyVersion(iam: IAMClient, policyArn: string): Promise<PolicyVersion> {
  const policy = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
  const versionId = policy.Policy?.DefaultVersionId;
  if (!versionId) throw new BillingAccessError(`IAM did not name the default version of ${policyArn}.`);
  const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
  return { policyArn, versionId, document: parseDocument(version.PolicyVersion?.Document) };
}

/** Text that is not JSON is handed on as it is: the guard refuses what it cannot read. */
function parseDocument(encoded: string | undefined): unknown {
  if (encoded === undefined) return undefined;
  let text = encoded;
  try {
    text = decodeURIComponent(encoded);
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * IAM_USER_MAPPING=tag reads every IAM user's tags: ListUsers returns no tags, so the email → user
 * index is read with GetAccountAuthorizationDetails (Filter=User), up to TAG_INDEX_PAGE_SIZE users
 * and their tags a call (5 calls for 5,000 users). It is built at most once per interval, and
 * concurrent lookups share one build.
 * A hit is served from an index up to 5 minutes old: a re-tagged user is seen within that, and
 * the approval resolves the identity again.
 */
const TAG_INDEX_MAX_AGE_MS = 5 * 60 * 1000;
/** IAM's largest page (MaxItems); IAM may answer with fewer and a Marker. */
const TAG_INDEX_PAGE_SIZE = 1000;
/**
 * A miss is believed for a minute after a build: a newly tagged user is found within a minute,
 * while a stream of unknown emails lists the account at most once a minute.
 */
const TAG_MISS_MAX_AGE_MS = 60 * 1000;

interface TagIndex {
  /** When the listing ended: a listing that took a while (thousands of users) is not started again at once. */
  builtAt: number;
  /** Lowercased email → every IAM user tagged with it (more than one is an ambiguous mapping). */
  byEmail: Map<string, string[]>;
}

/**
 * The account's groups-per-user quota changes only through a Service Quotas request: read it once
 * an hour (after an increase, the pre-check may refuse for up to that long; AddUserToGroup is the
 * real limit either way).
 */
const QUOTA_CACHE_MS = 60 * 60 * 1000;

/**
 * The bot's IAM gateway: the only code of the bot that calls IAM, and only on the configured
 * billing groups (doctor reads the groups and their policies through it too).
 * The SDK's own retry (standard mode) handles throttling before an error reaches here.
 */
export class AwsIamGateway implements IamGateway {
  readonly dryRun = false;
  private readonly allowedGroups: ReadonlySet<string>;
  private readonly allowedPolicies: ReadonlySet<string>;
  private tagIndex: TagIndex | undefined;
  private tagIndexBuild: Promise<TagIndex> | undefined;
  private quota: { readAt: number; value: number | null } | undefined;
  private quotaRead: Promise<number | null> | undefined;

  private readonly iam: IAMClient;
  private readonly now: () => number;

  constructor(options: {
    client: IAMClient;
    /** BILLING_GROUPS: the only groups changed or read. */
    groups: Iterable<string>;
    /** BILLING_GROUP_POLICIES: the only policies whose documents are read. */
    policyArns?: Iterable<string>;
    now?: () => number;
  }) {
    this.iam = options.client;
    this.now = options.now ?? Date.now;
    this.allowedGroups = new Set(options.groups);
    this.allowedPolicies = new Set(options.policyArns ?? []);
  }

  private assertAllowed(groupName: string): void {
    if (!this.allowedGroups.has(groupName)) throw new GroupNotAllowedError(groupName);
  }

  /**
   * The request's read of an IAM user: console password, MFA devices and groups, all at once. No
   * GetUser first: ListMFADevices and ListGroupsForUser answer NoSuchEntity for a user that does
   * not exist, so either says the user is gone (undefined); when neither answers, whether the user
   * exists is unknown (IamUnavailableError). A read that failed on a user that exists is a
   * `notChecked` entry, its field null.
   */
  async getUser(userName: string): Promise<IamUserInfo | undefined> {
    const [password, mfa, groups] = await Promise.allSettled([
      this.hasConsolePassword(userName),
      this.iam.send(new ListMFADevicesCommand({ UserName: userName })).then((out) => out.MFADevices?.length ?? 0),
      this.groupsOf(userName),
    ]);
    if ([mfa, groups].some((read) => read.status === 'rejected' && read.reason instanceof NoSuchEntityException)) {
      this.forgetTaggedUser(userName);
      return undefined;
    }
    if (mfa.status === 'rejected' && groups.status === 'rejected') throw new IamUnavailableError('ListMFADevices', mfa.reason);
    const notChecked: string[] = [];
    const answered = <T>(what: string, read: PromiseSettledResult<T>): T | null => {
      if (read.status === 'fulfilled') return read.value;
      notChecked.push(`${what}: ${errorName(read.reason)}`);
      return null;
    };
    return {
      userName,
      hasConsolePassword: answered('console password', password),
      mfaDeviceCount: answered('MFA devices', mfa),
      groups: answered('groups', groups),
      notChecked,
    };
  }

  private async hasConsolePassword(userName: string): Promise<boolean> {
    try {
      await this.iam.send(new GetLoginProfileCommand({ UserName: userName }));
      return true;
    } catch (err) {
      if (err instanceof NoSuchEntityException) return false;
      throw err;
    }
  }

  private async groupsOf(userName: string): Promise<string[]> {
    const names: string[] = [];
    for await (const page of paginateListGroupsForUser({ client: this.iam }, { UserName: userName })) {
      for (const g of page.Groups ?? []) if (g.GroupName) names.push(g.GroupName);
    }
    return names;
  }

  async recheckUser(userName: string, options: { mfa: boolean }): Promise<IamUserInfo | undefined> {
    const found = { userName, hasConsolePassword: null, groups: null, notChecked: [] };
    if (!options.mfa) {
      try {
        await this.iam.send(new GetUserCommand({ UserName: userName }));
        return { ...found, mfaDeviceCount: null };
      } catch (err) {
        if (err instanceof NoSuchEntityException) return undefined;
        throw new IamUnavailableError('GetUser', err);
      }
    }
    // ListMFADevices answers NoSuchEntity for a user that does not exist: one call says both.
    try {
      const out = await this.iam.send(new ListMFADevicesCommand({ UserName: userName }));
      return { ...found, mfaDeviceCount: out.MFADevices?.length ?? 0 };
    } catch (err) {
      if (err instanceof NoSuchEntityException) return undefined;
      throw new IamUnavailableError('ListMFADevices', err);
    }
  }

  /**
   * The IAM user tagged `email=<address>` (compared case-insensitively), from the cached index.
   * Throws AmbiguousMappingError when more than one user carries the address.
   */
  async findUserByEmailTag(email: string): Promise<string | undefined> {
    const wanted = email.toLowerCase();
    let index = this.tagIndex;
    const age = index ? this.now() - index.builtAt : Number.POSITIVE_INFINITY;
    const usable = index?.byEmail.has(wanted) ? age < TAG_INDEX_MAX_AGE_MS : age < TAG_MISS_MAX_AGE_MS;
    if (!index || !usable) index = await this.buildTagIndex();
    const userNames = index.byEmail.get(wanted) ?? [];
    if (userNames.length > 1) throw new AmbiguousMappingError(wanted, userNames);
    return userNames[0];
  }

  /** One build at a time: lookups arriving while it runs wait for it instead of listing again. */
  private buildTagIndex(): Promise<TagIndex> {
    this.tagIndexBuild ??= this.listEmailTags().finally(() => {
      this.tagIndexBuild = undefined;
    });
    return this.tagIndexBuild;
  }

  /**
   * Every user's `email` tags, a page of users (with their tags) a call. A build that fails on
   * any page is not kept: a part of the account could hide a second user with the address.
   * Filter=User: no group, role or managed policy is asked for (each user comes with its group
   * names and inline policies, which are not read).
   */
  private async listEmailTags(): Promise<TagIndex> {
    const byEmail = new Map<string, string[]>();
    try {
      for await (const page of paginateGetAccountAuthorizationDetails({ client: this.iam, pageSize: TAG_INDEX_PAGE_SIZE }, { Filter: ['User'] })) {
        for (const user of page.UserDetailList ?? []) {
          if (!user.UserName) continue;
          for (const address of emailTagsOf(user.Tags)) {
            const names = byEmail.get(address) ?? [];
            if (!names.includes(user.UserName)) byEmail.set(address, [...names, user.UserName]);
          }
        }
      }
    } catch (err) {
      throw new IamUnavailableError('GetAccountAuthorizationDetails', err);
    }
    this.tagIndex = { builtAt: this.now(), byEmail };
    return this.tagIndex;
  }

  /**
   * IAM says this user does not exist (deleted since the index was read): it maps no address from
   * now on, and an address it shared with another user is no longer ambiguous.
   */
  private forgetTaggedUser(userName: string): void {
    const byEmail = this.tagIndex?.byEmail;
    if (!byEmail) return;
    for (const [address, names] of byEmail) {
      if (!names.some((n) => sameIamUser(n, userName))) continue;
      const left = names.filter((n) => !sameIamUser(n, userName));
      if (left.length) byEmail.set(address, left);
      else byEmail.delete(address);
    }
  }

  /** The account's limit of groups per IAM user (a pre-check only: AddUserToGroup enforces it); null when unreadable. */
  async groupsPerUserQuota(): Promise<number | null> {
    if (this.quota && this.now() - this.quota.readAt < QUOTA_CACHE_MS) return this.quota.value;
    // Requests arriving together share one read.
    this.quotaRead ??= this.readQuota().finally(() => {
      this.quotaRead = undefined;
    });
    return this.quotaRead;
  }

  private async readQuota(): Promise<number | null> {
    try {
      const out = await this.iam.send(new GetAccountSummaryCommand({}));
      const value = out.SummaryMap?.GroupsPerUserQuota ?? null;
      this.quota = { readAt: this.now(), value };
      return value;
    } catch {
      // Not cached: the next request tries again.
      return null;
    }
  }

  /**
   * Attached and inline policies of a configured group, and the default version of its expected
   * policy when that one is customer-managed and attached (the guard judges the document too).
   */
  async groupPolicies(groupName: string, expectedPolicyArn: string): Promise<GroupPolicyState> {
    this.assertAllowed(groupName);
    if (!this.allowedPolicies.has(expectedPolicyArn)) throw new PolicyNotAllowedError(expectedPolicyArn);
    const state = await this.listGroupPolicies(groupName);
    if (!needsPolicyDocument(expectedPolicyArn, state.attachedPolicyArns)) return state;
    return { ...state, expectedVersion: await this.defaultPolicyVersion(expectedPolicyArn) };
  }

  /**
   * A configured group as IAM knows it (its ARN), or undefined when IAM has no such group.
   * Throws IamUnavailableError (the SDK's error as its cause) when IAM cannot be read.
   */
  async findGroup(groupName: string): Promise<{ arn: string | undefined } | undefined> {
    this.assertAllowed(groupName);
    try {
      const out = await this.iam.send(new GetGroupCommand({ GroupName: groupName, MaxItems: 1 }));
      return { arn: out.Group?.Arn };
    } catch (err) {
      if (isNoSuchEntity(err)) return undefined;
      throw new IamUnavailableError(`reading group ${groupName}`, err);
    }
  }

  /** The first half of groupPolicies: the attached and inline policies of a configured group, every page read. */
  async listGroupPolicies(groupName: string): Promise<GroupPolicyState> {
    this.assertAllowed(groupName);
    try {
      const attachedPolicyArns: string[] = [];
      for await (const page of paginateListAttachedGroupPolicies({ client: this.iam }, { GroupName: groupName })) {
        for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) attachedPolicyArns.push(p.PolicyArn);
      }
      const inlinePolicyNames: string[] = [];
      for await (const page of paginateListGroupPolicies({ client: this.iam }, { GroupName: groupName })) {
        inlinePolicyNames.push(...(page.PolicyNames ?? []));
      }
      return { attachedPolicyArns, inlinePolicyNames };
    } catch (err) {
      throw new IamUnavailableError(`reading the policies of group ${groupName}`, err);
    }
  }

  /** The second half of groupPolicies: the default version of one of BILLING_GROUP_POLICIES, its document decoded. */
  async defaultPolicyVersion(policyArn: string): Promise<PolicyVersion> {
    if (!this.allowedPolicies.has(policyArn)) throw new PolicyNotAllowedError(policyArn);
    try {
      return await readDefaultPolicyVersion(this.iam, policyArn);
    } catch (err) {
      throw new IamUnavailableError(`reading the default version of policy ${policyArn}`, err);
    }
  }

  async groupMembers(groupName: string): Promise<string[]> {
    this.assertAllowed(groupName);
    const members: string[] = [];
    for await (const page of paginateGetGroup({ client: this.iam }, { GroupName: groupName })) {
      for (const u of page.Users ?? []) if (u.UserName) members.push(u.UserName);
    }
    return members;
  }

  /**
   * Four IAM reads per member, whatever the account's size: GetUser, GetLoginProfile, ListMFADevices, ListAccessKeys.
   * GetUser's ARN comes back with the review, so access advisor needs no second GetUser.
   */
  async reviewMember(userName: string, now: Date): Promise<MemberReview> {
    const oldBefore = now.getTime() - 90 * 24 * 60 * 60 * 1000;
    const safely = async <T>(read: () => Promise<T>): Promise<T | null> => {
      try {
        return await read();
      } catch {
        return null;
      }
    };
    const [user, hasConsolePassword, mfaDevices, oldActiveKeys] = await Promise.all([
      safely(async () => (await this.iam.send(new GetUserCommand({ UserName: userName }))).User),
      safely(() => this.hasConsolePassword(userName)),
      safely(async () => (await this.iam.send(new ListMFADevicesCommand({ UserName: userName }))).MFADevices?.length ?? 0),
      safely(async () => {
        const old: string[] = [];
        for await (const page of paginateListAccessKeys({ client: this.iam }, { UserName: userName })) {
          for (const key of page.AccessKeyMetadata ?? []) {
            if (key.Status === 'Active' && key.CreateDate && key.CreateDate.getTime() < oldBefore) old.push(key.AccessKeyId ?? '?');
          }
        }
        return old;
      }),
    ]);
    return { userName, mfaDevices, oldActiveKeys, hasConsolePassword, passwordLastUsed: user?.PasswordLastUsed?.toISOString(), arn: user?.Arn };
  }

  async addUserToGroup(userName: string, groupName: string): Promise<void> {
    this.assertAllowed(groupName);
    await this.iam.send(new AddUserToGroupCommand({ UserName: userName, GroupName: groupName }));
  }

  /**
   * IAM answers NoSuchEntity both for "not a member" and for "no such group": the group is
   * looked up before calling a removal harmless.
   */
  async removeUserFromGroup(userName: string, groupName: string, options: { endingGrant?: boolean } = {}): Promise<RemoveOutcome> {
    if (options.endingGrant) assertGroupName(groupName);
    else this.assertAllowed(groupName);
    try {
      await this.iam.send(new RemoveUserFromGroupCommand({ UserName: userName, GroupName: groupName }));
      return 'removed';
    } catch (err) {
      if (!(err instanceof NoSuchEntityException)) throw err;
      try {
        await this.iam.send(new GetGroupCommand({ GroupName: groupName, MaxItems: 1 }));
      } catch (groupErr) {
        if (groupErr instanceof NoSuchEntityException) throw new BillingAccessError(`IAM group ${groupName} does not exist.`, { cause: groupErr });
        throw groupErr;
      }
      return 'not-a-member';
    }
  }
}

/** IAM's "no such group/user/policy", however the endpoint names it (some emulators answer `NoSuchEntity`). */
function isNoSuchEntity(err: unknown): boolean {
  if (err instanceof NoSuchEntityException) return true;
  const name = err instanceof Error ? err.name : '';
  return name === 'NoSuchEntityException' || name === 'NoSuchEntity';
}

/** The lowercased values of a user's `email` tags (IAM keeps one value per key). */
function emailTagsOf(tags: Tag[] | undefined): string[] {
  const addresses: string[] = [];
  for (const tag of tags ?? []) if (tag.Key === 'email' && tag.Value) addresses.push(tag.Value.trim().toLowerCase());
  return addresses;
}

/**
 * A grant read from the table names the group it was made into, which may have left
 * BILLING_GROUPS since: removal is allowed from it, but never from a name IAM could not hold.
 */
export function assertGroupName(groupName: string): void {
  if (!/^[\w+=,.@-]{1,128}$/.test(groupName)) throw new GroupNotAllowedError(groupName);
}
