/**
 * Who the bot is in AWS, asked once at start (sts:GetCallerIdentity, which needs no permission):
 * the start-up summary names the account and identity, and live mode refuses to start without
 * one. A failure is sorted into what an operator can act on (no credentials, credentials AWS
 * refuses, an endpoint that does not answer), each with its fix.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { hintForError, noCredentialsHint } from '../environment-hints.js';

/** How long the whole lookup may take, credential resolution included, before it counts as unreachable. */
const CALLER_IDENTITY_TIMEOUT_MS = 5_000;

export type CallerIdentityProblem = 'no-credentials' | 'refused' | 'unreachable' | 'failed';

export type CallerIdentity =
  | { found: true; account: string; arn: string }
  | {
      found: false;
      problem: CallerIdentityProblem;
      /** What failed, in words (the SDK's error name and first line, never a secret). */
      reason: string;
      /** What to set or check. */
      fix: string;
    };

/** The part of the STS client the lookup uses (STSClient satisfies it). */
export interface StsSender {
  send(command: GetCallerIdentityCommand, options?: { abortSignal?: AbortSignal }): Promise<{ Account?: string; Arn?: string }>;
}

/** Error names with which AWS turns down the credentials themselves (as opposed to a permission). */
const REFUSED_CREDENTIALS =
  /^(InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken|ExpiredTokenException|UnrecognizedClientException|InvalidAccessKeyId|AccessDenied|AuthFailure|IncompleteSignature)$/;
const REFUSED_FIX =
  'check the AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN): renew an expired session, or replace a deleted or mistyped key';

const firstLine = (text: string) => text.split('\n')[0] ?? '';

/** The error's name and the first line of its message (the SDK's messages about unparseable answers run long). */
function described(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = firstLine(err.message);
  return `${err.name}${status ? ` (HTTP ${status})` : ''}${message ? `: ${message}` : ''}`;
}

/**
 * Sorts a failed lookup into what an operator can act on. Missing credentials and an endpoint
 * that does not answer get the words setup, audit and doctor use for them (src/environment-hints.ts).
 */
export function classifyCallerIdentityError(err: unknown): Extract<CallerIdentity, { found: false }> {
  const hint = hintForError(err, { service: 'STS' });
  if (hint?.kind === 'no-credentials') {
    // The start-up summary's words for the plain case; a chain that failed otherwise (a missing profile) says how.
    const reason = hint.problem === noCredentialsHint().problem ? 'no AWS credentials' : hint.problem;
    return { found: false, problem: 'no-credentials', reason, fix: hint.fix };
  }
  if (hint?.kind === 'unreachable') return { found: false, problem: 'unreachable', reason: hint.problem, fix: hint.fix };
  const name = err instanceof Error ? err.name : '';
  if (REFUSED_CREDENTIALS.test(name)) {
    return { found: false, problem: 'refused', reason: `AWS refused the credentials (${described(err)})`, fix: REFUSED_FIX };
  }
  return {
    found: false,
    problem: 'failed',
    reason: `sts:GetCallerIdentity failed (${described(err)})`,
    fix: 'check the AWS credentials, AWS_REGION and AWS_ENDPOINT_URL',
  };
}

/**
 * Asks STS who the credentials are. Never throws: a failure comes back classified. The lookup
 * as a whole (the SDK's credential chain included, which may probe a metadata service) is
 * bounded by `timeoutMs`; past it, the call is abandoned and counts as unreachable.
 */
export async function lookupCallerIdentity(sts: StsSender, timeoutMs = CALLER_IDENTITY_TIMEOUT_MS): Promise<CallerIdentity> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      const err = new Error(`no reply within ${timeoutMs / 1000} s`);
      err.name = 'TimeoutError';
      reject(err);
    }, timeoutMs);
  });
  try {
    const out = await Promise.race([sts.send(new GetCallerIdentityCommand({}), { abortSignal: abort.signal }), deadline]);
    if (!out.Account || !out.Arn)
      return { found: false, problem: 'failed', reason: 'sts:GetCallerIdentity named no account', fix: 'check AWS_ENDPOINT_URL: is it an STS endpoint?' };
    return { found: true, account: out.Account, arn: out.Arn };
  } catch (err) {
    return classifyCallerIdentityError(err);
  } finally {
    clearTimeout(timer);
  }
}
