/**
 * Delivers the Slack notices a request's state calls for, at least once: the transition that
 * needs them sets `noticeDue` in the same conditional write; it is cleared only after every
 * notice went out, and the sweeper re-delivers what is still due after a failure or a crash.
 */
import type { AccessRequest } from '../domain/request.js';
import { errorMessage, errorName } from '../errors.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import type { Notifier, RequestStore } from './ports.js';

type Log = { error(obj: object, msg?: string): void };

export class Announcer {
  constructor(
    private readonly notifier: Notifier,
    private readonly store: RequestStore,
    private readonly log: Log,
  ) {}

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
