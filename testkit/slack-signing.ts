import { createHmac } from 'node:crypto';

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/** Signs a request body the way Slack does: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function signSlackRequest(secret: string, body: string, timestampSeconds: number = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const ts = String(timestampSeconds);
  const digest = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': ts };
}

export interface PostToBotOptions {
  /** Default 'application/x-www-form-urlencoded'. */
  contentType?: string;
  /** Request timestamp in seconds (default: now). */
  timestamp?: number;
  /** Overrides the computed signature (to test rejection of bad signatures). */
  signature?: string;
}

export interface BotResponse {
  status: number;
  text: string;
  /** The parsed body, when it is JSON. */
  json?: unknown;
}

/** POSTs a signed body to the bot's HTTP endpoint, as Slack would. */
export async function postToBot(url: string, secret: string, body: string, opts: PostToBotOptions = {}): Promise<BotResponse> {
  const headers = signSlackRequest(secret, body, opts.timestamp);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': headers['x-slack-request-timestamp'],
      'x-slack-signature': opts.signature ?? headers['x-slack-signature'],
    },
    body,
  });
  const text = await response.text();
  const result: BotResponse = { status: response.status, text };
  if (text.length > 0) {
    try {
      result.json = JSON.parse(text);
    } catch {
      // not JSON; leave json undefined
    }
  }
  return result;
}
