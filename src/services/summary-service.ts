/**
 * The weekly summary and access review: built from an index query of the period's requests
 * and from IAM itself; posted exactly once per schedule period across replicas and restarts
 * (the period is claimed before posting by a conditional write keyed by its firing time: a lease
 * the claimant renews while it builds and posts, taken over by any replica once it lapsed).
 */
import PQueue from 'p-queue';
import type { Config } from '../config.js';
import { groupPolicyProblems } from '../domain/group-policy.js';
import { sameIamUser } from '../domain/iam-user.js';
import { levelNamed } from '../domain/levels.js';
import type { AccessRequest } from '../domain/request.js';
import { type GroupReview, type MemberFinding, type PeriodStats, passwordFinding, periodStats } from '../domain/summary.js';
import { keep } from '../domain/transitions.js';
import { type GrantUsage, isUnusedGrant, judgeGrantUsage } from '../domain/usage.js';
import { errorMessage, errorName, NotAllowedError, RequestConflictError, RequestNotFoundError, RequestRefusedError } from '../errors.js';
import type { AdminPolicy } from './admins.js';
import { approverConflictError, type IdentityResolver } from './identity.js';
import type { GroupMembership } from './membership.js';
import { PeriodLease, PeriodTakenOverError } from './period-lease.js';
import type { BillingUsage, Clock, IamGateway, RequestStore, SummaryStore, UsageReader } from './ports.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Missed firings older than this many periods are not posted late (a long outage posts the latest few)... */
const MAX_LATE_FIRINGS = 3;
/** ...but every firing of the last ten minutes is looked at (a schedule firing every few minutes), so a crashed claim is finished... */
const RECENT_FIRINGS_MS = 10 * 60_000;
/** ...up to this many. */
const MAX_FIRINGS_LOOKED_AT = 64;
/**
 * A period claim's lease: renewed every third of it while its claimant builds and posts, so it
 * lapses within this long after the claimant died or stalled. Replicas' clocks must agree to well
 * within it (NTP does).
 */
const DEFAULT_CLAIM_LEASE_MS = 30_000;
/**
 * How long the review waits for access advisor, all its users together (ADVISOR_CONCURRENCY jobs
 * at a time): a user not read by then is "usage unknown", and the summary is posted.
 */
export const SUMMARY_USAGE_DEADLINE_MS = 5 * 60_000;

export interface SummaryReport {
  from: string;
  to: string;
  generatedAt: string;
  late: boolean;
  onDemand: boolean;
  stats: PeriodStats;
  stalePending: AccessRequest[];
  stalePendingHours: number;
  expiringSoon: AccessRequest[];
  activeGrants: AccessRequest[];
  groups: GroupReview[];
  driftPolicy: 'report' | 'remove';
  dryRun: boolean;
  /** Usage evidence from access advisor: each active grant's, by grant id. Absent when no reader is wired. */
  usage?: { graceHours: number; grants: Record<string, GrantUsage> };
}

export interface SummaryPoster {
  /**
   * Posts the report. Resolves once all of it went out, or its first message did and the admins
   * were told which parts are missing; rejects otherwise. Once `signal` is aborted it posts no
   * further message and rejects with the signal's reason.
   */
  postSummary(report: SummaryReport, options?: { signal?: AbortSignal }): Promise<void>;
}

