import { randomBytes } from 'node:crypto';
import { BillingAccessError, errorMessage, errorName } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { renderText } from '../src/slack/escape.js';
import { markDryRun, plain } from '../src/slack/messages.js';

/** How every busy refusal begins (commands, clicks, modal submissions). */
export const BUSY_PREFIX = 'The bot is busy right now';
export const BUSY_MESSAGE = `${BUSY_PREFIX} and did not take this; please try again in a minute.`;

/** What a person over the limit is told at ack time. */
export function commandRateMessage(perMinute: number, retryInSeconds: number): string {
  return `You have sent more than ${perMinute} commands in the last minute, so this one was not taken and nothing was stored. Please try again in ${retryInSeconds} s.`;
}

/** A click refused as busy names its request: an admin with several requests open knows which to click again. */
export function busyClickMessage(requestId: string): string {
  return `${BUSY_PREFIX} and did not take your click on request \`${requestId}\`; please click again in a minute.`;
}

/** An ephemeral reply body (for ack() or respond()), marked in dry-run. */
export function ephemeral(text: string, dryRun: boolean) {
  return { response_type: 'ephemeral' as const, ...markDryRun(plain(text), dryRun) };
}

/** A short id that ties what a user saw to the log line holding the details. */
function newReference(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The message a user sees for an error: a domain error's own words, else a generic line.
 * Raw details (AWS error text, account ids, role names) go only to the log, under a
 * reference id the user is given.
 */
export function userMessage(err: unknown, log: Logger, context: object): string {
  if (err instanceof BillingAccessError && !err.detail) return renderText(err.parts);
  const reference = newReference();
  log.error({ ...context, event: 'handler.error', reference, error: errorName(err), message: errorMessage(err) });
  if (err instanceof BillingAccessError) return `${renderText(err.parts)} Reference \`${reference}\` (the details are in the bot's log).`;
  return `Something went wrong on our side and nothing was changed. Reference \`${reference}\` (the details are in the bot's log); please try again or tell an admin.`;
}
