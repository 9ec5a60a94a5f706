/** The Notifier and SummaryPoster over the Slack Web API: posts what src/slack/ builds. */
import type { WebClient } from '@slack/web-api';
import type { AccessRequest } from '../domain/request.js';
import type { LinkNotice, Notifier, ThreadNews } from '../services/ports.js';
import type { SummaryPoster, SummaryReport } from '../services/summary-service.js';
import { adminRequestMessage, markDryRun, plain, requesterMessage, type SlackMessage } from '../slack/messages.js';
import { linkNoticeText, threadNewsText } from '../slack/notices.js';
import { renderSummary } from '../slack/summary-blocks.js';

/**
 * The Slack side of every notification: one chat.postMessage per request in the admin
 * channel, later news as chat.update or thread replies, DMs with channel = user id.
 */
export class SlackNotifier implements Notifier, SummaryPoster {
  private readonly client: WebClient;
  private readonly adminChannelId: string;
  private readonly dryRun: boolean;
  private readonly teamUrl: () => string | undefined;

  constructor(options: {
    client: WebClient;
    adminChannelId: string;
    dryRun: boolean;
    /** The workspace URL from auth.test, for links to admin messages. */
    teamUrl?: () => string | undefined;
  }) {
    this.client = options.client;
    this.adminChannelId = options.adminChannelId;
    this.dryRun = options.dryRun;
    this.teamUrl = options.teamUrl ?? (() => undefined);
  }

  /** The summary's first message in the admin channel; what does not fit continues in its thread. */
  async postSummary(report: SummaryReport): Promise<void> {
    const teamUrl = this.teamUrl();
    const [first, ...rest] = renderSummary(report, teamUrl ? { teamUrl } : {});
    if (!first) return;
    const out = await this.client.chat.postMessage({ channel: this.adminChannelId, ...first, unfurl_links: false });
    for (const message of rest) {
      await this.client.chat.postMessage({ channel: this.adminChannelId, thread_ts: out.ts, ...message, unfurl_links: false });
    }
  }

  private mark(message: SlackMessage): SlackMessage {
    return markDryRun(message, this.dryRun);
  }

  async requestPosted(request: AccessRequest, context: { extensionOf?: AccessRequest }): Promise<{ channel: string; ts: string }> {
    const extension = context.extensionOf?.expiresAt ? { currentExpiresAt: context.extensionOf.expiresAt } : undefined;
    const message = this.mark(adminRequestMessage(request, extension ? { extension } : {}));
    const out = await this.client.chat.postMessage({ channel: this.adminChannelId, ...message, unfurl_links: false });
    if (!out.ts || !out.channel) throw new Error('chat.postMessage returned no ts');
    return { channel: out.channel, ts: out.ts };
  }

  async requestUpdated(request: AccessRequest): Promise<void> {
    if (!request.adminMessage) return;
    const message = this.mark(adminRequestMessage(request));
    await this.client.chat.update({ channel: request.adminMessage.channel, ts: request.adminMessage.ts, ...message });
  }

  async requesterNotified(request: AccessRequest): Promise<void> {
    await this.client.chat.postMessage({ channel: request.requesterId, ...this.mark(requesterMessage(request)), unfurl_links: false });
  }

  async threadNews(request: AccessRequest, news: ThreadNews): Promise<void> {
    if (!request.adminMessage) return;
    await this.client.chat.postMessage({
      channel: request.adminMessage.channel,
      thread_ts: request.adminMessage.ts,
      ...this.mark(plain(threadNewsText(news))),
    });
  }

  async clickRefused(target: { channel: string; userId: string }, message: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel: target.channel, user: target.userId, ...this.mark(plain(message)) });
  }

  async linkMade(link: LinkNotice): Promise<void> {
    await this.client.chat.postMessage({ channel: this.adminChannelId, ...this.mark(plain(linkNoticeText(link))), unfurl_links: false });
  }

  async directMessage(userId: string, text: string): Promise<void> {
    await this.client.chat.postMessage({ channel: userId, ...this.mark(plain(text)) });
  }
}