type Log = { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
type SummaryConfig = Pick<Config, 'levels' | 'billingNamespaces' | 'pendingTimeoutHours' | 'driftPolicy' | 'adminChannelId' | 'usageGraceHours'>;

/** The summary's cron schedule (SUMMARY_CRON in SUMMARY_TIMEZONE), for arithmetic only: src/deps.ts builds it. */
export interface FiringSchedule {
  /** The first firing after `from`, or null when there is none. */
  nextRun(from: Date): Date | null;
  /** Up to `count` firings before `before`, latest first. */
  previousRuns(count: number, before: Date): Date[];
}

export interface SummaryDeps {
  config: SummaryConfig;
  store: RequestStore & SummaryStore;
  iam: IamGateway;
  /** IAM access advisor, for usage evidence; without it the review shows none. */
  usage?: UsageReader;
  admins: AdminPolicy;
  membership: GroupMembership;
  /** Tells whether a reviewer may not act on a grant (their own IAM user, or one they linked the holder to). */
  identity: Pick<IdentityResolver, 'approverConflict'>;
  poster: SummaryPoster;
  clock: Clock;
  log: Log;
  /** Names this replica in period claims. */
  replicaId: string;
  /**
   * How long a period claim lasts without a renewal (default 30 s). Its claimant renews it while it
   * builds and posts; a claim left this long (its replica died or stalled) is taken over by the
   * next run of any replica, which the sweep makes within one sweep interval.
   */
  claimLeaseMs?: number;
  /** When the periods fall. Without it the service builds and posts reports on demand, but runs no periods. */
  schedule: FiringSchedule;
}

export class SummaryService {
  private readonly cron: FiringSchedule;
  private firstStart: string | undefined;
  private readonly config: SummaryConfig;
  private readonly store: RequestStore & SummaryStore;
  private readonly iam: IamGateway;
  private readonly usage: UsageReader | undefined;
  private readonly admins: AdminPolicy;
  private readonly membership: GroupMembership;
  private readonly identity: Pick<IdentityResolver, 'approverConflict'>;
  private readonly poster: SummaryPoster;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly replicaId: string;
  private readonly claimLeaseMs: number;
  /** The runs of runDue in this process, one after another: each claim is this replica's alone. */
  private runs: Promise<unknown> = Promise.resolve();

  constructor(deps: SummaryDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.iam = deps.iam;
    this.usage = deps.usage;
    this.admins = deps.admins;
    this.membership = deps.membership;
    this.identity = deps.identity;
    this.poster = deps.poster;
    this.clock = deps.clock;
    this.log = deps.log;
    this.replicaId = deps.replicaId;
    this.claimLeaseMs = deps.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    this.cron = deps.schedule;
  }

  /** The schedule's next firing after `from` (for the in-process timer). */
  nextFiring(from: Date): Date | null {
    return this.cron.nextRun(from);
  }

  /** Builds the report for [from, to): requests by index query, groups and usage evidence from IAM. */
  async build(from: string, to: string, options: { late?: boolean; onDemand?: boolean } = {}): Promise<SummaryReport> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const [requests, pending, expiring, active] = await Promise.all([
      this.store.listCreatedBetween(from, to),
      this.store.listByStatus('PENDING', { createdBefore: new Date(now.getTime() - (this.config.pendingTimeoutHours / 2) * 3_600_000).toISOString() }),
      this.store.listExpiring('ACTIVE', new Date(now.getTime() + 7 * DAY_MS).toISOString()),
      this.store.listByStatus('ACTIVE'),
    ]);
    const groups: GroupReview[] = [];
    const arns = new Map<string, string>();
    for (const level of this.config.levels) groups.push(await this.reviewGroup(level.level, level.groupName, active, now, arns));
    const usage = await this.readUsage(groups, active, arns, now);
    return {
      from,
      to,
      generatedAt: nowIso,
      late: Boolean(options.late),
      onDemand: Boolean(options.onDemand),
      stats: periodStats(requests),
      stalePending: pending,
      stalePendingHours: this.config.pendingTimeoutHours / 2,
      expiringSoon: expiring.filter((g) => (g.expiresAt ?? '') > nowIso),
      activeGrants: active,
      groups,
      driftPolicy: this.config.driftPolicy,
      dryRun: this.iam.dryRun,
      ...(usage ? { usage } : {}),
    };
  }

  /**
   * Usage evidence: access advisor for every member and every active grant's IAM user, each user
   * once (the reader runs a few jobs at a time), within SUMMARY_USAGE_DEADLINE_MS. Members'
   * findings get their user's usage; grants are judged against USAGE_GRACE_HOURS and 30 days.
   */
  private async readUsage(groups: GroupReview[], active: AccessRequest[], arns: Map<string, string>, now: Date): Promise<SummaryReport['usage']> {
    const reader = this.usage;
    if (!reader) return undefined;
    const users = new Map<string, string>();
    for (const name of [...groups.flatMap((g) => g.members.map((m) => m.userName)), ...active.map((g) => g.iamUserName)]) {
      if (!users.has(name.toLowerCase())) users.set(name.toLowerCase(), name);
    }
    const read = await Promise.all(
      [...users].map(
        async ([key, userName]): Promise<[string, BillingUsage]> => [
          key,
          await reader.lastBillingUse({ userName, arn: arns.get(key) }, { deadlineMs: SUMMARY_USAGE_DEADLINE_MS }),
        ],
      ),
    );
    const byUser = new Map(read);
    const reasons = read.flatMap(([, usage]) => (usage.known ? [] : [usage.reason]));
    if (reasons.length) this.log.error({ event: 'summary.usage_unknown', users: reasons.length, reasons: [...new Set(reasons)].slice(0, 3) });
    const grants: Record<string, GrantUsage> = {};
    for (const grant of active) {
      const usage = byUser.get(grant.iamUserName.toLowerCase());
      if (usage) grants[grant.id] = judgeGrantUsage(grant, usage, now, this.config.usageGraceHours);
    }
    for (const member of groups.flatMap((g) => g.members)) {
      const usage = byUser.get(member.userName.toLowerCase());
      if (usage) member.usage = usage;
      if (member.grantIds.some((id) => isUnusedGrant(grants[id]))) member.unusedGrant = true;
    }
    return { graceHours: this.config.usageGraceHours, grants };
  }

  /**
   * Reads one billing group from IAM: members, their MFA, keys and console use, drift, policies.
   * Its IAM calls grow with the group's members only: a few for the group, four reads per member,
   * REVIEW_CONCURRENCY members at a time.
   */
  private async reviewGroup(level: string, groupName: string, active: AccessRequest[], now: Date, arns: Map<string, string>): Promise<GroupReview> {
    const review: GroupReview = { level, groupName, members: [], policyProblems: [] };
    try {
      const expectedArn = levelNamed(this.config.levels, level)?.policyArn;
      if (expectedArn) {
        const policies = await this.iam.groupPolicies(groupName, expectedArn);
        const problems = groupPolicyProblems({ expectedArn, ...policies, namespaces: this.config.billingNamespaces });
        review.policyProblems.push(...problems.map((p) => p.text));
      }
      const reviewed = await reviewEach(await this.iam.groupMembers(groupName), (userName) => {
        const grants = active.filter((g) => sameIamUser(g.iamUserName, userName) && g.groupName === groupName);
        return this.reviewMember(userName, groupName, grants, now, arns);
      });
      review.members.push(...reviewed.findings);
      if (reviewed.failed) throw reviewed.failed.error;
    } catch (err) {
      review.error = `${errorName(err)}: ${errorMessage(err)}`;
    }
    return review;
  }

  /** One member's findings; its ARN, read with them, goes into `arns` for access advisor. */
  private async reviewMember(userName: string, groupName: string, grants: AccessRequest[], now: Date, arns: Map<string, string>): Promise<MemberFinding> {
    const member = await this.iam.reviewMember(userName, now);
    if (member.arn) arns.set(userName.toLowerCase(), member.arn);
    const finding: MemberFinding = {
      userName,
      grantIds: grants.map((g) => g.id),
      mfa: member.mfaDevices === null ? null : member.mfaDevices > 0,
      oldActiveKeys: member.oldActiveKeys ?? [],
      passwordUnused: passwordFinding(member.hasConsolePassword, member.passwordLastUsed, now),
      drift: grants.length === 0,
      removed: false,
    };
    // The review takes a while: a grant approved since it began makes the member rightful, not drift.
    if (finding.drift && (await this.membership.othersNeeding({ id: '', iamUserName: userName, groupName })).length > 0) finding.drift = false;
    if (finding.drift && this.config.driftPolicy === 'remove') {
      try {
        await this.iam.removeUserFromGroup(userName, groupName);
        finding.removed = true;
        await this.store.appendAudit({
          requestId: `drift:${groupName}:${userName}`,
          at: now.toISOString(),
          actor: 'system',
          from: 'MEMBER',
          to: 'REMOVED',
          detail: `${this.iam.dryRun ? '[dry-run] would remove' : 'removed'} ${userName} from ${groupName}: member without an active grant (DRIFT_POLICY=remove)`,
        });
      } catch (err) {
        finding.error = `could not remove: ${errorName(err)}`;
      }
    }
    return finding;
  }

  /** Keep (from the summary): an admin, in the admin channel, not on their own grant, records the review. */
  async keep(click: { userId: string; channelId: string | undefined; requestId: string }): Promise<AccessRequest> {
    if (click.channelId !== this.config.adminChannelId) throw new NotAllowedError('Access reviews are only taken in the admin channel.');
    if (!(await this.admins.isAdmin(click.userId))) throw new NotAllowedError('Only billing admins can review access.');
    const grant = await this.store.get(click.requestId);
    if (!grant) throw new RequestNotFoundError(click.requestId);
    if (grant.requesterId === click.userId) throw new NotAllowedError('You cannot review your own access; another admin must.');
    if (grant.status !== 'ACTIVE') throw new RequestRefusedError(`That grant is no longer active (${grant.status.toLowerCase()}).`);
    const conflict = await this.identity.approverConflict(click.userId, grant);
    if (conflict) throw approverConflictError(conflict, grant, 'keep');
    try {
      return await this.store.update(grant, keep(grant, click.userId, this.clock.now().toISOString()));
    } catch (err) {
      if (err instanceof RequestConflictError) throw new RequestRefusedError('That grant changed meanwhile; look at the latest summary.');
      throw err;
    }
  }

  /** `/request-billing summary`: admins only, the last 7 days, not claimed (it is not a period). */
  async postOnDemand(userId: string, channelId: string | undefined): Promise<SummaryReport> {
    if (channelId !== this.config.adminChannelId) throw new NotAllowedError('The summary is only posted from the admin channel.');
    if (!(await this.admins.isAdmin(userId))) throw new NotAllowedError('Only billing admins can post the summary.');
    const now = this.clock.now();
    const report = await this.build(new Date(now.getTime() - 7 * DAY_MS).toISOString(), now.toISOString(), { onDemand: true });
    await this.poster.postSummary(report);
    return report;
  }

  /**
   * Posts every due period not yet posted: the latest firing, firings missed while no replica
   * ran (marked late, only those after the table's first start), and periods whose claimant died
   * or stalled (its lease lapsed). Safe to call from every replica at any time; calls in one
   * process run one after another.
   */
  runDue(): Promise<number> {
    const run = this.runs.then(() => this.postDue());
    this.runs = run.catch(() => undefined);
    return run;
  }

  private async postDue(): Promise<number> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    this.firstStart ??= await this.store.firstStartedAt(nowIso);
    const recentCutoff = now.getTime() - RECENT_FIRINGS_MS;
    const firings = this.cron
      .previousRuns(MAX_FIRINGS_LOOKED_AT, new Date(now.getTime() + 1))
      .filter((f, i) => i < MAX_LATE_FIRINGS || f.getTime() >= recentCutoff)
      .filter((f) => f.toISOString() >= (this.firstStart as string));
    const latest = firings[0]?.getTime();
    let posted = 0;
    for (const firing of firings.reverse()) {
      const firingAt = firing.toISOString();
      const existing = await this.store.getPeriod(firingAt);
      if (existing?.posted) continue;
      const lease = await PeriodLease.take(
        { store: this.store, clock: this.clock, log: this.log, claimant: this.replicaId, leaseMs: this.claimLeaseMs },
        firingAt,
      );
      if (!lease) continue;
      // Late: a later firing has already come, or it is well past its time.
      const late = firing.getTime() !== latest || now.getTime() - firing.getTime() > 5 * 60_000;
      if (await this.postPeriod(firing, lease, late)) posted += 1;
    }
    return posted;
  }

  /** Builds and posts one claimed period, then marks it posted: false when another replica took it over meanwhile. */
  private async postPeriod(firing: Date, lease: PeriodLease, late: boolean): Promise<boolean> {
    const firingAt = firing.toISOString();
    const [previous] = this.cron.previousRuns(1, firing);
    const from = (previous ?? new Date(firing.getTime() - 7 * DAY_MS)).toISOString();
    let report: SummaryReport;
    try {
      report = await this.build(from, firingAt, { late });
      // The build reads IAM for a while: the period must still be this replica's before anything is posted.
      if (!(await lease.renew())) return this.takenOver(firingAt, 'before posting');
      await this.poster.postSummary(report, { signal: lease.signal });
    } catch (err) {
      if (err instanceof PeriodTakenOverError || lease.lost) return this.takenOver(firingAt, 'while posting');
      throw err;
    } finally {
      await lease.end();
    }
    try {
      await this.store.markPeriodPosted(firingAt, this.replicaId, this.clock.now().toISOString());
    } catch (err) {
      const current = await this.store.getPeriod(firingAt);
      if (current && current.claimedBy !== this.replicaId) return this.takenOver(firingAt, 'after posting');
      throw err;
    }
    this.log.info({ event: 'summary.posted', firingAt, from, late, requests: report.stats.total });
    return true;
  }

  /** Another replica took the period over (this one stalled past its lease): it posts the summary, at worst a second time. */
  private takenOver(firingAt: string, when: string): false {
    this.log.error({ event: 'summary.taken_over', firingAt, when });
    return false;
  }
}

