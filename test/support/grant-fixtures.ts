/**
 * What the GrantExecutor unit tests share (test/unit/grant, grant-failures, grant-extension;
 * memory-store-writes uses the request): an APPROVED request, fakes for IAM and Slack, a store
 * that can die mid-way, and `grantRig()`, a fresh executor wired to them on a ManualClock.
 */
import { type Mock, vi } from 'vitest';
import { DEFAULT_BILLING_NAMESPACES, DEFAULT_POLICY_ARNS, type LevelConfig } from '../../src/config.js';
import { needsPolicyDocument, type PolicyVersion } from '../../src/domain/group-policy.js';
import { type AccessRequest, DAY_MS } from '../../src/domain/request.js';
import type { RequestChange } from '../../src/domain/transitions.js';
import { Announcer } from '../../src/services/announcer.js';
import { GrantExecutor } from '../../src/services/grant.js';
import { GroupMembership } from '../../src/services/membership.js';
import type { GroupPolicyState, IamGateway, IamUserInfo, Notifier } from '../../src/services/ports.js';
import { ManualClock } from './clock.js';
import { MemoryRequestStore } from './memory-store.js';
import { buildRequest } from './requests.js';

export const READ_ONLY_ARN = DEFAULT_POLICY_ARNS['read-only'] as string;
export const FULL_ARN = DEFAULT_POLICY_ARNS.full as string;
export const CUSTOM_ARN = 'arn:aws:iam::123456789012:policy/BillingCustom';
const LEVELS: LevelConfig[] = [
  { level: 'read-only', groupName: 'BillingReadOnly', policyArn: READ_ONLY_ARN, approvalsRequired: 1 },
  { level: 'full', groupName: 'BillingFull', policyArn: FULL_ARN, approvalsRequired: 2 },
  { level: 'custom', groupName: 'BillingCustom', policyArn: CUSTOM_ARN, approvalsRequired: 1 },
];
const BILLING_ONLY: PolicyVersion = {
  policyArn: CUSTOM_ARN,
  versionId: 'v1',
  document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ce:Get*', 'billing:View*', 'account:Get*'], Resource: '*' }] },
};
export const MAX_DAYS = 90;
/** The executor's clock at the start of every test. */
export const START = '2025-10-01T12:00:00.000Z';
export const ADMIN = 'U0ADMIN';
const REQUEST_ID = '01K6FZ0000AAAAAAAAAAAAAAAA';
const APPROVED_AT = '2025-10-01T11:59:00.000Z';

export const plusDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS).toISOString();

/** jane.doe's read-only request for 7 days, approved by ADMIN a minute before START. */
export function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return buildRequest({
    id: REQUEST_ID,
    status: 'APPROVED',
    justification: 'month-end close for October',
    createdAt: '2025-10-01T11:00:00.000Z',
    decidedBy: ADMIN,
    decidedAt: APPROVED_AT,
    approvals: [{ by: ADMIN, at: APPROVED_AT }],
    approverIds: [ADMIN],
    version: 2,
    updatedAt: APPROVED_AT,
    ...overrides,
  });
}

/** An IamGateway whose groups hold exactly their level's policy unless a test says otherwise. */
export class FakeIam implements IamGateway {
  dryRun = false;
  readonly added: [string, string][] = [];
  readonly removed: [string, string][] = [];
  readonly members = new Map<string, string[]>();
  readonly policies = new Map<string, GroupPolicyState>(LEVELS.map((l) => [l.groupName, { attachedPolicyArns: [l.policyArn], inlinePolicyNames: [] }]));
  /** Default versions of customer-managed policies, as the real gateway reads them. */
  readonly versions = new Map<string, PolicyVersion>([[CUSTOM_ARN, BILLING_ONLY]]);
  addError: Error | undefined;
  policiesError: Error | undefined;
  versionError: Error | undefined;

