/**
 * IAM access advisor, read for the access review's usage evidence (PRODUCT §1): for one IAM user,
 * GenerateServiceLastAccessedDetails (service level), then GetServiceLastAccessedDetails polled
 * with backoff until the job is done or the read's deadline passes, then the last time any
 * billing namespace was used. It only reads: it is the same in dry-run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
  GetUserCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import PQueue from 'p-queue';
import type { BillingUsage } from '../domain/usage.js';
import { errorName } from '../errors.js';
import type { UsageReader } from '../services/ports.js';

/**
 * Jobs at once, whatever the number of users asked about: each is one IAM call at a time, and
 * IAM's request rate is the account's, shared with everything else in it.
 */
export const ADVISOR_CONCURRENCY = 3;
/** A read's deadline when its caller names none (waiting for a turn included). */
const DEFAULT_DEADLINE_MS = 60_000;
/** The first wait before asking again about a job in progress; each later wait doubles, up to MAX_POLL_MS. */
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 4_000;
/** IAM's largest page of GetServiceLastAccessedDetails: one page covers all but the broadest users. */
const PAGE_SIZE = 1000;

/** The read stopped because its deadline passed (the abort's reason). */
class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** A step of the read failed: which IAM action, and the SDK's error. */
class StepError extends Error {
  override name = 'StepError';
  constructor(
    readonly action: string,
    override readonly cause: unknown,
  ) {
    super(`${action}: ${errorName(cause)}`);
  }
}

/** The job ended FAILED: access advisor's own words. */
class JobFailedError extends Error {
  override name = 'JobFailedError';
}

/** A completed report with no billing service in it: whether one was ever used cannot be told. */
class NothingListedError extends Error {
  override name = 'NothingListedError';
}

export interface AccessAdvisorOptions {
  client: IAMClient;
  /** BILLING_NAMESPACES: the services whose use counts. */
  namespaces: Iterable<string>;
  concurrency?: number;
  deadlineMs?: number;
  firstPollMs?: number;
  maxPollMs?: number;
}

export class AccessAdvisorReader implements UsageReader {
  private readonly iam: IAMClient;
  private readonly namespaces: ReadonlySet<string>;
  private readonly queue: PQueue;
  private readonly deadlineMs: number;
  private readonly firstPollMs: number;
  private readonly maxPollMs: number;

  constructor(options: AccessAdvisorOptions) {
    this.iam = options.client;
    this.namespaces = new Set([...options.namespaces].map((n) => n.toLowerCase()));
    this.queue = new PQueue({ concurrency: options.concurrency ?? ADVISOR_CONCURRENCY });
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.firstPollMs = options.firstPollMs ?? FIRST_POLL_MS;
    this.maxPollMs = options.maxPollMs ?? MAX_POLL_MS;
  }

