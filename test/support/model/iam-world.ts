/**
 * An in-memory IAM for the model-based test of the grant rules: users (names compared
 * case-insensitively, as IAM does), groups, and who put each member there (the bot or a
 * human's hand edit). Faults are armed by the test and hit the next matching call, either
 * before IAM applies it or after (a reset connection that lost the answer to a change).
 */
import { iamUserKey } from '../../../src/domain/iam-user.js';
import type { GroupPolicyState, IamGateway, IamUserInfo, MemberReview, RemoveOutcome } from '../../../src/services/ports.js';

export type IamOperation = 'getUser' | 'add' | 'remove';
export type FaultTiming = 'before' | 'after';

/** What an injected IAM failure looks like to the bot: a raw SDK-like error, not a domain error. */
export class InjectedIamFault extends Error {
  override name = 'ThrottlingException';
}

interface WorldUser {
  userName: string;
  mfa: boolean;
  tags: Record<string, string>;
}

export type Provenance = 'bot' | 'hand';

export interface HandRemoval {
  userKey: string;
  groupName: string;
  at: string;
}

export class IamWorld implements IamGateway {
  readonly dryRun = false;
  private readonly users = new Map<string, WorldUser>();
  /** group → member key → who put them there. */
  readonly members = new Map<string, Map<string, Provenance>>();
  readonly handRemovals: HandRemoval[] = [];
  /** Every change the bot made: [op, userKey, group]. */
  readonly botChanges: [IamOperation, string, string][] = [];
  private armed: { op: IamOperation; timing: FaultTiming } | undefined;
  faultsFired = 0;

  constructor(
    groups: string[],
    private readonly policies: Map<string, string>,
    private readonly now: () => string,
    /** Lets a race decide how long each call takes. */
    private readonly pause: () => Promise<void> = async () => undefined,
  ) {
    for (const g of groups) this.members.set(g, new Map());
  }

  addUser(userName: string, mfa = true, tags: Record<string, string> = {}): void {
    this.users.set(iamUserKey(userName), { userName, mfa, tags });
  }

  setMfa(userName: string, mfa: boolean): void {
    const user = this.users.get(iamUserKey(userName));
    if (user) user.mfa = mfa;
  }

  hasMfa(userName: string): boolean {
    return this.users.get(iamUserKey(userName))?.mfa === true;
  }

  arm(op: IamOperation, timing: FaultTiming): void {
    this.armed = { op, timing };
  }

  disarm(): void {
    this.armed = undefined;
  }

  get faultArmed(): boolean {
    return this.armed !== undefined;
  }

  isMember(userName: string, groupName: string): boolean {
    return this.members.get(groupName)?.has(iamUserKey(userName)) ?? false;
  }

  /** A human edits the group by hand, outside the bot. */
  handEdit(change: 'add' | 'remove', userName: string, groupName: string): void {
    const group = this.members.get(groupName);
    if (!group || !this.users.has(iamUserKey(userName))) return;
    const key = iamUserKey(userName);
    if (change === 'add') {
      if (!group.has(key)) group.set(key, 'hand');
    } else if (group.delete(key)) {
      this.handRemovals.push({ userKey: key, groupName, at: this.now() });
    }
  }

  /** Yields like a network call would, so concurrent callers interleave. */
  private async call<T>(op: IamOperation, apply: () => T): Promise<T> {
    await this.pause();
    const fault = this.armed?.op === op ? this.armed : undefined;
    if (fault) {
      this.armed = undefined;
      this.faultsFired += 1;
      if (fault.timing === 'after') apply();
      throw new InjectedIamFault(`Rate exceeded (injected ${fault.timing} ${op})`);
    }
    const result = apply();
    await this.pause();
    return result;
  }

  getUser(userName: string): Promise<IamUserInfo | undefined> {
    return this.call('getUser', () => {
      const user = this.users.get(iamUserKey(userName));
      if (!user) return undefined;
      const groups = [...this.members].filter(([, m]) => m.has(iamUserKey(userName))).map(([g]) => g);
      return { userName: user.userName, hasConsolePassword: true, mfaDeviceCount: user.mfa ? 1 : 0, groups, notChecked: [] };
    });
  }

  /** As IAM: existence and MFA only; faulted as a read of the user. */
  recheckUser(userName: string, options: { mfa: boolean }): Promise<IamUserInfo | undefined> {
    return this.call('getUser', () => {
      const user = this.users.get(iamUserKey(userName));
      if (!user) return undefined;
      return { userName: user.userName, hasConsolePassword: null, mfaDeviceCount: options.mfa ? (user.mfa ? 1 : 0) : null, groups: null, notChecked: [] };
    });
  }

  async findUserByEmailTag(email: string): Promise<string | undefined> {
    return [...this.users.values()].find((u) => u.tags.email?.toLowerCase() === email.toLowerCase())?.userName;
  }

  async groupsPerUserQuota(): Promise<number | null> {
    return 10;
  }

  async groupPolicies(groupName: string): Promise<GroupPolicyState> {
    const arn = this.policies.get(groupName);
    return { attachedPolicyArns: arn ? [arn] : [], inlinePolicyNames: [] };
  }

  async groupMembers(groupName: string): Promise<string[]> {
    return [...(this.members.get(groupName)?.keys() ?? [])].map((k) => this.users.get(k)?.userName ?? k);
  }

  async reviewMember(userName: string): Promise<MemberReview> {
    const user = this.users.get(iamUserKey(userName));
    return { userName, mfaDevices: user?.mfa ? 1 : 0, oldActiveKeys: [], hasConsolePassword: true, passwordLastUsed: undefined };
  }

  addUserToGroup(userName: string, groupName: string): Promise<void> {
    return this.call('add', () => {
      const group = this.members.get(groupName);
      const key = iamUserKey(userName);
      if (!group) throw new Error(`NoSuchEntity: group ${groupName}`);
      if (!this.users.has(key)) throw new Error(`NoSuchEntity: user ${userName}`);
      this.botChanges.push(['add', key, groupName]);
      // A member a human added stays theirs: the bot's grant does not make a hand edit the bot's.
      if (!group.has(key)) group.set(key, 'bot');
    });
  }

  removeUserFromGroup(userName: string, groupName: string): Promise<RemoveOutcome> {
    return this.call('remove', () => {
      const group = this.members.get(groupName);
      if (!group) throw new Error(`NoSuchEntity: group ${groupName}`);
      const key = iamUserKey(userName);
      this.botChanges.push(['remove', key, groupName]);
      return group.delete(key) ? 'removed' : 'not-a-member';
    });
  }
}
