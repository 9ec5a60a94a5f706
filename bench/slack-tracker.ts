/**
 * Follows what the bot tells Slack, from the fake's own logs (read incrementally, so polling
 * stays cheap with thousands of calls): requests posted to the admin channel, grants announced
 * to requesters, refusals, and replies to response_url keys.
 */
import { BUSY_PREFIX } from '../handlers/reply.js';
import type { SlackStandIn as FakeSlack } from '../playground/slack-standin.js';

const REQUEST_ID = /`([0-9A-HJKMNP-TV-Z]{26})`/;
/** The start of the refusal a click on a request no longer pending gets (handlers/actions/decision-buttons.ts). */
const ALREADY_DECIDED = 'This request was already decided';

export interface PostedRequest {
  id: string;
  requesterId: string;
  level: string;
  at: number;
}

export class SlackTracker {
  private callIndex = 0;
  private responseIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Requests posted to the admin channel, by `${requesterId}:${level}`. */
  readonly posted = new Map<string, PostedRequest>();
  /** Request ids whose requester was told the grant is active, with when (ms since epoch). */
  readonly active = new Map<string, number>();
  readonly failed = new Set<string>();
  /** First reply text per response_url key. */
  readonly replies = new Map<string, string>();
  /** When the tracker first saw each key's reply (ms since the epoch; the scan runs every 20 ms). */
  readonly replySeenAt = new Map<string, number>();
  ephemerals = 0;
  /** Ephemerals that refuse a click as busy (BUSY_PREFIX), and those that say the request was already decided. */
  busyEphemerals = 0;
  /** Busy refusals of clicks, by the request they name. */
  readonly busyClicks = new Map<string, number>();
  decidedEphemerals = 0;

  constructor(
    private readonly slack: FakeSlack,
    private readonly adminChannel: string,
  ) {}

  start(intervalMs = 20): void {
    this.timer = setInterval(() => this.scan(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  scan(): void {
    const calls = this.slack.calls();
    for (; this.callIndex < calls.length; this.callIndex++) {
      const call = calls[this.callIndex];
      if (!call?.ok) continue;
      const args = call.args;
      const text = typeof args.text === 'string' ? args.text : '';
      if (call.method === 'chat.postMessage') {
        const channel = String(args.channel ?? '');
        if (channel === this.adminChannel && args.thread_ts === undefined) {
          const who = /from <@([A-Z0-9]+)> for ([a-z0-9-]+) \(/.exec(text);
          const id = REQUEST_ID.exec(JSON.stringify(args.blocks ?? []))?.[1];
          if (who?.[1] && who[2] && id) {
            this.posted.set(`${who[1]}:${who[2]}`, { id, requesterId: who[1], level: who[2], at: call.at });
          }
        } else if (channel.startsWith('U')) {
          const id = REQUEST_ID.exec(JSON.stringify(args.blocks ?? text))?.[1];
          if (id && text.includes('billing access is approved')) this.active.set(id, call.at);
          else if (id && text.includes('IAM change failed')) this.failed.add(id);
        }
      } else if (call.method === 'chat.postEphemeral') {
        this.ephemerals += 1;
        if (text.startsWith(BUSY_PREFIX)) {
          this.busyEphemerals += 1;
          const id = /did not take your click on request `([0-9A-HJKMNP-TV-Z]{26})`/.exec(text)?.[1];
          if (id) this.busyClicks.set(id, (this.busyClicks.get(id) ?? 0) + 1);
        } else if (text.startsWith(ALREADY_DECIDED)) this.decidedEphemerals += 1;
      }
    }
    const responses = this.slack.responses();
    for (; this.responseIndex < responses.length; this.responseIndex++) {
      const r = responses[this.responseIndex];
      if (!r || this.replies.has(r.key)) continue;
      const text = String(r.body.text ?? '');
      this.replies.set(r.key, text);
      this.replySeenAt.set(r.key, Date.now());
    }
  }

  /** The admin messages' ts, by request id (for clicks that carry the message they were on). */
  messageTs(): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of this.slack.messages(this.adminChannel)) {
      if (m.threadTs || m.ephemeralTo) continue;
      const id = REQUEST_ID.exec(JSON.stringify(m.blocks ?? []))?.[1];
      if (id && !out.has(id)) out.set(id, m.ts);
    }
    return out;
  }
}

/** The request id a confirmation reply names, if it is one. */
export function requestIdInReply(text: string): string | undefined {
  return /^:hourglass_flowing_sand: Request `([0-9A-HJKMNP-TV-Z]{26})`/.exec(text)?.[1];
}

/** Whether a reply refuses a request because the same person already has one pending for the level. */
export const isDuplicateReply = (text: string) => text.startsWith('You already have a pending');
