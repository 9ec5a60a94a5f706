import { LogLevel, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Config } from './config.js';
import { boltLogger, type Logger } from './log.js';

export interface SlackClientOptions {
  /** Test rigs turn off Slack Web API retries so a refused call fails at once. */
  retries?: number;
  /** How long one Slack Web API attempt may take before it is abandoned (default 10 s). */
  timeoutMs?: number;
}

/** p-retry's hook: a call whose attempt timed out is not tried again (thrown here, it ends the retries). */
function notAfterTimeout(error: Error & { original?: unknown }): void {
  if (error.original instanceof Error && error.original.name === 'TimeoutError') throw error;
}

/**
 * The bot's Slack Web API clients: `slack` for reads and updates, `slackPosts` for new messages
 * (not sent again after a timed-out attempt), and the options Bolt's own client gets.
 */
export function slackClients(config: Pick<Config, 'slack'>, log: Logger, options: SlackClientOptions = {}) {
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    // A few retries with backoff, not the client's default of ten over half an hour: an unreachable
    // Slack must not hang start-up or hold post-ack work without bound. A 429 is retried on the same
    // budget, each after waiting its Retry-After (rejectRateLimitedCalls stays false).
    retryConfig: { retries: options.retries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    // The client's default is no timeout at all: a Slack that accepts the connection and never
    // answers would hold the call, and its queue slot, for ever. Ten seconds per attempt (as doctor
    // uses) is far above a healthy Slack's answer; a timed-out attempt is retried like a 5xx.
    timeout: options.timeoutMs ?? 10_000,
  } satisfies WebClientOptions;
  // The services' client logs warnings and errors only: its debug lines dump request bodies.
  const serviceLogging = { logger: boltLogger(log, LogLevel.WARN), logLevel: LogLevel.WARN };
  const slack = new WebClient(config.slack.botToken, { ...clientOptions, ...serviceLogging });
  // Posts are not idempotent: one whose answer timed out may have landed, and is not sent again
  // (the client hands its retry options to p-retry, whose onFailedAttempt hook ends the retries).
  const postRetries = { ...clientOptions.retryConfig, onFailedAttempt: notAfterTimeout };
  const slackPosts = new WebClient(config.slack.botToken, { ...clientOptions, ...serviceLogging, retryConfig: postRetries });
  return { clientOptions, slack, slackPosts };
}
