/** The Notifier and SummaryPoster over the Slack Web API: posts what src/slack/ builds. */
import type { WebClient } from '@slack/web-api';
import type { AccessRequest } from '../domain/request.js';
import type { LinkNotice, Notifier, ThreadNews } from '../services/ports.js';
import type { SummaryPoster, SummaryReport } from '../services/summary-service.js';
import { adminRequestMessage, markDryRun, plain, requesterMessage, type SlackMessage, slackDate } from '../slack/messages.js';
import { linkNoticeText, threadNewsText } from '../slack/notices.js';
import { renderSummary } from '../slack/summary-blocks.js';

/**
 * The Slack side of every notification: one chat.postMessage per request in the admin
 * channel, later news as chat.update or thread replies, DMs with channel = user id.
 */
export class SlackNotifier implements Notifier, SummaryPoster {
  private readonly client: WebClient;
  private readonly postClient: WebClient;
  private readonly adminChannelId: string;
  private readonly dryRun: boolean;
  private readonly teamUrl: () => string | undefined;

  constructor(options: {
    client: WebClient;
    /**
     * For new messages (chat.postMessage, chat.postEphemeral), which Slack does not deduplicate:
     * a client that does not send a post again after its answer timed out (it may have landed),
     * so a notice is repeated at most once, by the sweeper. Default: `client`.
     */
    postClient?: WebClient;
    adminChannelId: string;
    dryRun: boolean;
    /** The workspace URL from auth.test, for links to admin messages. */
    teamUrl?: () => string | undefined;
  }) {
    this.client = options.client;
    this.postClient = options.postClient ?? options.client;
    this.adminChannelId = options.adminChannelId;
    this.dryRun = options.dryRun;
    this.teamUrl = options.teamUrl ?? (() => undefined);
  }

  /**
   * The summary's first message in the admin channel; what does not fit continues in its thread.
   * A continuation Slack does not take (after the client's retries) is not followed by a second
   * first message: the admins are told in the channel which parts are missing.
   */
  async postSummary(report: SummaryReport, options: { signal?: AbortSignal } = {}): Promise<void> {
    const teamUrl = this.teamUrl();
    const [first, ...rest] = renderSummary(report, teamUrl ? { teamUrl } : {});
    if (!first) return;
    options.signal?.throwIfAborted();
    const head = await this.postClient.chat.postMessage({ channel: this.adminChannelId, ...first, unfurl_links: false });
    for (const [i, message] of rest.entries()) {
      options.signal?.throwIfAborted();
      try {
        await this.postClient.chat.postMessage({ channel: this.adminChannelId, thread_ts: head.ts, ...message, unfurl_links: false });
      } catch (err) {
        const where = teamUrl && head.ts ? `<${teamUrl}archives/${this.adminChannelId}/p${head.ts.replace('.', '')}|posted above>` : 'posted above';
        const text = summaryIncompleteText(report, where, { from: i + 2, parts: rest.length + 1, reason: slackFailure(err) });
        // Not told either: the summary counts as not posted, and is posted again (at worst twice).
        await this.postClient.chat.postMessage({ channel: this.adminChannelId, ...this.mark(plain(text)), unfurl_links: false }).catch(() => {
          throw err;
        });
        return;
      }
    }
  }

  private mark(message: SlackMessage): SlackMessage {
    return markDryRun(message, this.dryRun);
  }

  async requestPosted(request: AccessRequest, context: { extensionOf?: AccessRequest }): Promise<{ channel: string; ts: string }> {
    const extension = context.extensionOf?.expiresAt ? { currentExpiresAt: context.extensionOf.expiresAt } : undefined;
    const message = this.mark(adminRequestMessage(request, extension ? { extension } : {}));
    const out = await this.postClient.chat.postMessage({ channel: this.adminChannelId, ...message, unfurl_links: false });
    if (!out.ts || !out.channel) throw new Error('chat.postMessage returned no ts');
    return { channel: out.channel, ts: out.ts };
  }

  async requestUpdated(request: AccessRequest): Promise<void> {
    if (!request.adminMessage) return;
    const message = this.mark(adminRequestMessage(request));
    await this.client.chat.update({ channel: request.adminMessage.channel, ts: request.adminMessage.ts, ...message });
  }

  async requesterNotified(request: AccessRequest): Promise<void> {
    await this.postClient.chat.postMessage({ channel: request.requesterId, ...this.mark(requesterMessage(request)), unfurl_links: false });
  }

  async threadNews(request: AccessRequest, news: ThreadNews): Promise<void> {
    if (!request.adminMessage) return;
    await this.postClient.chat.postMessage({
      channel: request.adminMessage.channel,
      thread_ts: request.adminMessage.ts,
      ...this.mark(plain(threadNewsText(news))),
    });
  }

  async clickRefused(target: { channel: string; userId: string }, message: string): Promise<void> {
    await this.postClient.chat.postEphemeral({ channel: target.channel, user: target.userId, ...this.mark(plain(message)) });
  }

  async linkMade(link: LinkNotice): Promise<void> {
    await this.postClient.chat.postMessage({ channel: this.adminChannelId, ...this.mark(plain(linkNoticeText(link))), unfurl_links: false });
  }

  async directMessage(userId: string, text: string): Promise<void> {
    await this.postClient.chat.postMessage({ channel: userId, ...this.mark(plain(text)) });
  }
}

/** What Slack answered a call the client gave up on: its error, its HTTP status, or none. */
function slackFailure(err: unknown): string {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number };
  if (e.data?.error) return e.data.error;
  if (e.statusCode) return `HTTP ${e.statusCode}`;
  if (e.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  return 'no answer';
}

/** The admin channel's note when a summary's thread could not be completed. */
export function summaryIncompleteText(
  report: Pick<SummaryReport, 'from' | 'to'>,
  where: string,
  missing: { from: number; parts: number; reason: string },
): string {
  const parts = missing.from === missing.parts ? `part ${missing.parts} of ${missing.parts}` : `parts ${missing.from} to ${missing.parts} of ${missing.parts}`;
  return `:warning: The summary of ${slackDate(report.from)} → ${slackDate(report.to)} ${where} is incomplete: ${parts} could not be posted in its thread (Slack: \`${missing.reason}\`). \`/request-billing summary\` posts the access review again.`;
}
