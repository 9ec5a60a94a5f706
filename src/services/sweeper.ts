/**
 * The sweeper: expiries, pending reminders and time-outs, stuck APPROVED requests, and
 * Slack notices still due. Every step is an index query for what is due (never a scan) and
 * every change a conditional write, so several replicas can sweep at once: one wins each
 * change and only the winner tells anyone.
 */
import type { AccessRequest } from '../domain/request.js';
import { nextReminderAt, pendingDeadline } from '../domain/schedule.js';
import { claim, remind, timeOut, unremind } from '../domain/transitions.js';
import { errorMessage, errorName, RequestConflictError } from '../errors.js';
import type { Announcer } from './announcer.js';
import type { GrantExecutor } from './grant.js';
import type { LifecycleService } from './lifecycle.js';
import type { Clock, RequestStore } from './ports.js';

export interface SweepReport {
  at: string;
  expired: number;
  /** Pending requests nobody decided, and failed ones nobody retried, closed as TIMED_OUT. */
  timedOut: number;
  reminded: number;
  /** Work a crash or an IAM failure left unfinished and this sweep finished: approvals left APPROVED, revokes recorded as owed. */
  recovered: number;
  reposted: number;
  redelivered: number;
  errors: number;
}

type Log = { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };

export interface SweeperDeps {
  pendingTimeoutHours: number;
  /** How long an APPROVED request or a due notice is left to the live path before the sweeper takes over. */
  graceMs: number;
  store: RequestStore;
  lifecycle: LifecycleService;
  grants: GrantExecutor;
  announcer: Announcer;
  clock: Clock;
  log: Log;
}

export class Sweeper {
  lastSweep: SweepReport | undefined;

  constructor(private readonly deps: SweeperDeps) {}

  async sweep(): Promise<SweepReport> {
    const now = this.deps.clock.now();
    const at = now.toISOString();
    const graceCutoff = new Date(now.getTime() - this.deps.graceMs).toISOString();
    const report: SweepReport = { at, expired: 0, timedOut: 0, reminded: 0, recovered: 0, reposted: 0, redelivered: 0, errors: 0 };
    const each = async (label: string, items: AccessRequest[], step: (r: AccessRequest) => Promise<boolean>, key: keyof SweepReport) => {
      for (const item of items) {
        try {
          if (await step(item)) (report[key] as number) += 1;
        } catch (err) {
          report.errors += 1;
          this.deps.log.error({ event: `sweep.${label}_failed`, requestId: item.id, error: errorName(err), message: errorMessage(err) });
        }
      }
    };

    await each(
      'recover',
      (await this.deps.store.listByStatus('APPROVED')).filter((r) => r.updatedAt <= graceCutoff),
      (r) => this.recover(r),
      'recovered',
    );
    await each(
      'expire',
      await this.deps.store.listExpiring('ACTIVE', at),
      async (r) => Boolean(await this.deps.lifecycle.end(r, 'EXPIRED', 'system')),
      'expired',
    );
    await each(
      'finish_end',
      (await this.deps.store.listByStatus('ACTIVE')).filter((r) => r.endDue),
      async (r) => Boolean(r.endDue && (await this.deps.lifecycle.end(r, r.endDue.to, r.endDue.by))),
      'recovered',
    );
    await each('pending', await this.deps.store.listByStatus('PENDING'), (r) => this.pending(r, at, graceCutoff, report), 'timedOut');
    await each('failed', await this.deps.store.listByStatus('FAILED'), (r) => this.failed(r, at), 'timedOut');
    await each('redeliver', await this.deps.store.listNoticeDue(graceCutoff), (r) => this.redeliver(r, at), 'redelivered');

    this.lastSweep = report;
    this.deps.log.info({ event: 'sweep.done', ...report });
    return report;
  }

  /** A request left APPROVED (the process died before or after the IAM call) is finished now. */
  private async recover(request: AccessRequest): Promise<boolean> {
    try {
      await this.deps.grants.complete(request, 'system');
      return true;
    } catch (err) {
      if (err instanceof RequestConflictError) return false;
      throw err;
    }
  }

