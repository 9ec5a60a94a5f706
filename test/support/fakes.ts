/**
 * Fakes for the services' unit tests: a Slack directory the test can change (usergroups
 * included), a notifier that records every notice (and can be made to fail, as Slack can),
 * and a rig that wires the real services with `wireServices` over them, the memory store and
 * the model test's in-memory IAM, with a clock that only moves when the test moves it.
 */
import { pino } from 'pino';
import type { Config } from '../../src/config.js';
import { type Services, wireServices } from '../../src/deps.js';
import type { AccessRequest, AuditEvent } from '../../src/domain/request.js';
import { BillingAccessError, plainText } from '../../src/errors.js';
import type { LinkNotice, Notifier, SlackDirectory, SlackUserProfile, ThreadNews } from '../../src/services/ports.js';
import type { SubmitInput } from '../../src/services/request-service.js';
import type { SummaryPoster, SummaryReport } from '../../src/services/summary-service.js';
import { linkNoticeText, threadNewsText } from '../../src/slack/notices.js';
import { ManualClock } from './clock.js';
import { MemoryRequestStore } from './memory-store.js';
import { IamWorld } from './model/iam-world.js';
import { ACTORS, type Actor, type ActorName, ADMIN_CHANNEL, IAM_USERS, modelConfig, profileOf, START, TEAM } from './model/world.js';
import { buildRequest } from './requests.js';

export { ACTORS, ADMIN_CHANNEL, START, TEAM };
export const OTHER_CHANNEL = 'C0GENERAL';

/** A Slack directory over the model test's people; profiles and usergroups can be edited by a test. */
export class FakeDirectory implements SlackDirectory {
  readonly profiles = new Map<string, SlackUserProfile>();
  readonly usergroups = new Map<string, string[]>();
  usergroupCalls = 0;
  usergroupError: Error | undefined;

  constructor(actors: readonly Actor[] = Object.values(ACTORS)) {
    for (const a of actors) this.profiles.set(a.id, profileOf(a));
  }

  edit(userId: string, changes: Partial<SlackUserProfile>): void {
    const p = this.profiles.get(userId);
    if (!p) throw new Error(`no profile ${userId}`);
    this.profiles.set(userId, { ...p, ...changes });
  }

  async getUser(userId: string): Promise<SlackUserProfile | undefined> {
    const p = this.profiles.get(userId);
    return p ? { ...p } : undefined;
  }

  async usergroupMembers(usergroupId: string): Promise<string[]> {
    this.usergroupCalls += 1;
    if (this.usergroupError) throw this.usergroupError;
    return [...(this.usergroups.get(usergroupId) ?? [])];
  }
}

/** What the bot said, as the Notifier/SummaryPoster ports see it: which notice, about which request (in which state), to whom. */
export type Notice =
  | { kind: 'posted'; requestId: string; status: string; extensionOf?: string }
  | { kind: 'updated'; requestId: string; status: string; request: AccessRequest }
  | { kind: 'requester'; to: string; requestId: string; status: string; request: AccessRequest }
  | { kind: 'thread'; requestId: string; text: string }
  | { kind: 'clickRefused'; channel: string; to: string; text: string }
  | { kind: 'dm'; to: string; text: string }
  | { kind: 'admin'; text: string };

export type NotifierMethod = keyof Notifier | 'postSummary';

/** The error a fake Slack call throws while its method is down. */
export class SlackDown extends Error {
  override name = 'SlackDown';
}

/** Records every notice that was delivered; a method in `down` throws instead (and records nothing). */
export class RecordingNotifier implements Notifier, SummaryPoster {
  readonly notices: Notice[] = [];
  readonly summaries: SummaryReport[] = [];
  readonly down = new Set<NotifierMethod>();
  /** Every call, delivered or not. */
  readonly calls: NotifierMethod[] = [];
  private posts = 0;

  constructor(private readonly channel: string = ADMIN_CHANNEL) {}

  /** Runs inside a call, before it is delivered: lets a test make something happen while a notice is on its way. */
  during: ((method: NotifierMethod, request: AccessRequest | undefined) => Promise<void>) | undefined;

