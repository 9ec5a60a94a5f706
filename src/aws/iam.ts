import {
  AddUserToGroupCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  type IAMClient,
  ListMFADevicesCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  paginateGetGroup,
  paginateListAccessKeys,
  paginateListAttachedGroupPolicies,
  paginateListGroupPolicies,
  paginateListGroupsForUser,
  paginateListUsers,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import { BillingAccessError, errorName, GroupNotAllowedError, IamUnavailableError } from '../errors.js';
import type { GroupPolicyState, IamGateway, IamUserInfo, MemberReview, RemoveOutcome } from '../services/ports.js';

export { GroupNotAllowedError, IamUnavailableError } from '../errors.js';

const TAG_CACHE_MS = 5 * 60 * 1000;
/**
 * The account's groups-per-user quota changes only through a Service Quotas request: read it once
 * an hour (after an increase, the pre-check may refuse for up to that long; AddUserToGroup is the
 * real limit either way).
 */
const QUOTA_CACHE_MS = 60 * 60 * 1000;

/**
 * The only code that calls IAM, and only on the configured billing groups.
 * The SDK's own retry (standard mode) handles throttling before an error reaches here.
 */
export class AwsIamGateway implements IamGateway {
  readonly dryRun = false;
  private readonly allowedGroups: ReadonlySet<string>;
  private tagIndex: { builtAt: number; byEmail: Map<string, string> } | undefined;
  private quota: { readAt: number; value: number | null } | undefined;

  constructor(
    private readonly iam: IAMClient,
    allowedGroups: Iterable<string>,
    private readonly now: () => number = Date.now,
  ) {
    this.allowedGroups = new Set(allowedGroups);
  }

  private assertAllowed(groupName: string): void {
    if (!this.allowedGroups.has(groupName)) throw new GroupNotAllowedError(groupName);
  }

  async getUser(userName: string): Promise<IamUserInfo | undefined> {
    try {
      await this.iam.send(new GetUserCommand({ UserName: userName }));
    } catch (err) {
      if (err instanceof NoSuchEntityException) return undefined;
      throw new IamUnavailableError('GetUser', err);
    }
    const notChecked: string[] = [];
    const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | null> => {
      try {
        return await read();
      } catch (err) {
        notChecked.push(`${what}: ${errorName(err)}`);
        return null;
      }
    };
    const [hasConsolePassword, mfaDeviceCount, groups] = await Promise.all([
      attempt('console password', async () => {
        try {
          await this.iam.send(new GetLoginProfileCommand({ UserName: userName }));
          return true;
        } catch (err) {
          if (err instanceof NoSuchEntityException) return false;
          throw err;
        }
      }),
      attempt('MFA devices', async () => {
        const out = await this.iam.send(new ListMFADevicesCommand({ UserName: userName }));
        return out.MFADevices?.length ?? 0;
      }),
      attempt('groups', async () => {
        const names: string[] = [];
        for await (const page of paginateListGroupsForUser({ client: this.iam }, { UserName: userName })) {
          for (const g of page.Groups ?? []) if (g.GroupName) names.push(g.GroupName);
        }
        return names;
      }),
    ]);
    return { userName, hasConsolePassword, mfaDeviceCount, groups, notChecked };
  }

  /**
   * Finds the IAM user tagged `email=<address>`. Costs one ListUserTags per IAM user, so
   * the whole index is built once and cached for five minutes (refreshed on a miss).
   */
  async findUserByEmailTag(email: string): Promise<string | undefined> {
    const wanted = email.toLowerCase();
    const fresh = this.tagIndex && this.now() - this.tagIndex.builtAt < TAG_CACHE_MS;
    if (fresh && this.tagIndex?.byEmail.has(wanted)) return this.tagIndex.byEmail.get(wanted);
    const byEmail = new Map<string, string>();
    try {
      for await (const page of paginateListUsers({ client: this.iam }, {})) {
        for (const user of page.Users ?? []) {
          if (!user.UserName) continue;
          let marker: string | undefined;
          do {
            const tags = await this.iam.send(new ListUserTagsCommand({ UserName: user.UserName, Marker: marker }));
            for (const tag of tags.Tags ?? []) {
              if (tag.Key === 'email' && tag.Value) byEmail.set(tag.Value.toLowerCase(), user.UserName);
            }
            marker = tags.IsTruncated ? tags.Marker : undefined;
          } while (marker);
        }
      }
    } catch (err) {
      throw new IamUnavailableError('ListUsers/ListUserTags', err);
    }
    this.tagIndex = { builtAt: this.now(), byEmail };
    return byEmail.get(wanted);
  }

  /** The account's limit of groups per IAM user (a pre-check only: AddUserToGroup enforces it); null when unreadable. */
  async groupsPerUserQuota(): Promise<number | null> {
    if (this.quota && this.now() - this.quota.readAt < QUOTA_CACHE_MS) return this.quota.value;
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

  async groupPolicies(groupName: string): Promise<GroupPolicyState> {
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

  async groupMembers(groupName: string): Promise<string[]> {
    this.assertAllowed(groupName);
    const members: string[] = [];
    for await (const page of paginateGetGroup({ client: this.iam }, { GroupName: groupName })) {
      for (const u of page.Users ?? []) if (u.UserName) members.push(u.UserName);
    }
    return members;
  }

  /** Four IAM reads per member, whatever the account's size: GetUser, GetLoginProfile, ListMFADevices, ListAccessKeys. */
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
      safely(async () => {
        try {
          await this.iam.send(new GetLoginProfileCommand({ UserName: userName }));
          return true;
        } catch (err) {
          if (err instanceof NoSuchEntityException) return false;
          throw err;
        }
      }),
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
    return { userName, mfaDevices, oldActiveKeys, hasConsolePassword, passwordLastUsed: user?.PasswordLastUsed?.toISOString() };
  }

  async addUserToGroup(userName: string, groupName: string): Promise<void> {
    this.assertAllowed(groupName);
    await this.iam.send(new AddUserToGroupCommand({ UserName: userName, GroupName: groupName }));
  }

  /**
   * IAM answers NoSuchEntity both for "not a member" and for "no such group": the group is
   * looked up before calling a removal harmless.
   */
  async removeUserFromGroup(userName: string, groupName: string): Promise<RemoveOutcome> {
    this.assertAllowed(groupName);
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
  findUserByEmailTag(email: string) {
    return this.reader.findUserByEmailTag(email);
  }
  groupsPerUserQuota() {
    return this.reader.groupsPerUserQuota();
  }
  groupPolicies(groupName: string) {
    return this.reader.groupPolicies(groupName);
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
  async removeUserFromGroup(_userName: string, groupName: string): Promise<RemoveOutcome> {
    if (!this.allowedGroups.has(groupName)) throw new GroupNotAllowedError(groupName);
    return 'removed';
  }
}
