import { beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { DEFAULT_BILLING_NAMESPACES, DEFAULT_POLICY_ARNS, type LevelConfig } from '../../src/config.js';
import { needsPolicyDocument, type PolicyVersion } from '../../src/domain/group-policy.js';
import { type AccessRequest, DAY_MS } from '../../src/domain/request.js';
import { activate, approve, fail, type RequestChange, retry } from '../../src/domain/transitions.js';
import { ConflictError, IamUnavailableError, RequestConflictError } from '../../src/errors.js';
import { Announcer } from '../../src/services/announcer.js';
import { GrantExecutor } from '../../src/services/grant.js';
import { GroupMembership } from '../../src/services/membership.js';
import type { Clock, GroupPolicyState, IamGateway, IamUserInfo, Notifier } from '../../src/services/ports.js';
import { MemoryRequestStore } from '../support/memory-store.js';

const READ_ONLY_ARN = DEFAULT_POLICY_ARNS['read-only'] as string;
const FULL_ARN = DEFAULT_POLICY_ARNS.full as string;
const CUSTOM_ARN = 'arn:aws:iam::123456789012:policy/BillingCustom';
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
const MAX_DAYS = 90;
const START = '2025-10-01T12:00:00.000Z';
const ADMIN = 'U0ADMIN';
const REQUEST_ID = '01K6FZ0000AAAAAAAAAAAAAAAA';
const GRANT_ID = '01K5AB0000BBBBBBBBBBBBBBBB';
const EXTENSION_ID = '01K6FZ1111CCCCCCCCCCCCCCCC';

const plusDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS).toISOString();

function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: REQUEST_ID,
    status: 'APPROVED',
    requesterId: 'U0EMPLOYEE',
    requesterTeamId: 'T0001',
    requesterEmail: 'jane.doe@corp.com',
    iamUserName: 'jane.doe',
    level: 'read-only',
    groupName: 'BillingReadOnly',
    durationDays: 7,
    justification: 'month-end close for October',
    createdAt: '2025-10-01T11:00:00.000Z',
    decidedBy: ADMIN,
    decidedAt: '2025-10-01T11:59:00.000Z',
    approvals: [{ by: ADMIN, at: '2025-10-01T11:59:00.000Z' }],
    approverIds: [ADMIN],
    approvalsRequired: 1,
    dryRun: false,
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: [], warnings: [] },
    version: 2,
    updatedAt: '2025-10-01T11:59:00.000Z',
    ...overrides,
  };
}