  private async attempt(method: NotifierMethod, request?: AccessRequest): Promise<void> {
    this.calls.push(method);
    if (this.during) await this.during(method, request);
    if (this.down.has(method)) throw new SlackDown(`${method}: Slack is down (test)`);
  }

  async requestPosted(request: AccessRequest, context: { extensionOf?: AccessRequest }): Promise<{ channel: string; ts: string }> {
    await this.attempt('requestPosted', request);
    this.posts += 1;
    this.notices.push({
      kind: 'posted',
      requestId: request.id,
      status: request.status,
      ...(context.extensionOf ? { extensionOf: context.extensionOf.id } : {}),
    });
    return { channel: this.channel, ts: `1700000000.${String(this.posts).padStart(6, '0')}` };
  }
  async requestUpdated(request: AccessRequest): Promise<void> {
    await this.attempt('requestUpdated', request);
    this.notices.push({ kind: 'updated', requestId: request.id, status: request.status, request: structuredClone(request) });
  }
  async requesterNotified(request: AccessRequest): Promise<void> {
    await this.attempt('requesterNotified', request);
    this.notices.push({ kind: 'requester', to: request.requesterId, requestId: request.id, status: request.status, request: structuredClone(request) });
  }
  async threadNews(request: AccessRequest, news: ThreadNews): Promise<void> {
    await this.attempt('threadNews', request);
    this.notices.push({ kind: 'thread', requestId: request.id, text: threadNewsText(news) });
  }
  async clickRefused(target: { channel: string; userId: string }, message: string): Promise<void> {
    await this.attempt('clickRefused');
    this.notices.push({ kind: 'clickRefused', channel: target.channel, to: target.userId, text: message });
  }
  async directMessage(userId: string, text: string): Promise<void> {
    await this.attempt('directMessage');
    this.notices.push({ kind: 'dm', to: userId, text });
  }
  async linkMade(link: LinkNotice): Promise<void> {
    await this.attempt('linkMade');
    this.notices.push({ kind: 'admin', text: linkNoticeText(link) });
  }
  async postSummary(report: SummaryReport): Promise<void> {
    await this.attempt('postSummary');
    this.summaries.push(structuredClone(report));
  }

  /** The notices about one request, as [kind, status or text] pairs, in order. */
  about(requestId: string): string[] {
    return this.notices.flatMap((n) => {
      if (!('requestId' in n) || n.requestId !== requestId) return [];
      if (n.kind === 'thread') return [`thread: ${n.text}`];
      if (n.kind === 'requester') return [`requester ${n.to}: ${n.status}`];
      return [`${n.kind}: ${n.status}`];
    });
  }

  /** Forgets what was recorded so far (a test's "from here on"). */
  clear(): void {
    this.notices.length = 0;
    this.summaries.length = 0;
    this.calls.length = 0;
  }
}

export interface RigOptions {
  /** Applied to the model test's configuration before the services are wired. */
  config?: Partial<Config>;
  /** Share a store with another rig (a second replica). */
  store?: MemoryRequestStore;
  /** Share an IAM with another rig. */
  iam?: IamWorld;
  clock?: ManualClock;
  replicaId?: string;
}

export type Rig = ReturnType<typeof buildRig>;

/**
 * The real services, wired by `wireServices` as the bot wires them, over: the memory store,
 * the model test's IAM (its users: jane.doe, Joe.Smith, alice.admin, bob.admin, carol.admin,
 * dave.ops, gus, all with MFA), the model test's Slack people, a recording notifier, and a
 * manual clock at START (Monday 2030-01-07 09:00 UTC). Configuration: the model test's
 * (levels read-only=BillingReadOnly and full=BillingFull with full=2 approvals, REQUIRE_MFA=block,
 * live IAM, 24 h pending timeout, 30 days at most, 4 h break-glass, corp.com only).
 */