  async getUser(userName: string): Promise<IamUserInfo | undefined> {
    return { userName, hasConsolePassword: true, mfaDeviceCount: 1, groups: [], notChecked: [] };
  }
  async recheckUser(userName: string): Promise<IamUserInfo | undefined> {
    return this.getUser(userName);
  }
  async findUserByEmailTag(): Promise<string | undefined> {
    return undefined;
  }
  async groupsPerUserQuota(): Promise<number | null> {
    return 10;
  }
  async groupPolicies(groupName: string, expectedPolicyArn: string): Promise<GroupPolicyState> {
    if (this.policiesError) throw this.policiesError;
    const state = this.policies.get(groupName);
    if (!state) throw new Error(`unknown group ${groupName}`);
    if (!needsPolicyDocument(expectedPolicyArn, state.attachedPolicyArns)) return structuredClone(state);
    if (this.versionError) throw this.versionError;
    const version = this.versions.get(expectedPolicyArn);
    return structuredClone(version ? { ...state, expectedVersion: version } : state);
  }
  async addUserToGroup(userName: string, groupName: string): Promise<void> {
    if (this.addError) throw this.addError;
    this.added.push([userName, groupName]);
  }
  async removeUserFromGroup(userName: string, groupName: string): Promise<'removed'> {
    this.removed.push([userName, groupName]);
    return 'removed';
  }
  async groupMembers(groupName: string): Promise<string[]> {
    return [...(this.members.get(groupName) ?? [])];
  }
  async reviewMember(userName: string) {
    return { userName, mfaDevices: 1, oldActiveKeys: [], hasConsolePassword: true, passwordLastUsed: undefined };
  }
}

export class FakeNotifier implements Notifier {
  readonly updated: AccessRequest[] = [];
  readonly notified: AccessRequest[] = [];
  updateError: Error | undefined;

  async requestPosted(): Promise<{ channel: string; ts: string }> {
    return { channel: 'C0ADMINS', ts: '1700000000.000100' };
  }
  async requestUpdated(request: AccessRequest): Promise<void> {
    if (this.updateError) throw this.updateError;
    this.updated.push(structuredClone(request));
  }
  async requesterNotified(request: AccessRequest): Promise<void> {
    this.notified.push(structuredClone(request));
  }
  async threadNews(): Promise<void> {}
  async clickRefused(): Promise<void> {}
  async directMessage(): Promise<void> {}
  async linkMade(): Promise<void> {}
}

/** A store that can die mid-way: `crashWhen` makes matching updates throw, as a killed process would never finish them. */
export class CrashingStore extends MemoryRequestStore {
  crashWhen: ((expected: AccessRequest, change: RequestChange) => boolean) | undefined;
  override async update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest> {
    if (this.crashWhen?.(expected, change)) throw new Error('simulated crash');
    return super.update(expected, change);
  }
}

export function accessDenied(): Error {
  return Object.assign(
    new Error('User: arn:aws:iam::123456789012:user/billing-bot is not authorized to perform: iam:AddUserToGroup on resource: group BillingReadOnly'),
    { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } },
  );
}

type LogFn = (obj: object, msg?: string) => void;

export interface GrantRig {
  store: CrashingStore;
  iam: FakeIam;
  notifier: FakeNotifier;
  /** At START; a test moves it to act later. */
  clock: ManualClock;
  log: { info: Mock<LogFn>; warn: Mock<LogFn>; error: Mock<LogFn> };
  executor: GrantExecutor;
}

/** A GrantExecutor on fresh fakes: the LEVELS above, the default billing namespaces, MAX_DAYS. */
export function grantRig(): GrantRig {
  const store = new CrashingStore();
  const iam = new FakeIam();
  const notifier = new FakeNotifier();
  const clock = new ManualClock(START);
  const log = { info: vi.fn<LogFn>(), warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
  const announcer = new Announcer(notifier, store, log);
  const executor = new GrantExecutor({
    store,
    iam,
    announcer,
    membership: new GroupMembership(store),
    clock,
    levels: LEVELS,
    billingNamespaces: DEFAULT_BILLING_NAMESPACES,
    maxDurationDays: MAX_DAYS,
    log,
  });
  return { store, iam, notifier, clock, log, executor };
}
