/**
 * What the bot knows about an IAM user, and the one verdict on whether a grant to it may go
 * on (PRODUCT §1 Request, §3): used at request, at approval and at retry. Pure.
 */
import type { MfaPolicy } from '../config.js';

export interface IamUserInfo {
  userName: string;
  /** null: could not be checked (reason in `notChecked`). */
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
export function iamUserProblem(read: IamUserRead, policy: IamUserPolicy): IamUserProblem | undefined {
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
