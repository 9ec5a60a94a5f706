import type { Text } from '../errors.js';

/**
 * Escapes user text for Slack mrkdwn: `&`, `<` and `>` become entities, so user text
 * cannot mention people, ping `<!channel>` or disguise links.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Bounds a string for a Slack field, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export const mention = (userId: string) => `<@${userId}>`;

/** User-facing text parts as mrkdwn: words escaped, users as mentions, code values in backticks. */
export function renderText(parts: Text): string {
  if (typeof parts === 'string') return escapeMrkdwn(parts);
  return parts.map((p) => (typeof p === 'string' ? escapeMrkdwn(p) : 'user' in p ? mention(p.user) : `\`${escapeMrkdwn(p.code)}\``)).join('');
}