export function buildRig(options: RigOptions = {}) {
  const clock = options.clock ?? new ManualClock(START);
  const config: Config = { ...modelConfig(), ...options.config };
  const store = options.store ?? new MemoryRequestStore();
  const iam =
    options.iam ??
    new IamWorld(
      config.levels.map((l) => l.groupName),
      new Map(config.levels.map((l) => [l.groupName, l.policyArn])),
      () => clock.now().toISOString(),
    );
  if (!options.iam) for (const name of IAM_USERS) iam.addUser(name);
  const directory = new FakeDirectory();
  const notifier = new RecordingNotifier(config.adminChannelId);
  const services: Services = wireServices({
    config,
    log: pino({ level: 'silent' }),
    clock,
    store,
    iam,
    directory,
    notifier,
    teamId: () => TEAM,
    replicaId: options.replicaId ?? 'replica-a',
  });

  const id = (who: ActorName) => ACTORS[who].id;

  /** `who` asks for `level` (7 days unless said otherwise). */
  const submit = (who: ActorName, level: string, extra: Partial<SubmitInput> = {}) =>
    services.requests.submit({
      userId: id(who),
      teamId: TEAM,
      level,
      durationDays: 7,
      justification: 'month-end close for January',
      breakGlass: false,
      ...extra,
    });

  /** `who` clicks Approve in the admin channel (or in `channel`; null: a click that names no channel). */
  const approve = (who: ActorName, requestId: string, channel: string | null = config.adminChannelId) =>
    services.decisions.approve({ userId: id(who), channelId: channel ?? undefined, requestId });

  const deny = (who: ActorName, requestId: string, reason?: string, channel: string | null = config.adminChannelId) =>
    services.decisions.deny({ userId: id(who), channelId: channel ?? undefined, requestId }, reason);

  const retry = (who: ActorName, requestId: string, channel: string | null = config.adminChannelId) =>
    services.decisions.retry({ userId: id(who), channelId: channel ?? undefined, requestId });

  /** A grant of `level` to `who`, approved by enough admins (alice, then bob). */
  const grant = async (who: ActorName, level: string, extra: Partial<SubmitInput> = {}) => {
    const { request } = await submit(who, level, extra);
    const approvers: ActorName[] = ['alice', 'bob', 'carol'].filter((a) => a !== who) as ActorName[];
    let result = await approve(approvers[0] as ActorName, request.id);
    for (const admin of approvers.slice(1, request.approvalsRequired)) result = await approve(admin, request.id);
    if (result.request.status !== 'ACTIVE') throw new Error(`grant of ${level} to ${who} ended ${result.request.status}`);
    return result.request;
  };

  const stored = async (requestId: string): Promise<AccessRequest> => {
    const r = await store.get(requestId);
    if (!r) throw new Error(`request ${requestId} is not stored`);
    return r;
  };

  /** The audit trail of one request, oldest first. */
  const trail = (requestId: string): Promise<AuditEvent[]> => store.auditEvents(requestId);

  /** Audit events about no request (a link made, a member removed as drift) under `subject`, read as the audit export reads them. */
  const looseAudit = async (subject: string): Promise<AuditEvent[]> => {
    const found: AuditEvent[] = [];
    for await (const page of store.auditEventsSince('1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z')) {
      found.push(...page.filter((e) => e.requestId === subject));
    }
    return found;
  };

  return { clock, config, store, iam, directory, notifier, services, id, submit, approve, deny, retry, grant, stored, trail, looseAudit };
}

/** The error a promise rejected with (fails the test if it resolved). */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** START plus `ms`, as an ISO time. */
export const at = (ms: number): string => new Date(Date.parse(START) + ms).toISOString();

/** The refusal's class and the words the person sees. */
export async function refused(promise: Promise<unknown>): Promise<{ err: Error; text: string }> {
  const err = await refusal(promise);
  return { err, text: err instanceof BillingAccessError ? plainText(err.parts) : err.message };
}

export async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected a refusal, but it succeeded');
}

/** A full AccessRequest for `store.create`, for states the services cannot be driven to (an item left by a crash, an operator's edit). */
export function requestOf(overrides: Partial<AccessRequest> & Pick<AccessRequest, 'id' | 'status' | 'createdAt'>): AccessRequest {
  return buildRequest({
    requesterId: ACTORS.jane.id,
    requesterTeamId: TEAM,
    requesterEmail: ACTORS.jane.email,
    justification: 'month-end close for January',
    ...overrides,
  });
}
