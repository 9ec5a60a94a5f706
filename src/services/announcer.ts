/**
 * The one path from the services to Slack. Delivers the notices a request's state calls for, at
 * least once: the transition that needs them sets `noticeDue` in the same conditional write;
 * it is cleared only after every notice went out, and the sweeper re-delivers what is still due
 * after a failure or a crash. Also posts new requests, reminders and admin-channel notices.
 */
import type { AccessRequest } from '../domain/request.js';
import { posted } from '../domain/transitions.js';
import { errorMessage, errorName, RequestConflictError } from '../errors.js';
import type { LinkNotice, Notifier, RequestStore } from './ports.js';

type Log = { error(obj: object, msg?: string): void };

export class Announcer {
  constructor(
    private readonly notifier: Notifier,
    private readonly store: RequestStore,
    private readonly log: Log,
  ) {}

  /**
   * Posts a new request to the admin channel and records where it went. `delivered` is false
   * when Slack did not take it: the request stays stored, and the sweeper posts it later.
   */
  async post(request: AccessRequest, at: string, extensionOf?: AccessRequest): Promise<{ request: AccessRequest; delivered: boolean }> {
    let where: { channel: string; ts: string };
    try {
      where = await this.notifier.requestPosted(request, extensionOf ? { extensionOf } : {});
    } catch (err) {
      this.log.error({ event: 'slack.notice_failed', notice: 'request', requestId: request.id, error: errorName(err), message: errorMessage(err) });
      return { request, delivered: false };
    }
    try {
      return { request: await this.store.update(request, posted(request, at, where)), delivered: true };
    } catch (err) {
      // Changed meanwhile (approved, cancelled): the post went out; the newer state is what counts.
      if (err instanceof RequestConflictError && err.current) return { request: err.current, delivered: true };
      return { request, delivered: false };
    }
  }

  /** A reminder in the admin thread of a pending request. */
  async remind(request: AccessRequest, hoursLeft: number): Promise<void> {
    await this.notifier.threadNews(request, { kind: 'reminder', hoursLeft });
  }

  /** A user taken out of a group that an ACTIVE grant still needs, and IAM refused to put them back: the admins must act (best effort). */
  async putBackFailed(subject: AccessRequest, grant: AccessRequest, errorName: string): Promise<void> {
    await this.notifier
      .threadNews(subject, { kind: 'put-back-failed', iamUserName: grant.iamUserName, groupName: grant.groupName, errorName })
      .catch(() => undefined);
  }

  /** A link made, in front of every admin (best effort: the link and its audit event are already stored). */
  async linkMade(link: LinkNotice): Promise<void> {
    await this.notifier
      .linkMade(link)
      .catch((err: unknown) => this.log.error({ event: 'slack.notice_failed', notice: 'link', error: errorName(err), message: errorMessage(err) }));
  }

  /** The notices for the request's current state; true when all were delivered. */
  async announce(request: AccessRequest): Promise<boolean> {
    const sends: Promise<unknown>[] = [this.notifier.requestUpdated(request)];
    switch (request.status) {
      case 'ACTIVE':
      case 'EXTENDED':
      case 'FAILED':
      case 'DENIED':
      case 'TIMED_OUT':
        sends.push(this.notifier.requesterNotified(request));
        break;
      case 'EXPIRED':
        sends.push(this.notifier.requesterNotified(request), this.notifier.threadNews(request, { kind: 'expired', groupName: request.groupName }));
        break;
      case 'REVOKED':
        sends.push(
          this.notifier.requesterNotified(request),
          this.notifier.threadNews(request, { kind: 'revoked', by: request.endedBy ?? '?', groupName: request.groupName }),
        );
        break;
      default:
        break;
    }
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) {
      this.log.error({
        event: 'slack.notice_failed',
        requestId: request.id,
        status: request.status,
        error: errorName(f.reason),
        message: errorMessage(f.reason),
      });
    }
    if (failed.length === 0 && request.noticeDue) await this.store.clearNoticeDue(request);
    return failed.length === 0;
  }
}
