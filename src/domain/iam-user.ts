/**
 * What the bot knows about an IAM user, and the one verdict on whether a grant to it may go
 * on (PRODUCT §1 Request, §3): used at request, at approval and at retry. Pure.
 */
import type { MfaPolicy } from '../config.js';
import { code, errorMessage, errorName, RequestRefusedError, text } from '../errors.js';

export interface IamUserInfo {
  userName: string;
  /** null: could not be checked (reason in `notChecked`), or not read at this stage (a re-check before a grant). */
  hasConsolePassword: boolean | null;
  mfaDeviceCount: number | null;
  groups: string[] | null;
  notChecked: string[];
}

/** One read of an IAM user: what IAM answered (undefined: no such user), or the error it gave. */
export type IamUserRead = { user: IamUserInfo | undefined } | { error: unknown };

export type IamUserProblem =
  /** No such IAM user. */
  | 'missing'
  /** IAM could not be read at all (live mode only: dry-run goes on, marked). */
  | 'unreadable'
  /** REQUIRE_MFA=block and the user has no MFA device. */
  | 'no-mfa'
  /** REQUIRE_MFA=block and the MFA devices could not be listed (live mode). */
  | 'mfa-unreadable'
  /** Some other detail (console password, groups) could not be read (live mode). */
  | 'partly-unreadable';

export interface IamUserPolicy {
  requireMfa: MfaPolicy;
  /** IAM_MODE=live: never go on with a check that could not be made. */
  live: boolean;
}

/** The first reason a grant to this user may not go on, or undefined when it may. */
function iamUserProblem(read: IamUserRead, policy: IamUserPolicy): IamUserProblem | undefined {
  if ('error' in read) return policy.live ? 'unreadable' : undefined;
  const { user } = read;
  if (!user) return 'missing';
  if (policy.requireMfa === 'block' && user.mfaDeviceCount === 0) return 'no-mfa';
  if (policy.requireMfa === 'block' && user.mfaDeviceCount === null && policy.live) return 'mfa-unreadable';
  if (policy.live && user.notChecked.length > 0) return 'partly-unreadable';
  return undefined;
}

/** IAM user names are case-insensitive: `Jane.Doe` and `jane.doe` are one user. */
export function iamUserKey(userName: string): string {
  return userName.toLowerCase();
}

export function sameIamUser(a: string, b: string): boolean {
  return iamUserKey(a) === iamUserKey(b);
}

/** What a refusal at approval or retry leaves the request as, in the admin's words. */
export function whatStays(stage: 'approval' | 'retry'): string {
  return stage === 'approval' ? 'The request stays pending.' : 'The request stays failed.';
}

/** When the verdict is asked: at the request (told to the requester), or when a grant is about to happen (told to the admin). */
export type IamUserStage = 'request' | 'approval' | 'retry';

/**
 * The refusal for a verdict, in the words for whoever is told at that stage; undefined when
 * the grant may go on. At approval and retry, details the request already showed (console
 * password, groups) do not stop a grant: it does not rest on them.
 */
export function iamUserRefusal(read: IamUserRead, policy: IamUserPolicy, userName: string, stage: IamUserStage): RequestRefusedError | undefined {
  const problem = iamUserProblem(read, policy);
  if (!problem) return undefined;
  const readError = 'error' in read ? read.error : undefined;
  const cause = readError === undefined ? {} : { cause: readError };
  const unreadable = `reading IAM user ${userName} failed: ${errorName(readError)}: ${errorMessage(readError)}`;
  if (stage === 'request') {
    const notChecked = 'user' in read ? (read.user?.notChecked.join('; ') ?? '') : '';
    switch (problem) {
      case 'missing':
        return new RequestRefusedError(
          text`There is no IAM user ${code(userName)} in this AWS account. Ask an admin to create it, or to link your Slack user to your IAM user with ${code('/request-billing link @you <iam-user>')}.`,
        );
      case 'no-mfa':
        return new RequestRefusedError(
          text`Your IAM user ${code(userName)} has no MFA device, and billing access requires one. Add one in the AWS console (IAM → Users → ${userName} → Security credentials → Assign MFA device), then ask again.`,
        );
      case 'unreadable':
        return new RequestRefusedError(text`Could not check your IAM user ${code(userName)}. Nothing was stored; try again later or tell an admin.`, {
          ...cause,
          detail: unreadable,
        });
      default:
        return new RequestRefusedError(text`Could not check your IAM user ${code(userName)}. Nothing was stored; try again later or tell an admin.`, {
          detail: `IAM user ${userName} not fully readable: ${notChecked}`,
        });
    }
  }
  const stays = ` ${whatStays(stage)}`;
  switch (problem) {
    case 'missing':
      return new RequestRefusedError([...text`IAM user ${code(userName)} no longer exists.`, stays], cause);
    case 'no-mfa':
      return new RequestRefusedError([...text`IAM user ${code(userName)} has no MFA device any more, so it cannot be granted.`, stays], cause);
    case 'unreadable':
      return new RequestRefusedError([...text`Could not re-check IAM user ${code(userName)}; try again.`, stays], {
        ...cause,
        detail: `re-checking IAM user ${userName} failed: ${errorName(readError)}: ${errorMessage(readError)}`,
      });
    case 'mfa-unreadable':
      return new RequestRefusedError([...text`Could not re-check MFA for ${code(userName)}; try again.`, stays], cause);
    default:
      return undefined;
  }
}