/** An IamGateway whose groups hold exactly their level's policy unless a test says otherwise. */
class FakeIam implements IamGateway {
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

class FakeNotifier implements Notifier {
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
class CrashingStore extends MemoryRequestStore {
  crashWhen: ((expected: AccessRequest, change: RequestChange) => boolean) | undefined;
  override async update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest> {
    if (this.crashWhen?.(expected, change)) throw new Error('simulated crash');
    return super.update(expected, change);
  }
}

function accessDenied(): Error {
  return Object.assign(
    new Error('User: arn:aws:iam::123456789012:user/billing-bot is not authorized to perform: iam:AddUserToGroup on resource: group BillingReadOnly'),
    { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } },
  );
}

let store: CrashingStore;
let iam: FakeIam;
let notifier: FakeNotifier;
let nowIso: string;
type LogFn = (obj: object, msg?: string) => void;
let log: { info: Mock<LogFn>; warn: Mock<LogFn>; error: Mock<LogFn> };
let executor: GrantExecutor;

beforeEach(() => {
  store = new CrashingStore();
  iam = new FakeIam();
  notifier = new FakeNotifier();
  nowIso = START;
  const clock: Clock = { now: () => new Date(nowIso) };
  log = { info: vi.fn<LogFn>(), warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
  const announcer = new Announcer(notifier, store, log);
  executor = new GrantExecutor({
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
});

describe('GrantExecutor.complete: a new grant', () => {
  it('adds the user to the group and moves APPROVED → ACTIVE with expiresAt = now + durationDays', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('ACTIVE');
    expect(done.expiresAt).toBe(plusDays(START, 7));
    expect(done.expiresAt).toBe('2025-10-08T12:00:00.000Z');
    expect(done.version).toBe(approved.version + 1);
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
    expect(await store.get(approved.id)).toMatchObject({ status: 'ACTIVE', expiresAt: done.expiresAt, version: done.version });
    expect(done.failure).toBeUndefined();
  });

  it('uses the request duration', async () => {
    const approved = makeRequest({ durationDays: 30, level: 'full', groupName: 'BillingFull' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.expiresAt).toBe(plusDays(START, 30));
    expect(iam.added).toEqual([['jane.doe', 'BillingFull']]);
  });

  it('records an APPROVED → ACTIVE audit event by the actor', async () => {
    const approved = makeRequest();
    store.seed(approved);
    await executor.complete(approved, ADMIN);
    const events = await store.auditEvents(approved.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from: 'APPROVED', to: 'ACTIVE', actor: ADMIN, at: START });
    expect(events[0]?.detail).toContain('BillingReadOnly');
  });

  it('tells the admin channel and the requester about the ACTIVE grant, then clears the notice', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(notifier.updated.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(notifier.notified.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(done.noticeDue).toBe('DUE');
    expect((await store.get(approved.id))?.noticeDue).toBeUndefined();
  });

  it('marks the audit detail in dry-run', async () => {
    iam.dryRun = true;
    const approved = makeRequest({ dryRun: true });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.auditEvents(approved.id))[0]?.detail).toContain('[dry-run]');
  });

  it('a Slack failure after the grant does not undo it', async () => {
    notifier.updateError = new Error('channel_not_found');
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.get(approved.id))?.status).toBe('ACTIVE');
    expect(notifier.notified.map((r) => r.status)).toEqual(['ACTIVE']);
    expect(log.error).toHaveBeenCalled();
    expect((await store.get(approved.id))?.noticeDue).toBe('DUE');
    expect(await store.listNoticeDue(START)).toHaveLength(1);
  });

  it('a second runner with the same APPROVED item loses with ConflictError and leaves the grant ACTIVE', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const first = await executor.complete(approved, ADMIN);
    const err = await executor.complete(approved, 'U0OTHERADMIN').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError<AccessRequest>).current?.status).toBe('ACTIVE');
    expect(await store.get(approved.id)).toMatchObject({ status: 'ACTIVE', version: first.version, expiresAt: first.expiresAt });
  });
});

