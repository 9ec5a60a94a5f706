import PQueue from 'p-queue';

export interface WorkQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most; past that `tryRun` refuses. */
  maxWaiting: number;
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
 * Jobs start as soon as a slot is free. Holding them back while acks keep arriving was measured
 * (`npm run bench`, 150/s sustained): it made both the acks and the time to grant slower.
 */
export class WorkQueue {
  private readonly queue: PQueue;
  /** Waiting (not yet started) jobs per lane. */
  private readonly waitingIn = { admin: 0, other: 0 };

  constructor(
    private readonly options: WorkQueueOptions,
    private readonly onError: (label: string, err: unknown) => void,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** false: the queue is full and the job was not taken. */
  tryRun(label: string, job: () => Promise<void>): boolean {
    const lane = this.options.isAdminJob?.(label) ? 'admin' : 'other';
    if (this.waitingIn[lane] >= this.options.maxWaiting) return false;
    this.waitingIn[lane] += 1;
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

  get waiting(): number {
    return this.queue.size;
  }

  get running(): number {
    return this.queue.pending;
  }

  /** Resolves when nothing is queued or running (graceful shutdown, tests). */
  async onIdle(): Promise<void> {
    await this.queue.onIdle();
  }
}
