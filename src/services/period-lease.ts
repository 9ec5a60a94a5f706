/**
 * One replica's hold on a summary period while it builds and posts it: a lease in the table,
 * renewed every third of its length, so a live claimant keeps the period however long IAM and
 * Slack take, while the claim of a replica that died lapses within the lease and the next run of
 * any replica takes the period over.
 */
import { errorMessage, errorName } from '../errors.js';
import type { Clock, SummaryStore } from './ports.js';

type Log = { error(obj: object, msg?: string): void };

export interface LeaseDeps {
  store: Pick<SummaryStore, 'claimPeriod'>;
  clock: Clock;
  log: Log;
  /** Names this replica in the claim. */
  claimant: string;
  /** How long the claim lasts without a renewal. */
  leaseMs: number;
}

/** Why a post stopped: another replica holds the period now (this one stalled past its lease). */
export class PeriodTakenOverError extends Error {
  override name = 'PeriodTakenOverError';

  constructor(readonly firingAt: string) {
    super(`the summary period ${firingAt} was taken over by another replica`);
  }
}

export class PeriodLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<boolean> | undefined;

  private constructor(
    private readonly deps: LeaseDeps,
    readonly firingAt: string,
  ) {}

  /**
   * Claims the period, or renews this replica's own claim, and keeps renewing it until `end`:
   * undefined when the period is posted or another replica's lease still runs.
   */
  static async take(deps: LeaseDeps, firingAt: string): Promise<PeriodLease | undefined> {
    const lease = new PeriodLease(deps, firingAt);
    if (!(await lease.write())) return undefined;
    lease.scheduleRenewal();
    return lease;
  }

  /** Aborted (with a PeriodTakenOverError) once a renewal finds another replica holding the period. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Renews the lease now: false when another replica holds the period. A store error is thrown. */
  renew(): Promise<boolean> {
    if (this.lost) return Promise.resolve(false);
    this.renewing ??= this.write().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** Stops renewing, once a renewal under way has finished. */
  async end(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.renewing?.catch(() => undefined);
  }

  private async write(): Promise<boolean> {
    const now = this.deps.clock.now();
    const until = new Date(now.getTime() + this.deps.leaseMs).toISOString();
    const held = await this.deps.store.claimPeriod(this.firingAt, this.deps.claimant, now.toISOString(), until);
    if (!held) this.controller.abort(new PeriodTakenOverError(this.firingAt));
    return held;
  }

  private scheduleRenewal(): void {
    const timer = setTimeout(() => {
      this.renew()
        // The post goes on: the lease may lapse, and another replica post the period too (at worst twice).
        .catch((err: unknown) =>
          this.deps.log.error({ event: 'summary.lease_renewal_failed', firingAt: this.firingAt, error: errorName(err), message: errorMessage(err) }),
        )
        .finally(() => {
          if (this.timer === timer && !this.lost) this.scheduleRenewal();
        });
    }, this.deps.leaseMs / 3);
    timer.unref();
    this.timer = timer;
  }
}
