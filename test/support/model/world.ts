/**
 * The system under the model-based test: the real services (request, decide, lifecycle,
 * sweeper, summary Keep), wired as the bot wires them, over a real store (in memory, or
 * DynamoDB-compatible), an in-memory IAM with faults and hand edits, a Slack directory the
 * test can change, and a clock it moves by hand.
 */
import { pino } from 'pino';
import { type Config, loadConfig } from '../../../src/config.js';
import { type Services, wireServices } from '../../../src/deps.js';
import { type AccessRequest, REQUEST_STATUSES } from '../../../src/domain/request.js';
import type { LinkNotice, Notifier, RequestStore, SlackDirectory, SlackUserProfile, SummaryStore } from '../../../src/services/ports.js';
import type { SummaryPoster } from '../../../src/services/summary-service.js';
import { linkNoticeText } from '../../../src/slack/notices.js';
import { ManualClock } from '../clock.js';
import { IamWorld } from './iam-world.js';

export const TEAM = 'T0MODEL';
export const ADMIN_CHANNEL = 'C0ADMINS';
export const OTHER_CHANNEL = 'C0GENERAL';
export const START = '2030-01-07T09:00:00.000Z';
export const BREAK_GLASS_HOURS = 4;
export const MAX_DAYS = 30;
export const LEVELS = { 'read-only': 'BillingReadOnly', full: 'BillingFull' } as const;
export type Level = keyof typeof LEVELS;

export interface Actor {
  id: string;
  email: string;
  admin: boolean;
  guest?: boolean;
}

/**
 * Employees, admins, a guest, a partner whose email has jane's local part, an admin's second
 * Slack account (an admin too), which a `link` can point at the first one's IAM user, and an
 * admin whose own IAM user cannot be told from his email, with a second account of his own.
 */
export const ACTORS = {
  jane: { id: 'U0JANE', email: 'jane.doe@corp.com', admin: false },
  joe: { id: 'U0JOE', email: 'joe.smith@corp.com', admin: false },
  alice: { id: 'U0ALICE', email: 'alice.admin@corp.com', admin: true },
  bob: { id: 'U0BOB', email: 'bob.admin@corp.com', admin: true },
  carol: { id: 'U0CAROL', email: 'carol.admin@corp.com', admin: true },
  aliceAlt: { id: 'U0ALICEALT', email: 'alice.second@corp.com', admin: true },
  /** An admin whose email maps to no IAM user (his is dave.ops): only a link can show whose it is. */
  dave: { id: 'U0DAVE', email: 'dave@corp.com', admin: true },
  daveAlt: { id: 'U0DAVEALT', email: 'dave.alt@corp.com', admin: false },
  gus: { id: 'U0GUS', email: 'gus@corp.com', admin: false, guest: true },
  pat: { id: 'U0PAT', email: 'jane.doe@partner.com', admin: false },
} satisfies Record<string, Actor>;
export type ActorName = keyof typeof ACTORS;

/** IAM users as IAM spells them: Joe.Smith is reached by joe.smith@corp.com (IAM names are case-insensitive). */
export const IAM_USERS = ['jane.doe', 'Joe.Smith', 'alice.admin', 'bob.admin', 'carol.admin', 'dave.ops', 'gus'] as const;

/** An actor's Slack profile: a member of the bot's workspace, active, a guest when the actor is one. */
export function profileOf(actor: Actor): SlackUserProfile {
  return { id: actor.id, teamId: TEAM, email: actor.email, deleted: false, isRestricted: actor.guest === true, isUltraRestricted: false, isBot: false };
}

class ModelDirectory implements SlackDirectory {
  readonly profiles = new Map<string, SlackUserProfile>();
  constructor() {
    for (const a of Object.values(ACTORS) as Actor[]) this.profiles.set(a.id, profileOf(a));
  }
  async getUser(userId: string): Promise<SlackUserProfile | undefined> {
    await Promise.resolve();
    const p = this.profiles.get(userId);
    return p ? { ...p } : undefined;
  }
  async usergroupMembers(): Promise<string[]> {
    return [];
  }
}

/** Slack is not what this test is about: notices are recorded and always delivered. */
class RecordingNotifier implements Notifier, SummaryPoster {
  readonly dms: { userId: string; requestId: string; status: string }[] = [];
  async requestPosted(request: AccessRequest) {
    return { channel: ADMIN_CHANNEL, ts: `${Date.parse(request.createdAt) / 1000}.${request.id.slice(-6)}` };
  }
  async requestUpdated(): Promise<void> {}
  async requesterNotified(request: AccessRequest): Promise<void> {
    this.dms.push({ userId: request.requesterId, requestId: request.id, status: request.status });
  }
  async threadNews(): Promise<void> {}
  async clickRefused(): Promise<void> {}
  async directMessage(): Promise<void> {}
  readonly adminNotices: string[] = [];
  async linkMade(link: LinkNotice): Promise<void> {
    this.adminNotices.push(linkNoticeText(link));
  }
  async postSummary(): Promise<void> {}
}

