import PQueue from 'p-queue';

export interface WorkQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most; past that `tryRun` refuses. */
  maxWaiting: number;
  /** New jobs start once no job has come in for this long (0: at once). */
  quietMs?: number;
  /** …but never wait longer than this; after it, jobs start and keep starting for as long again. */
  maxDeferMs?: number;
  /**
   * Which jobs are admin decisions (by label): they have a lane of their own, with its own
   * `maxWaiting`, and start before any waiting job of the other lane. Unset: one lane.
   */
  isAdminJob?: (label: string) => boolean;
}

/** PRODUCT §6: admin clicks never wait behind a flood of commands. */
const ADMIN_PRIORITY = 1;

/**
 * Post-ack work (IAM and Slack calls) runs here, never on the ack path. Bounded: at most
 * `concurrency` jobs run and `maxWaiting` wait; past that `tryRun` refuses the job and the
 * caller tells the user the bot is busy, so a burst cannot grow memory without limit.
 *
 * Two lanes (`isAdminJob`): admin decisions (Approve, Deny, Retry, Revoke, Keep) never wait
 * behind a flood of commands. Each lane may have `maxWaiting` jobs waiting, and a waiting admin
 * job starts before any waiting command; both share the `concurrency` running slots.
 *
 * Acks first: acks and post-ack work share one thread, so while clicks and commands are coming
 * in, new jobs wait until `quietMs` pass without one (the burst is acknowledged, then worked
 * off). Under traffic that never pauses, jobs wait at most `maxDeferMs`, then start freely for
 * as long again, so the work always gets at least half the time.
 */
export class WorkQueue {
  private readonly queue: PQueue;
  private readonly quietMs: number;
  private readonly maxDeferMs: number;
  private lastJobAt = Number.NEGATIVE_INFINITY;
  private deferredSince: number | undefined;
  private freeUntil = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Waiting (not yet started) jobs per lane. */
  private readonly waitingIn = { admin: 0, other: 0 };

  constructor(
    private readonly options: WorkQueueOptions,
    private readonly onError: (label: string, err: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.quietMs = options.quietMs ?? 0;
    this.maxDeferMs = options.maxDeferMs ?? 0;
  }

  /** false: the queue is full and the job was not taken. */
  tryRun(label: string, job: () => Promise<void>): boolean {
    const lane = this.options.isAdminJob?.(label) ? 'admin' : 'other';
    if (this.waitingIn[lane] >= this.options.maxWaiting) return false;
    this.waitingIn[lane] += 1;
    this.deferStarts();
    void this.queue.add(
      async () => {
        this.waitingIn[lane] -= 1;
        try {
          await job();
        } catch (err) {
          this.onError(label, err);
        }
      },
      { priority: lane === 'admin' ? ADMIN_PRIORITY : 0 },
    );
    return true;
  }

  private deferStarts(): void {
    if (this.quietMs <= 0) return;
    const t = this.now();
    this.lastJobAt = t;
    if (t < this.freeUntil) return;
    if (this.deferredSince === undefined) {
      this.deferredSince = t;
      this.queue.pause();
    }
    this.timer ??= setTimeout(() => this.startWhenQuiet(), this.quietMs);
  }

  private startWhenQuiet(): void {
    this.timer = undefined;
    const t = this.now();
    const quietFor = t - this.lastJobAt;
    const deferredFor = t - (this.deferredSince ?? t);
    if (quietFor < this.quietMs && deferredFor < this.maxDeferMs) {
      this.timer = setTimeout(() => this.startWhenQuiet(), Math.max(1, this.quietMs - quietFor));
      return;
    }
    // Deferred as long as allowed under steady traffic: let the jobs run freely for as long.
    if (quietFor < this.quietMs) this.freeUntil = t + this.maxDeferMs;
    this.deferredSince = undefined;
    this.queue.start();
  }

  get waiting(): number {
    return this.queue.size;
  }

  get running(): number {
    return this.queue.pending;
  }

  /** Resolves when nothing is queued or running (graceful shutdown, tests); deferred jobs start now. */
  async onIdle(): Promise<void> {
    this.startNow();
    await this.queue.onIdle();
  }

  private startNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.deferredSince = undefined;
    this.queue.start();
  }
}
