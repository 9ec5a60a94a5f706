/**
 * The AWS account the playground's IAM stand-in answers for, in memory: IAM users (console
 * password, MFA devices, access keys, tags), groups (members, attached and inline policies) and
 * managed policies. Names compare case-insensitively, as IAM compares them. What IAM would refuse
 * is thrown as an IamFault carrying IAM's own error code and HTTP status, which the stand-in
 * sends back as IAM's error XML.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** An IAM error: IAM's code (`NoSuchEntity`), the HTTP status IAM answers it with, its message. */
export class IamFault extends Error {
  override name = 'IamFault';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const noSuchEntity = (message: string) => new IamFault('NoSuchEntity', 404, message);

export interface Tag {
  key: string;
  value: string;
}

export interface IamUser {
  userName: string;
  userId: string;
  arn: string;
  createDate: Date;
  passwordLastUsed?: Date;
  /** When the console password was set; undefined: the user has none. */
  loginProfileCreated?: Date;
  mfaDevices: { serialNumber: string; enableDate: Date }[];
  accessKeys: { accessKeyId: string; status: 'Active' | 'Inactive'; createDate: Date }[];
  tags: Tag[];
  /** When the user last used each service (IAM access advisor's LastAuthenticated), by namespace. */
  lastAccessed: { namespace: string; at: Date }[];
}

export interface IamGroup {
  groupName: string;
  groupId: string;
  arn: string;
  createDate: Date;
  members: IamUser[];
  attachedPolicyArns: string[];
  /** Inline policies: name → JSON document. */
  inlinePolicies: Map<string, string>;
}

export interface ManagedPolicy {
  arn: string;
  policyName: string;
  policyId: string;
  defaultVersionId: string;
  /** The default version's JSON document. */
  document: string;
  createDate: Date;
}

export interface UserSeed {
  userName: string;
  /** Set as the user's `email` tag (what IAM_USER_MAPPING=tag looks for). */
  email?: string;
  consolePassword: boolean;
  mfa: boolean;
  passwordLastUsedDaysAgo?: number;
  /** One active access key created this many days ago. */
  accessKeyAgeDays?: number;
  /** Services the user used, by namespace (`ce`, `billing`…), and how many days ago. */
  lastUsed?: { namespace: string; daysAgo: number }[];
}

export interface GroupSeed {
  groupName: string;
  policyArns: string[];
  /** Members added at seeding, as someone with IAM access would add them by hand. */
  members?: string[];
}

export interface PolicySeed {
  arn: string;
  document: unknown;
}

export interface AccountSeed {
  accountId: string;
  users: UserSeed[];
  groups: GroupSeed[];
  policies: PolicySeed[];
  now?: Date;
}

/** What changes in the account as the bot and the page use it: the groups, their members and policies. */
export interface GroupsState {
  groups: { groupName: string; members: string[]; attachedPolicyArns: string[] }[];
}

/** IAM's own limits that the stand-in enforces (AWS defaults). */
export const GROUPS_PER_USER_QUOTA = 10;
const ATTACHED_POLICIES_PER_GROUP_QUOTA = 10;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A stable id in IAM's shape (a 4-letter prefix, 17 upper-case letters and digits) from the entity's name. */
function entityId(prefix: string, name: string): string {
  const digest = createHash('sha256').update(`${prefix}:${name.toLowerCase()}`).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = prefix;
  for (let i = 0; id.length < prefix.length + 17; i += 1) id += alphabet[(digest[i] ?? 0) % alphabet.length];
  return id;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class IamAccount {
  readonly accountId: string;
  /** Emits 'change' after every change to users, groups or policies (the playground page listens). */
  readonly changes = new EventEmitter();
  private readonly userList: IamUser[] = [];
  private readonly groupList: IamGroup[] = [];
  private readonly policyList: ManagedPolicy[] = [];

  constructor(seed: AccountSeed) {
    this.accountId = seed.accountId;
    const now = seed.now ?? new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY_MS);
    const created = ago(400);
    for (const p of seed.policies) {
      const policyName = p.arn.split('/').pop() ?? p.arn;
      this.policyList.push({
        arn: p.arn,
        policyName,
        policyId: entityId('ANPA', p.arn),
        defaultVersionId: 'v1',
        document: JSON.stringify(p.document),
        createDate: created,
      });
    }
    for (const u of seed.users) {
      this.userList.push({
        userName: u.userName,
        userId: entityId('AIDA', u.userName),
        arn: `arn:aws:iam::${this.accountId}:user/${u.userName}`,
        createDate: created,
        ...(u.passwordLastUsedDaysAgo !== undefined ? { passwordLastUsed: ago(u.passwordLastUsedDaysAgo) } : {}),
        ...(u.consolePassword ? { loginProfileCreated: created } : {}),
        mfaDevices: u.mfa ? [{ serialNumber: `arn:aws:iam::${this.accountId}:mfa/${u.userName}`, enableDate: ago(300) }] : [],
        accessKeys:
          u.accessKeyAgeDays !== undefined
            ? [{ accessKeyId: entityId('AKIA', u.userName).slice(0, 20), status: 'Active', createDate: ago(u.accessKeyAgeDays) }]
            : [],
        tags: u.email ? [{ key: 'email', value: u.email }] : [],
        lastAccessed: (u.lastUsed ?? []).map((use) => ({ namespace: use.namespace, at: ago(use.daysAgo) })),
      });
    }
    for (const g of seed.groups) {
      this.createGroup(g.groupName, created);
      for (const arn of g.policyArns) this.attachGroupPolicy(g.groupName, arn);
      for (const member of g.members ?? []) this.addUserToGroup(member, g.groupName);
    }
  }

  users(): IamUser[] {
    return [...this.userList];
  }

  groups(): IamGroup[] {
    return [...this.groupList];
  }

  policies(): ManagedPolicy[] {
    return [...this.policyList];
  }

  user(userName: string): IamUser {
    const user = this.userList.find((u) => same(u.userName, userName));
    if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
    return user;
  }

  /** A user by ARN, as access advisor names its subject. */
  userByArn(arn: string): IamUser {
    const user = this.userList.find((u) => u.arn === arn);
    if (!user) throw noSuchEntity(`The entity with ARN ${arn} cannot be found.`);
    return user;
  }

  /**
   * The service namespaces a user may use through their groups' managed policies (`ce:Get*` → `ce`;
   * `*` is left out): what access advisor lists for the user, used or not.
   */
  allowedNamespaces(userName: string): string[] {
    const namespaces = new Set<string>();
    for (const group of this.groupsOf(userName)) {
      for (const arn of group.attachedPolicyArns) {
        for (const action of policyActions(this.policy(arn).document)) {
          const namespace = action.split(':')[0];
          if (namespace && action.includes(':')) namespaces.add(namespace.toLowerCase());
        }
      }
    }
    return [...namespaces].sort();
  }

  group(groupName: string): IamGroup {
    const group = this.groupList.find((g) => same(g.groupName, groupName));
    if (!group) throw noSuchEntity(`The group with name ${groupName} cannot be found.`);
    return group;
  }

  policy(arn: string): ManagedPolicy {
    const policy = this.policyList.find((p) => p.arn === arn);
    if (!policy) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
    return policy;
  }

  groupsOf(userName: string): IamGroup[] {
    const user = this.user(userName);
    return this.groupList.filter((g) => g.members.includes(user));
  }

  /** Adding a member twice is fine, as in IAM. */
  addUserToGroup(userName: string, groupName: string): void {
    const group = this.group(groupName);
    const user = this.user(userName);
    if (group.members.includes(user)) return;
    if (this.groupsOf(userName).length >= GROUPS_PER_USER_QUOTA) {
      throw new IamFault('LimitExceeded', 409, `Cannot exceed quota for GroupsPerUser: ${GROUPS_PER_USER_QUOTA}`);
    }
    group.members.push(user);
    this.changed();
  }

  /** IAM answers NoSuchEntity both for a missing group and for a user who is not a member. */
  removeUserFromGroup(userName: string, groupName: string): void {
    const group = this.group(groupName);
    const user = this.user(userName);
    const at = group.members.indexOf(user);
    if (at < 0) throw noSuchEntity(`The user with name ${user.userName} cannot be found in group ${group.groupName}.`);
    group.members.splice(at, 1);
    this.changed();
  }

  createGroup(groupName: string, createDate = new Date()): IamGroup {
    if (this.groupList.some((g) => same(g.groupName, groupName)))
      throw new IamFault('EntityAlreadyExists', 409, `Group with name ${groupName} already exists.`);
    const group: IamGroup = {
      groupName,
      groupId: entityId('AGPA', groupName),
      arn: `arn:aws:iam::${this.accountId}:group/${groupName}`,
      createDate,
      members: [],
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
    };
    this.groupList.push(group);
    this.changed();
    return group;
  }

  /** Attaching an attached policy again is fine, as in IAM. */
  attachGroupPolicy(groupName: string, policyArn: string): void {
    const group = this.group(groupName);
    this.policy(policyArn);
    if (group.attachedPolicyArns.includes(policyArn)) return;
    if (group.attachedPolicyArns.length >= ATTACHED_POLICIES_PER_GROUP_QUOTA) {
      throw new IamFault('LimitExceeded', 409, `Cannot exceed quota for PoliciesPerGroup: ${ATTACHED_POLICIES_PER_GROUP_QUOTA}`);
    }
    group.attachedPolicyArns.push(policyArn);
    this.changed();
  }

  detachGroupPolicy(groupName: string, policyArn: string): void {
    const group = this.group(groupName);
    const at = group.attachedPolicyArns.indexOf(policyArn);
    if (at < 0) throw noSuchEntity(`Policy ${policyArn} was not found.`);
    group.attachedPolicyArns.splice(at, 1);
    this.changed();
  }

  inlineGroupPolicy(groupName: string, policyName: string): string {
    const group = this.group(groupName);
    const document = group.inlinePolicies.get(policyName);
    if (document === undefined) throw noSuchEntity(`The group policy with name ${policyName} cannot be found.`);
    return document;
  }

  /** The groups as they are now, to be restored after a restart (users and policies are seeded, never changed). */
  groupsState(): GroupsState {
    return {
      groups: this.groupList.map((g) => ({ groupName: g.groupName, members: g.members.map((m) => m.userName), attachedPolicyArns: [...g.attachedPolicyArns] })),
    };
  }

  /**
   * Puts the groups back as a saved state had them: groups it names are created when missing,
   * their members and policies replaced; users and policies this account does not have are left out.
   */
  restoreGroups(state: GroupsState): void {
    for (const saved of state.groups) {
      const group = this.groupList.find((g) => same(g.groupName, saved.groupName)) ?? this.createGroup(saved.groupName);
      group.members = saved.members.flatMap((name) => this.userList.filter((u) => same(u.userName, name)));
      group.attachedPolicyArns = saved.attachedPolicyArns.filter((arn) => this.policyList.some((p) => p.arn === arn));
    }
    this.changed();
  }

  /** GetAccountSummary's counts and quotas (the ones the bot and the console read). */
  summary(): Record<string, number> {
    const attached = new Set(this.groupList.flatMap((g) => g.attachedPolicyArns));
    return {
      Users: this.userList.length,
      UsersQuota: 5000,
      Groups: this.groupList.length,
      GroupsQuota: 300,
      GroupsPerUserQuota: GROUPS_PER_USER_QUOTA,
      AttachedPoliciesPerGroupQuota: ATTACHED_POLICIES_PER_GROUP_QUOTA,
      AttachedPoliciesPerUserQuota: 10,
      Policies: this.policyList.filter((p) => !p.arn.includes(':aws:policy/')).length,
      PoliciesQuota: 1500,
      PolicySizeQuota: 6144,
      PolicyVersionsInUse: attached.size,
      PolicyVersionsInUseQuota: 10000,
      VersionsPerPolicyQuota: 5,
      GroupPolicySizeQuota: 5120,
      MFADevices: this.userList.reduce((n, u) => n + u.mfaDevices.length, 0),
      MFADevicesInUse: this.userList.reduce((n, u) => n + u.mfaDevices.length, 0),
      AccountMFAEnabled: 1,
      AccessKeysPerUserQuota: 2,
    };
  }

  private changed(): void {
    this.changes.emit('change');
  }
}

/** Every action an Allow statement of a policy document names. */
function policyActions(document: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return [];
  }
  const statements = (parsed as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  return list.flatMap((st) => {
    const statement = st as { Effect?: unknown; Action?: unknown } | undefined;
    if (statement?.Effect !== 'Allow') return [];
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    return actions.filter((a): a is string => typeof a === 'string');
  });
}