export function modelConfig(): Config {
  return loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-model',
    SLACK_SIGNING_SECRET: 'model-secret',
    ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
    ADMIN_USER_IDS: (Object.values(ACTORS) as Actor[])
      .filter((a) => a.admin)
      .map((a) => a.id)
      .join(','),
    BILLING_GROUPS: Object.entries(LEVELS)
      .map(([l, g]) => `${l}=${g}`)
      .join(','),
    APPROVALS_REQUIRED: 'full=2',
    BREAK_GLASS_MAX_HOURS: String(BREAK_GLASS_HOURS),
    MAX_DURATION_DAYS: String(MAX_DAYS),
    DEFAULT_DURATION_DAYS: '7',
    PENDING_TIMEOUT_HOURS: '24',
    REQUIRE_MFA: 'block',
    ALLOWED_EMAIL_DOMAINS: 'corp.com',
    IAM_MODE: 'live',
    SWEEP_INTERVAL_SECONDS: '60',
    LOG_LEVEL: 'silent',
    COMMAND_RATE_PER_MINUTE: '0',
  });
}

export type ModelStore = RequestStore & SummaryStore;

/** The store calls the services make, each of which may wait a little during a race. */
const STORE_CALLS = [
  'create',
  'get',
  'update',
  'listByStatus',
  'listExpiring',
  'appendNote',
  'getLink',
  'linkHolder',
  'putLink',
  'clearNoticeDue',
  'listNoticeDue',
] as const;

export class World {
  readonly clock = new ManualClock(START);
  readonly config = modelConfig();
  readonly directory = new ModelDirectory();
  readonly notifier = new RecordingNotifier();
  readonly iam: IamWorld;
  readonly services: Services;
  /** Refusals by kind of error, for the run's tally. */
  readonly refusals = new Map<string, number>();
  /** Grants whose grant-time rules the invariants have checked. */
  readonly grantsChecked = new Set<string>();
  /** How many approvals of each request the invariants have already looked at. */
  readonly approvalsChecked = new Map<string, number>();

  /** During a race: how many turns of the event loop each next call waits, so the racers interleave differently each story. */
  private jitter: { waits: readonly number[]; next: number } | undefined;

  constructor(readonly store: ModelStore) {
    const policies = new Map(this.config.levels.map((l) => [l.groupName, l.policyArn]));
    this.iam = new IamWorld(
      this.config.levels.map((l) => l.groupName),
      policies,
      () => this.clock.now().toISOString(),
      () => this.pause(),
    );
    for (const name of IAM_USERS) this.iam.addUser(name);
    this.services = wireServices({
      config: this.config,
      log: pino({ level: 'silent' }),
      clock: this.clock,
      store: this.jittered(store),
      iam: this.iam,
      directory: this.directory,
      notifier: this.notifier,
      teamId: () => TEAM,
      replicaId: 'model',
    });
  }

  async race(waits: readonly number[], racers: (() => Promise<void>)[]): Promise<void> {
    this.jitter = { waits: waits.length ? waits : [0], next: 0 };
    try {
      await Promise.all(racers.map((run) => run()));
    } finally {
      this.jitter = undefined;
    }
  }

  /** Waits as many turns as the race's next number says (none outside a race). */
  async pause(): Promise<void> {
    if (!this.jitter) return;
    const { waits, next } = this.jitter;
    this.jitter.next = next + 1;
    for (let i = 0; i < (waits[next % waits.length] ?? 0); i++) await Promise.resolve();
  }

  private jittered(store: ModelStore): ModelStore {
    const calls = new Set<string>(STORE_CALLS);
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof property !== 'string' || !calls.has(property) || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await this.pause();
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
  }

  /** Every request in the table, oldest first, through the status index (works on every store). */
  async allRequests(): Promise<AccessRequest[]> {
    const lists = await Promise.all(REQUEST_STATUSES.map((s) => this.store.listByStatus(s)));
    return lists.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  setDeactivated(actor: ActorName, deleted: boolean): void {
    const p = this.directory.profiles.get(ACTORS[actor].id);
    if (p) p.deleted = deleted;
  }
}
