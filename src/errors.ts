/**
 * Domain errors. Each has a stable `name`, accepts `{ cause }`, and carries a
 * message that is safe to show to a Slack user (no secrets, no stack).
 */
export class BillingAccessError extends Error {
  override name = 'BillingAccessError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input the user typed or clicked is not acceptable; nothing was changed. */
export class ValidationError extends BillingAccessError {
  override name = 'ValidationError';
  constructor(
    message: string,
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
    super(`No request with id ${requestId}.`);
  }
}

/**
 * A conditional write lost: the item was not in the state the writer expected.
 * `current` is the item as it is now (undefined if it does not exist).
 */
export class ConflictError<T = unknown> extends BillingAccessError {
  override name = 'ConflictError';
  constructor(
    message: string,
    readonly current: T | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

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

export function errorMessage(err: unknown): string {
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
    super(`IAM ${operation} failed: ${errorName(cause)}: ${errorMessage(cause)}`, { cause });
  }
}

/** A group outside BILLING_GROUPS was asked for: refused before any IAM call. */
export class GroupNotAllowedError extends BillingAccessError {
  override name = 'GroupNotAllowedError';
  constructor(groupName: string) {
    super(`IAM group "${groupName}" is not one of the configured billing groups.`);
  }
}