/**
 * Members reviewed at once. Each is four IAM reads sent together (src/aws/iam.ts reviewMember),
 * so a review has at most four times this many IAM calls in flight, whatever the group's size
 * (access advisor's jobs come after, a few at a time: src/aws/access-advisor.ts):
 * IAM's request rate is the account's, shared with everything else in it. A throttled call is
 * retried by the SDK with backoff (standard mode) before it reaches the review.
 */
export const REVIEW_CONCURRENCY = 4;

/**
 * Reviews each member, REVIEW_CONCURRENCY at a time, the findings in the members' order. The
 * first failure starts no further member; the ones under way finish (a drift removal already
 * made stays in the findings, so the summary says it was made).
 */
async function reviewEach(
  userNames: string[],
  review: (userName: string) => Promise<MemberFinding>,
): Promise<{ findings: MemberFinding[]; failed?: { error: unknown } }> {
  const findings: (MemberFinding | undefined)[] = new Array(userNames.length);
  let failed: { error: unknown } | undefined;
  const queue = new PQueue({ concurrency: REVIEW_CONCURRENCY });
  userNames.forEach((userName, i) => {
    void queue.add(async () => {
      try {
        findings[i] = await review(userName);
      } catch (error) {
        failed ??= { error };
        queue.clear();
      }
    });
  });
  await queue.onIdle();
  return { findings: findings.filter((f): f is MemberFinding => f !== undefined), ...(failed ? { failed } : {}) };
}