describe('GrantExecutor.complete: two finishers of one request (the live path and the sweeper)', () => {
  it('the one whose add failed writes FAILED first; the other, whose add reached IAM, loses its write and takes its add back', async () => {
    const approved = makeRequest();
    store.seed(approved);
    iam.addError = accessDenied();
    const failed = await executor.complete(structuredClone(approved), ADMIN);
    expect(failed.status).toBe('FAILED');

    iam.addError = undefined;
    const err = await executor.complete(structuredClone(approved), 'system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    // The table says FAILED: the add that still reached IAM is taken back, and that is on the audit trail.
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
    expect(iam.removed.at(-1)).toEqual(['jane.doe', 'BillingReadOnly']);
    expect((await store.get(approved.id))?.status).toBe('FAILED');
    const notes = (await store.auditEvents(approved.id)).filter((e) => e.from === 'FAILED' && e.to === 'FAILED');
    expect(notes.map((e) => e.detail).join(' | ')).toContain("a second attempt's add reached IAM after the request was FAILED");
  });

  it('the one whose add failed after the other wrote ACTIVE loses its FAILED write and leaves the membership alone', async () => {
    const approved = makeRequest();
    store.seed(approved);
    const active = await executor.complete(structuredClone(approved), 'system');
    expect(active.status).toBe('ACTIVE');

    iam.addError = accessDenied();
    const err = await executor.complete(structuredClone(approved), ADMIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(iam.removed).toEqual([]);
    expect((await store.get(approved.id))?.status).toBe('ACTIVE');
  });

  it('a request that is no longer APPROVED is returned as it is, with no IAM call', async () => {
    const active = makeRequest({ status: 'ACTIVE', expiresAt: plusDays(START, 7) });
    store.seed(active);
    expect((await executor.complete(active, ADMIN)).status).toBe('ACTIVE');
    expect(iam.added).toEqual([]);
  });
});

describe('GrantExecutor.complete: failures', () => {
  it('moves APPROVED → FAILED with the IAM error name and message when AddUserToGroup is denied', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('AccessDenied');
    expect(done.failure?.message).toContain('not authorized to perform: iam:AddUserToGroup');
    expect(done.failure?.at).toBe(START);
    expect(done.expiresAt).toBeUndefined();
    expect(await store.get(approved.id)).toMatchObject({ status: 'FAILED', failure: done.failure, version: done.version });
    const events = await store.auditEvents(approved.id);
    expect(events[0]).toMatchObject({ from: 'APPROVED', to: 'FAILED', actor: ADMIN });
    expect(events[0]?.detail).toContain('AccessDenied');
  });

  it('tells the admin channel and the requester about the failure', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    await executor.complete(approved, ADMIN);
    expect(notifier.updated.map((r) => r.status)).toEqual(['FAILED']);
    expect(notifier.updated[0]?.failure?.name).toBe('AccessDenied');
    expect(notifier.notified.map((r) => r.status)).toEqual(['FAILED']);
  });

  it('refuses a group holding an extra managed policy: FAILED naming it, never added', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN, 'arn:aws:iam::aws:policy/AdministratorAccess'], inlinePolicyNames: [] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('GroupPolicyMismatch');
    expect(done.failure?.message).toContain('arn:aws:iam::aws:policy/AdministratorAccess');
    expect(iam.added).toEqual([]);
    expect(notifier.notified.map((r) => r.status)).toEqual(['FAILED']);
  });

  it('refuses a group holding an inline policy: FAILED naming it, never added', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: ['allow-everything'] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain('allow-everything');
    expect(done.failure?.message.toLowerCase()).toContain('inline');
    expect(iam.added).toEqual([]);
  });

  it('refuses a group that lost its expected policy (or holds another level’s)', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [FULL_ARN], inlinePolicyNames: [] });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain(READ_ONLY_ARN);
    expect(done.failure?.message).toContain(FULL_ARN);
    expect(iam.added).toEqual([]);
  });

  it('never grants when the group policies could not be read', async () => {
    iam.policiesError = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    const approved = makeRequest();
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('Throttling');
    expect(iam.added).toEqual([]);
  });

  it('grants while a customer-managed policy allows billing only; once its default version allows "*": FAILED naming it, never added', async () => {
    const first = makeRequest({ id: '01K6FZ0000AAAAAAAAAAAAAAAY', level: 'custom', groupName: 'BillingCustom' });
    store.seed(first);
    expect((await executor.complete(first, ADMIN)).status).toBe('ACTIVE');
    expect(iam.added).toEqual([['jane.doe', 'BillingCustom']]);
    iam.added.length = 0;

    iam.versions.set(CUSTOM_ARN, {
      policyArn: CUSTOM_ARN,
      versionId: 'v2',
      document: { Version: '2012-10-17', Statement: [{ Sid: 'Edited', Effect: 'Allow', Action: '*', Resource: '*' }] },
    });
    const approved = makeRequest({ level: 'custom', groupName: 'BillingCustom' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);

    expect(done.status).toBe('FAILED');
    expect(done.failure?.name).toBe('GroupPolicyMismatch');
    expect(done.failure?.message).toContain(`${CUSTOM_ARN} (default version v2) statement 1 (Edited) allows *`);
    expect(iam.added).toEqual([]);
  });

  it('refuses NotAction, another namespace and account:* in a customer-managed policy', async () => {
    const statements = [
      { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
      { Effect: 'Allow', Action: ['ce:Get*', 'iam:PassRole'], Resource: '*' },
      { Effect: 'Allow', Action: 'account:*', Resource: '*' },
    ];
    for (const [i, statement] of statements.entries()) {
      iam.versions.set(CUSTOM_ARN, { policyArn: CUSTOM_ARN, versionId: `v${i + 2}`, document: { Version: '2012-10-17', Statement: [statement] } });
      const approved = makeRequest({ id: `01K6FZ0000AAAAAAAAAAAAAAA${i}`, level: 'custom', groupName: 'BillingCustom' });
      store.seed(approved);
      const done = await executor.complete(approved, ADMIN);
      expect(done.status, JSON.stringify(statement)).toBe('FAILED');
      expect(done.failure?.message).toMatch(/NotAction|iam:PassRole|account:\*/);
    }
    expect(iam.added).toEqual([]);
  });

  it('never grants when the default version could not be read; dry-run goes on, marked "not checked"', async () => {
    iam.versionError = new IamUnavailableError('reading the default version', Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const live = makeRequest({ level: 'custom', groupName: 'BillingCustom' });
    store.seed(live);
    const failed = await executor.complete(live, ADMIN);
    expect(failed.status).toBe('FAILED');
    expect(failed.failure?.name).toBe('IamUnavailableError');
    expect(iam.added).toEqual([]);

    iam.dryRun = true;
    const dry = makeRequest({ id: '01K6FZ0000AAAAAAAAAAAAAAAZ', level: 'custom', groupName: 'BillingCustom', dryRun: true });
    store.seed(dry);
    const done = await executor.complete(dry, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect((await store.auditEvents(dry.id))[0]?.detail).toContain('group policies not checked: AccessDenied');
  });

  it('refuses a level/group pair that is not configured', async () => {
    const approved = makeRequest({ level: 'read-only', groupName: 'BillingFull' });
    store.seed(approved);
    const done = await executor.complete(approved, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(iam.added).toEqual([]);
  });

  it('a FAILED request retried (FAILED → APPROVED) then completes to ACTIVE', async () => {
    iam.addError = accessDenied();
    const approved = makeRequest();
    store.seed(approved);
    const failed = await executor.complete(approved, ADMIN);
    const retried = await store.update(failed, retry(failed, ADMIN, START));
    iam.addError = undefined;
    const done = await executor.complete(retried, ADMIN);
    expect(done.status).toBe('ACTIVE');
    expect(done.failure).toBeUndefined();
    expect(iam.added).toEqual([['jane.doe', 'BillingReadOnly']]);
  });
});

describe('GrantExecutor.complete: extensions', () => {
  function seedGrantAndExtension(grantExpiresInDays: number, extensionDays: number) {
    const grant = makeRequest({
      id: GRANT_ID,
      status: 'ACTIVE',
      createdAt: '2025-09-01T10:00:00.000Z',
      expiresAt: plusDays(START, grantExpiresInDays),
      version: 3,
    });
    const extension = makeRequest({ id: EXTENSION_ID, extendsRequestId: GRANT_ID, durationDays: extensionDays });
    store.seed(grant, extension);
    return { grant, extension };
  }

  it('moves the held grant’s expiry by n days and marks the extension EXTENDED, without adding the user again', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    const done = await executor.complete(extension, ADMIN);

    const expected = plusDays(START, 10);
    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(expected);
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.status).toBe('ACTIVE');
    expect(storedGrant?.expiresAt).toBe(expected);
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect((await store.get(extension.id))?.status).toBe('EXTENDED');
    expect(iam.added).toEqual([]);
    expect(notifier.notified.map((r) => r.status)).toEqual(['EXTENDED']);
    expect(notifier.updated.map((r) => r.id)).toContain(EXTENSION_ID);
  });

  it('caps the new expiry at now + MAX_DURATION_DAYS', async () => {
    const { grant, extension } = seedGrantAndExtension(80, 30);
    const done = await executor.complete(extension, ADMIN);

    const capped = plusDays(START, MAX_DAYS);
    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(capped);
    expect((await store.get(grant.id))?.expiresAt).toBe(capped);
  });

  it('uses current + n days when that is exactly now + MAX', async () => {
    const { extension } = seedGrantAndExtension(60, 30);
    expect((await executor.complete(extension, ADMIN)).expiresAt).toBe(plusDays(START, MAX_DAYS));
  });

  it('after a crash between moving the grant and marking the extension, a re-run does not extend twice', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    // The process dies right after the grant's expiry moved: every later write for the extension is lost.
    store.crashWhen = (expected) => expected.id === EXTENSION_ID;
    await expect(executor.complete(extension, ADMIN)).rejects.toThrow('simulated crash');

    const afterCrash = await store.get(grant.id);
    expect(afterCrash?.expiresAt).toBe(plusDays(START, 10));
    expect(afterCrash?.appliedExtensions).toEqual([EXTENSION_ID]);
    const stuck = await store.get(extension.id);
    expect(stuck?.status).toBe('APPROVED');

    // The next sweep, an hour later, finishes the APPROVED extension.
    store.crashWhen = undefined;
    nowIso = plusDays(START, 1 / 24);
    const done = await executor.complete(stuck as AccessRequest, 'system');

    expect(done.status).toBe('EXTENDED');
    expect(done.expiresAt).toBe(plusDays(START, 10));
    const finalGrant = await store.get(grant.id);
    expect(finalGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(finalGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect(finalGrant?.version).toBe(afterCrash?.version);
    expect(iam.added).toEqual([]);
  });

  it('running complete twice with the same extension item extends once (the second loses)', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    await executor.complete(extension, ADMIN);
    const again = await executor.complete(extension, ADMIN).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
    expect((await store.get(extension.id))?.status).toBe('EXTENDED');
  });

  it('retries when the grant changed meanwhile, and still extends once', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    // Another writer touches the grant between the executor's read and its write, once.
    let touched = false;
    store.crashWhen = (expected) => {
      if (expected.id === GRANT_ID && !touched) {
        touched = true;
        const current = store.items.get(GRANT_ID) as AccessRequest;
        store.items.set(GRANT_ID, { ...current, version: current.version + 1 });
      }
      return false;
    };
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('EXTENDED');
    const storedGrant = await store.get(grant.id);
    expect(storedGrant?.expiresAt).toBe(plusDays(START, 10));
    expect(storedGrant?.appliedExtensions).toEqual([EXTENSION_ID]);
  });

  it('fails the extension when the grant it extends is no longer active', async () => {
    const { grant, extension } = seedGrantAndExtension(3, 7);
    store.items.set(grant.id, { ...grant, status: 'EXPIRED', endedAt: START, endedBy: 'system' });
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain(GRANT_ID);
    expect((await store.get(grant.id))?.expiresAt).toBe(grant.expiresAt);
    expect(iam.added).toEqual([]);
  });

  it('checks the group policies for an extension too', async () => {
    iam.policies.set('BillingReadOnly', { attachedPolicyArns: [READ_ONLY_ARN], inlinePolicyNames: ['backdoor'] });
    const { grant, extension } = seedGrantAndExtension(3, 7);
    const done = await executor.complete(extension, ADMIN);
    expect(done.status).toBe('FAILED');
    expect(done.failure?.message).toContain('backdoor');
    expect((await store.get(grant.id))?.expiresAt).toBe(grant.expiresAt);
  });
});