  /**
   * Never throws: a read that fails (throttled after the SDK's retries, denied, not answered, the
   * job failed, the deadline passed) is `{ known: false, reason }`, never "unused". Waits for a
   * turn among ADVISOR_CONCURRENCY jobs; the deadline counts from this call.
   */
  async lastBillingUse(user: { userName: string; arn?: string | undefined }, options: { deadlineMs?: number; urgent?: boolean } = {}): Promise<BillingUsage> {
    const deadlineMs = options.deadlineMs ?? this.deadlineMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DeadlineError(`not read within ${seconds(deadlineMs)}`)), deadlineMs);
    try {
      // The race ends the read at the deadline even if an SDK call has not noticed the abort yet.
      return await this.queue.add(() => Promise.race([this.read(user, deadline.signal), untilAborted(deadline.signal)]), {
        signal: deadline.signal,
        // An ending grant's notice waits seconds at most: it goes before the reads of a review.
        priority: options.urgent ? 1 : 0,
      });
    } catch (err) {
      return { known: false, reason: unknownReason(deadline.signal.aborted ? deadline.signal.reason : err, user.userName) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(user: { userName: string; arn?: string | undefined }, signal: AbortSignal): Promise<BillingUsage> {
    const arn = user.arn ?? (await this.userArn(user.userName, signal));
    const generated = await step('GenerateServiceLastAccessedDetails', () =>
      this.iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn, Granularity: 'SERVICE_LEVEL' }), { abortSignal: signal }),
    );
    const jobId = generated.JobId;
    if (!jobId) throw new JobFailedError('IAM started no job');
    let wait = this.firstPollMs;
    let page = await this.details(jobId, undefined, signal);
    while (page.JobStatus === 'IN_PROGRESS') {
      await sleep(wait, undefined, { signal });
      wait = Math.min(wait * 2, this.maxPollMs);
      page = await this.details(jobId, undefined, signal);
    }
    if (page.JobStatus !== 'COMPLETED') {
      // The code only: IAM's message may carry ARNs, and this reason is shown in Slack.
      throw new JobFailedError(page.Error ? (page.Error.Code ?? 'Error').slice(0, 100) : `status ${page.JobStatus ?? 'missing'}`);
    }
    let latest: { at: Date; service: string } | undefined;
    let billingListed = false;
    for (;;) {
      for (const service of page.ServicesLastAccessed ?? []) {
        const namespace = service.ServiceNamespace?.toLowerCase();
        if (!namespace || !this.namespaces.has(namespace)) continue;
        billingListed = true;
        const at = service.LastAuthenticated;
        if (at && (!latest || at > latest.at)) latest = { at, service: namespace };
      }
      if (!page.IsTruncated || !page.Marker) break;
      page = await this.details(jobId, page.Marker, signal);
    }
    if (latest) return { known: true, lastUsedAt: latest.at.toISOString(), service: latest.service };
    // The report lists only the services the user's policies allow when it is made: with no
    // billing service in it (a user already out of the group), "never used" cannot be told.
    if (!billingListed) throw new NothingListedError();
    return { known: true };
  }

  private details(jobId: string, marker: string | undefined, signal: AbortSignal): Promise<GetServiceLastAccessedDetailsCommandOutput> {
    return step('GetServiceLastAccessedDetails', () =>
      this.iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: PAGE_SIZE, ...(marker ? { Marker: marker } : {}) }), {
        abortSignal: signal,
      }),
    );
  }

  /** The user's ARN, which holds its path: it cannot be built from the name and the account alone. */
  private async userArn(userName: string, signal: AbortSignal): Promise<string> {
    const out = await step('GetUser', () => this.iam.send(new GetUserCommand({ UserName: userName }), { abortSignal: signal }));
    const arn = out.User?.Arn;
    if (!arn) throw new StepError('GetUser', new Error('no ARN in the answer'));
    return arn;
  }
}

async function step<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new StepError(action, err);
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
const NOT_ANSWERED = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

/**
 * Why usage could not be read, in words for the admins (the access review): the failing IAM action
 * and the error's name, never its raw message (it may carry account ids).
 */
function unknownReason(err: unknown, userName: string): string {
  if (err instanceof DeadlineError) return `access advisor ${err.message}`;
  if (err instanceof JobFailedError) return `the access advisor job failed (${err.message})`;
  if (err instanceof NothingListedError) return 'access advisor lists no billing service for this user (it reports only what their policies allow now)';
  if (!(err instanceof StepError)) return `could not read access advisor (${errorName(err)})`;
  const name = errorName(err.cause);
  const code = (err.cause as { code?: string } | undefined)?.code;
  if (err.action === 'GetUser' && (name === 'NoSuchEntityException' || name === 'NoSuchEntity')) return `no IAM user ${userName}`;
  if (THROTTLED.has(name)) return `IAM throttled ${err.action} (${name}), after retries`;
  if (DENIED.has(name)) return `the bot may not call iam:${err.action} (${name})`;
  if (NOT_ANSWERED.has(name) || (code && /^E(CONNRESET|CONNREFUSED|TIMEDOUT|PIPE)$|^ETIMEDOUT$/.test(code)))
    return `IAM did not answer ${err.action} (${code ?? name})`;
  return `${err.action} failed (${name})`;
}
