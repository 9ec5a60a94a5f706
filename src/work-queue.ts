import PQueue from 'p-queue';

/**
 * Post-ack work (IAM and Slack calls) runs here, never on the ack path. Bounded: at most
 * `concurrency` jobs run and `maxWaiting` wait; past that `tryRun` refuses the job and the
 * caller tells the user the bot is busy, so a burst cannot grow memory without limit.
 */
export class WorkQueue {
  private readonly queue: PQueue;

  constructor(
    private readonly options: { concurrency: number; maxWaiting: number },
    private readonly onError: (label: string, err: unknown) => void,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** false: the queue is full and the job was not taken. */
  tryRun(label: string, job: () => Promise<void>): boolean {
    if (this.queue.size >= this.options.maxWaiting) return false;
    void this.queue.add(async () => {
      try {
        await job();
      } catch (err) {
        this.onError(label, err);
      }
    });
    return true;
  }

  get waiting(): number {
    return this.queue.size;
  }

  get running(): number {
    return this.queue.pending;
  }

  /** Resolves when nothing is queued or running (graceful shutdown, tests). */
  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }

  pause(): void {
    this.queue.pause();
  }
}