  /** Times out, reminds, or re-posts a pending request; true only for a time-out. */
  private async pending(request: AccessRequest, now: string, graceCutoff: string, report: SweepReport): Promise<boolean> {
    if (pendingDeadline(request.createdAt, this.deps.pendingTimeoutHours) <= now) {
      try {
        const timedOut = await this.deps.store.update(request, timeOut(request, now, this.deps.pendingTimeoutHours));
        await this.deps.announcer.announce(timedOut);
        return true;
      } catch (err) {
        if (err instanceof RequestConflictError) return false;
        throw err;
      }
    }
    if (!request.adminMessage) {
      // Left to the live path for a grace period, then claimed so only one replica posts it.
      if (request.updatedAt <= graceCutoff && (await this.repost(request, now))) report.reposted += 1;
      return false;
    }
    const sent = request.remindersSent ?? 0;
    if (nextReminderAt(request.createdAt, sent, request.lastReminderAt) <= now) {
      let claimed: AccessRequest;
      try {
        // Claim the reminder first: only the replica whose write wins posts it.
        claimed = await this.deps.store.update(request, remind(request, now));
      } catch (err) {
        if (err instanceof RequestConflictError) return false;
        throw err;
      }
      const left = Math.max(0, Math.round((Date.parse(pendingDeadline(request.createdAt, this.deps.pendingTimeoutHours)) - Date.parse(now)) / 3_600_000));
      try {
        await this.deps.announcer.remind(claimed, left);
      } catch (err) {
        // Slack did not take it: give the claim back, so the next sweep posts it.
        await this.deps.store.update(claimed, unremind(claimed, request, now)).catch(() => undefined);
        throw err;
      }
      report.reminded += 1;
    }
    return false;
  }

  /**
   * A FAILED request is closed when nobody retried it within PENDING_TIMEOUT_HOURS of its
   * failure (FAILED → TIMED_OUT, Retry removed, requester told). Before that, and before
   * closing, a failed add whose undoing was not confirmed is undone: nobody stays in a group
   * on a request that failed.
   */
  private async failed(request: AccessRequest, now: string): Promise<boolean> {
    const current = await this.deps.grants.settleFailedAdd(request, 'system');
    if (current.status !== 'FAILED') return false;
    if (current.failure?.membershipUnknown) throw new Error(`membership of ${current.iamUserName} in ${current.groupName} is still unknown`);
    const failedAt = current.failure?.at ?? current.updatedAt;
    if (pendingDeadline(failedAt, this.deps.pendingTimeoutHours) > now) return false;
    try {
      const timedOut = await this.deps.store.update(current, timeOut(current, now, this.deps.pendingTimeoutHours));
      await this.deps.announcer.announce(timedOut);
      return true;
    } catch (err) {
      if (err instanceof RequestConflictError) return false;
      throw err;
    }
  }

  /**
   * Notices still due past the grace are sent again by one sweep: the notice is claimed first, so
   * of several sweeps that found it (overlapping, or on other replicas) only the winner sends it.
   */
  private async redeliver(request: AccessRequest, now: string): Promise<boolean> {
    const claimed = await this.claimed(request, now);
    return claimed ? this.deps.announcer.announce(claimed) : false;
  }

  /** The request claimed for this sweep (one conditional write), or undefined when another sweep or writer got there first. */
  private async claimed(request: AccessRequest, now: string): Promise<AccessRequest | undefined> {
    try {
      return await this.deps.store.update(request, claim(request, now));
    } catch (err) {
      if (err instanceof RequestConflictError) return undefined;
      throw err;
    }
  }

  /** The admin channel was not told when the request was made: post it now, once. */
  private async repost(request: AccessRequest, now: string): Promise<boolean> {
    const claimed = await this.claimed(request, now);
    if (!claimed) return false;
    const { delivered } = await this.deps.announcer.post(claimed, now);
    if (!delivered) throw new Error(`request ${request.id} could not be posted to the admin channel`);
    return true;
  }
}

/** Runs the periodic jobs (sweep, due summaries) every interval, the first soon after start, one run at a time. */
export class SweepScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly jobs: { name: string; run: () => Promise<unknown> }[],
    private readonly intervalMs: number,
    private readonly log: Log,
  ) {}

  /** Runs every job once now (also what the timer does). */
  async runOnce(): Promise<void> {
    for (const job of this.jobs) {
      try {
        await job.run();
      } catch (err) {
        this.log.error({ event: `${job.name}.failed`, error: errorName(err), message: errorMessage(err) });
      }
    }
  }

  start(firstDelayMs = 2_000): void {
    const tick = () => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        if (this.timer) {
          this.timer = setTimeout(tick, this.intervalMs);
          this.timer.unref();
        }
      });
    };
    this.timer = setTimeout(tick, firstDelayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
