import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { JobQueue } from '../../handlers/deps.js';
import { jobLabel, type PostAckJob } from '../../handlers/jobs.js';
import { MissingTableError } from '../errors.js';
import type { HealthAnswer } from '../health.js';
import type { Logger } from '../log.js';
import type { FromWorkThread, ToWorkThread, WorkThreadData } from './messages.js';

/** How long /healthz waits for the work thread's answer. */
const HEALTH_TIMEOUT_MS = 5_000;
/** How long stopping waits for the work thread to finish what it holds. */
const STOP_TIMEOUT_MS = 60_000;

type Lane = 'admin' | 'other';

export interface WorkThreadLimits {
  /** Which jobs are admin decisions (by label): their own lane, as in the work queue. */
  isAdminJob: (label: string) => boolean;
  /** Jobs taken and not finished, per lane, past which a job is refused as busy. */
  maxOutstanding: number;
}

/** The job's lane, as the work queue in the work thread sorts it. */
function laneOf(limits: WorkThreadLimits, label: string): Lane {
  return limits.isAdminJob(label) ? 'admin' : 'other';
}

/** The work thread's failure at start, as the error start-up knows how to explain. */
function startError(name: string, message: string): Error {
  if (name === 'MissingTableError') return new MissingTableError(message);
  return Object.assign(new Error(message), { name });
}

/**
 * A worker for `entry`. From source (a .ts entry, `npm start` under tsx) the worker loads tsx
 * itself: a worker does not get its parent's `--import` hooks on Node 20.
 */
function newWorker(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const href = JSON.stringify(entry.href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${href}, ${href}))`, { ...options, eval: true });
}

/**
 * The post-ack work in a thread of its own (src/work-thread.ts), at a lower priority: the thread
 * that answers Slack does only that, so an ack never waits behind IAM, DynamoDB and Slack calls
 * however much work is queued. This side counts the jobs it handed over and not yet heard back
 * about, per lane, and refuses past the limit at once (the busy message), as the work queue does.
 */
export class WorkThread implements JobQueue {
  private readonly outstanding: Record<Lane, number> = { admin: 0, other: 0 };
  private readonly healthWaiters = new Map<number, (answer: HealthAnswer) => void>();
  private nextHealthId = 0;
  private onStopped: (() => void) | undefined;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    private readonly limits: WorkThreadLimits,
    /** When the weekly summary fires next (null: never), as the work thread's schedule says. */
    readonly nextSummaryAt: Date | null,
  ) {}

  /**
   * Starts the work thread and resolves once it has built the store and services and started
   * the schedules; rejects with what failed (a missing table, an unreachable store). After
   * that, `onDeath` is called if the thread ends on its own: the bot cannot work without it.
   */
  static start(entry: URL, data: WorkThreadData, limits: WorkThreadLimits, log: Logger, onDeath: (reason: string) => void): Promise<WorkThread> {
    const worker = newWorker(entry, { workerData: data, name: 'billing-access-work' });
    return new Promise((resolve, reject) => {
      let started: WorkThread | undefined;
      worker.on('message', (message: FromWorkThread) => {
        if (message.type === 'ready') {
          started = new WorkThread(worker, limits, message.nextSummaryAt ? new Date(message.nextSummaryAt) : null);
          resolve(started);
        } else if (message.type === 'failed') {
          reject(startError(message.name, message.message));
          void worker.terminate();
        } else {
          started?.receive(message);
        }
      });
      worker.on('error', (err) => {
        log.error({ event: 'work_thread.error', error: err.name, message: err.message });
        if (!started) reject(err);
      });
      worker.on('exit', (code) => {
        if (!started) reject(new Error(`the work thread ended before it started (exit code ${code})`));
        else if (!started.stopping) onDeath(`the work thread ended (exit code ${code})`);
      });
    });
  }

  private receive(message: FromWorkThread): void {
    switch (message.type) {
      case 'done': {
        const lane = laneOf(this.limits, message.label);
        this.outstanding[lane] = Math.max(0, this.outstanding[lane] - 1);
        return;
      }
      case 'health':
        this.healthWaiters.get(message.id)?.(message.answer);
        this.healthWaiters.delete(message.id);
        return;
      case 'stopped':
        this.onStopped?.();
        return;
      default:
        return;
    }
  }

  private send(message: ToWorkThread): void {
    this.worker.postMessage(message);
  }

  submit(job: PostAckJob): boolean {
    if (this.stopping) return false;
    const lane = laneOf(this.limits, jobLabel(job));
    if (this.outstanding[lane] >= this.limits.maxOutstanding) return false;
    this.outstanding[lane] += 1;
    this.send({ type: 'job', job });
    return true;
  }

  /** Jobs handed over and not finished. */
  get inFlight(): number {
    return this.outstanding.admin + this.outstanding.other;
  }

  /** /healthz, answered by the work thread (it holds the store); 503 when it does not answer in time. */
  health(): Promise<HealthAnswer> {
    const id = this.nextHealthId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.healthWaiters.delete(id);
        resolve({ status: 503, body: { ok: false, error: 'the work thread did not answer' } });
      }, HEALTH_TIMEOUT_MS);
      this.healthWaiters.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.send({ type: 'health', id });
    });
  }

  /** Stops the schedules, lets the jobs it holds finish, closes the store, then ends the thread. */
  async stop(): Promise<void> {
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => {
      this.onStopped = resolve;
      setTimeout(resolve, STOP_TIMEOUT_MS).unref();
    });
    this.send({ type: 'stop' });
    await stopped;
    await this.worker.terminate();
  }
}
