import { BillingAccessError, errorName } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { escapeMrkdwn } from '../src/slack/escape.js';
import { markDryRun, plain } from '../src/slack/messages.js';

export const BUSY_MESSAGE = 'The bot is busy right now and did not take this; please try again in a minute.';

/** An ephemeral reply body (for ack() or respond()), marked in dry-run. */
export function ephemeral(text: string, dryRun: boolean) {
  return { response_type: 'ephemeral' as const, ...markDryRun(plain(text), dryRun) };
}

/** The message a user sees for an error: a domain error's own words, else a generic line (details go to the log). */
export function userMessage(err: unknown, log: Logger, context: object): string {
  if (err instanceof BillingAccessError) return escapeMrkdwn(err.message);
  log.error({ ...context, event: 'handler.error', error: errorName(err), message: err instanceof Error ? err.message : String(err) });
  return 'Something went wrong on our side and nothing was changed. The error is logged; please try again or tell an admin.';
}
