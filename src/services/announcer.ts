/**
 * The one path from the services to Slack. Delivers the notices a request's state calls for, at
 * least once: the transition that needs them sets `noticeDue` in the same conditional write;
 * it is cleared only after every notice went out, and the sweeper re-delivers what is still due
 * after a failure or a crash. Also posts new requests, reminders and admin-channel notices.
 */
import type { AccessRequest } from '../domain/request.js';
import { posted } from '../domain/transitions.js';
import { errorMessage, errorName, RequestConflictError } from '../errors.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import type { Notifier, RequestStore } from './ports.js';

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
    await this.notifier.threadReply(request, `:bell: Reminder: this request is still waiting for a decision (times out in about ${hoursLeft} h).`);
  }

  /** A user taken out of a group that an ACTIVE grant still needs, and IAM refused to put them back: the admins must act (best effort). */
  async putBackFailed(subject: AccessRequest, grant: AccessRequest, errorName: string): Promise<void> {
    await this.notifier
      .threadReply(
        subject,
        `:warning: ${grant.iamUserName} was taken out of ${grant.groupName} while another change kept this grant active, and could not be put back (${errorName}). Re-add them by hand or revoke the grant.`,
      )
      .catch(() => undefined);
  }

  /** A link made, in front of every admin (best effort: the link and its audit event are already stored). */
  async linkMade(link: { adminId: string; userId: string; iamUserName: string; previous?: string }): Promise<void> {
    const was = link.previous ? ` (was \`${escapeMrkdwn(link.previous)}\`)` : '';
    await this.notifier
      .adminNotice(`:link: ${mention(link.adminId)} linked ${mention(link.userId)} to IAM user \`${escapeMrkdwn(link.iamUserName)}\`${was}.`)
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
        sends.push(
          this.notifier.requesterNotified(request),
          this.notifier.threadReply(request, `Access expired and was removed from \`${request.groupName}\`.`),
        );
        break;
      case 'REVOKED':
        sends.push(
          this.notifier.requesterNotified(request),
          this.notifier.threadReply(request, `Access revoked by ${mention(request.endedBy ?? '?')} and removed from \`${request.groupName}\`.`),
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
    if (failed.length === 0 && request.noticeDue) await this.store.clearNoticeDue(request.id, request.version);
    return failed.length === 0;
  }
}
