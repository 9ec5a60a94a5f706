/**
 * Domain errors. Each has a stable `name`, accepts `{ cause }`, and carries text that is safe
 * to show to a Slack user (no secrets, no stack, no raw AWS error text). The text is kept as
 * parts, not markup: the Slack layer decides how a user id or a code value is shown, so
 * nothing is escaped twice.
 */
import type { IdentityLink } from './domain/link.js';
import type { AccessRequest } from './domain/request.js';

/** One piece of user-facing text: plain words, a Slack user, or a value shown as code. */
export type TextPart = string | { user: string } | { code: string };
export type Text = string | readonly TextPart[];

export const user = (id: string): TextPart => ({ user: id });
export const code = (value: string): TextPart => ({ code: value });

/** `text\`Request ${code(id)} is ${status}.\``: interpolated strings stay plain words. */
export function text(strings: TemplateStringsArray, ...values: (TextPart | number)[]): TextPart[] {
  const parts: TextPart[] = [];
  strings.forEach((s, i) => {
    if (s) parts.push(s);
    const value = values[i];
    if (value !== undefined) parts.push(typeof value === 'number' ? String(value) : value);
  });
  return parts;
}

/** The text without any markup: users as @U…, code values as they are. For logs and modal field errors. */
export function plainText(parts: Text): string {
  if (typeof parts === 'string') return parts;
  return parts.map((p) => (typeof p === 'string' ? p : 'user' in p ? `@${p.user}` : p.code)).join('');
}

export class BillingAccessError extends Error {
  override name = 'BillingAccessError';
  readonly parts: readonly TextPart[];
  /** What operators (admin message, logs) see in place of the user's text: raw AWS detail, ids. Never shown to employees. */
  readonly detail: string | undefined;
  constructor(message: Text, options?: { cause?: unknown; detail?: string }) {
    super(plainText(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.parts = typeof message === 'string' ? [message] : message;
    this.detail = options?.detail;
  }
}

/** Input the user typed or clicked is not acceptable; nothing was changed. */
export class ValidationError extends BillingAccessError {
  override name = 'ValidationError';
  constructor(
    message: Text,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The caller may not do this (not an admin, own request, wrong channel, wrong workspace). */
export class NotAllowedError extends BillingAccessError {
  override name = 'NotAllowedError';
}

/** A request was refused by a pre-check (IAM user missing, MFA, quota, duplicate). */
export class RequestRefusedError extends BillingAccessError {
  override name = 'RequestRefusedError';
}

export class RequestNotFoundError extends BillingAccessError {
  override name = 'RequestNotFoundError';
  constructor(readonly requestId: string) {
    super(text`No request with id ${code(requestId)}.`);
  }
}

/**
 * A conditional write lost: the item was not in the state the writer expected.
 * `current` is the item as it is now (undefined if it does not exist).
 */
export class ConflictError<T> extends BillingAccessError {
  override name = 'ConflictError';
  constructor(
    message: Text,
    readonly current: T | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request write lost: `current` is the request that won (the same one changed, or the other request holding the slot). */
export class RequestConflictError extends ConflictError<AccessRequest> {}

/** A link lost: `current` is the link that holds the IAM user. */
export class LinkConflictError extends ConflictError<IdentityLink> {}

/** Configuration is invalid; `problems` names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function errorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  return 'UnknownError';
}

/** The words for operators and logs: an error's raw detail where it has one, else its message. */
export function errorMessage(err: unknown): string {
  if (err instanceof BillingAccessError && err.detail) return err.detail;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** IAM could not be read or written (credentials, access denied, throttled after retries). */
export class IamUnavailableError extends BillingAccessError {
  override name = 'IamUnavailableError';
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super('AWS IAM could not be read or changed right now.', { cause, detail: `IAM ${operation} failed: ${errorName(cause)}: ${errorMessage(cause)}` });
  }
}

/** A group outside BILLING_GROUPS was asked for: refused before any IAM call. */
export class GroupNotAllowedError extends BillingAccessError {
  override name = 'GroupNotAllowedError';
  constructor(groupName: string) {
    super(`IAM group "${groupName}" is not one of the configured billing groups.`);
  }
}

/** Two or more IAM users carry the same `email` tag: the Slack user cannot be mapped to one of them. */
export class AmbiguousMappingError extends BillingAccessError {
  override name = 'AmbiguousMappingError';
  constructor(
    readonly email: string,
    readonly userNames: string[],
  ) {
    // Other people's IAM user names are for admins and the log, not for whoever asked.
    super(
      [
        'More than one IAM user is tagged with your email, so the bot cannot tell which is yours. Ask an admin to fix the tags or to link your Slack user with ',
        code('/request-billing link'),
        '.',
      ],
      { detail: `IAM users ${listNames(userNames)} are ${userNames.length === 2 ? 'both' : 'all'} tagged email=${email}` },
    );
  }
}

function listNames(names: string[]): string {
  if (names.length <= 2) return names.join(' and ');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** STORE=dynamodb and the table is not there: start-up stops and says to run setup. */
export class MissingTableError extends Error {
  override name = 'MissingTableError';
}

/** STORE=embedded and another process holds the LevelDB files in DATA_DIR (the embedded store serves one process). */
export class EmbeddedStoreInUseError extends Error {
  override name = 'EmbeddedStoreInUseError';
}