describe('MemoryRequestStore conditional writes', () => {
  it('throws ConflictError with the current item on a version mismatch', async () => {
    const request = makeRequest();
    store.seed(request);
    const updated = await store.update(request, activate(request, ADMIN, START, 'added'));
    expect(updated.version).toBe(request.version + 1);
    const err = await store.update(request, fail(request, ADMIN, START, { name: 'X', message: 'y', membershipUnknown: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestConflictError);
    expect((err as RequestConflictError).current).toEqual(updated);
  });

  it('throws ConflictError on a status mismatch at the same version', async () => {
    const request = makeRequest();
    store.seed(request);
    const pending = { ...request, status: 'PENDING' as const, approverIds: [], approvals: [] };
    await expect(store.update(pending, approve(pending, { by: ADMIN, at: START }))).rejects.toBeInstanceOf(RequestConflictError);
    expect((await store.get(request.id))?.status).toBe('APPROVED');
  });

  it('removes keys given as undefined and refuses a second pending request for the same user and level', async () => {
    const request = makeRequest({ status: 'FAILED', failure: { name: 'X', message: 'y', at: START } });
    store.seed(request);
    const next = await store.update(request, retry(request, ADMIN, START));
    expect('failure' in next).toBe(false);
    await store.create(makeRequest({ id: '01K6FZ2222DDDDDDDDDDDDDDDD', status: 'PENDING' }), { actor: 'U0EMPLOYEE', detail: 'asked' });
    await expect(
      store.create(makeRequest({ id: '01K6FZ3333EEEEEEEEEEEEEEEE', status: 'PENDING' }), { actor: 'U0EMPLOYEE', detail: 'asked' }),
    ).rejects.toBeInstanceOf(ConflictError);
  });
});
