/**
 * Usage evidence (PRODUCT §1): what IAM access advisor says about an IAM user's use of the
 * billing services, and what that means for a grant. Pure: the reading is src/aws/access-advisor.ts.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A grant whose billing services were last used this many days ago or more is unused. */
export const UNUSED_AFTER_DAYS = 30;

/**
 * When an IAM user last used any billing service (BILLING_NAMESPACES), as access advisor says it,
 * or why it could not be read. Unknown is never taken for unused.
 */
export type BillingUsage =
  | {
      known: true;
      /** ISO time of the last use; absent: none in access advisor's tracking period. */
      lastUsedAt?: string;
      /** The namespace used last (ce, billing, …). */
      service?: string;
    }
  | { known: false; reason: string };

/** What the access review says about one grant's use. */
export type GrantUsage =
  | { state: 'unknown'; reason: string }
  /** Held for less than USAGE_GRACE_HOURS and not used since granted: too early to say (access advisor lags by hours). */
  | { state: 'new'; lastUsedAt?: string }
  | { state: 'used'; lastUsedAt: string }
  /** A finding: held longer than the grace and not used since it was granted. */
  | { state: 'never-used'; grantedAt: string; lastUsedAt?: string }
  /** A finding: used while granted, but UNUSED_AFTER_DAYS days ago or more. */
  | { state: 'stale'; lastUsedAt: string; days: number };

/** The part of a grant its usage is judged by. */
export interface GrantTimes {
  createdAt: string;
  /** When it left PENDING (approved, or taken as break-glass): the grant's start. */
  decidedAt?: string | undefined;
}

/** When the grant began: its approval (a break-glass grant's is its creation). */
function grantStartedAt(grant: GrantTimes): string {
  return grant.decidedAt ?? grant.createdAt;
}

/**
 * Judges one grant: never used since granted once held longer than `graceHours`, or last used
 * UNUSED_AFTER_DAYS days ago or more, is a finding; what could not be read stays unknown.
 */
export function judgeGrantUsage(grant: GrantTimes, usage: BillingUsage, now: Date, graceHours: number): GrantUsage {
  if (!usage.known) return { state: 'unknown', reason: usage.reason };
  const grantedAt = grantStartedAt(grant);
  const last = usage.lastUsedAt;
  if (last !== undefined && Date.parse(last) >= Date.parse(grantedAt)) {
    const days = Math.floor((now.getTime() - Date.parse(last)) / DAY_MS);
    return days >= UNUSED_AFTER_DAYS ? { state: 'stale', lastUsedAt: last, days } : { state: 'used', lastUsedAt: last };
  }
  const earlier = last === undefined ? {} : { lastUsedAt: last };
  if (now.getTime() - Date.parse(grantedAt) < graceHours * HOUR_MS) return { state: 'new', ...earlier };
  return { state: 'never-used', grantedAt, ...earlier };
}

/** A finding of the access review: the grant is offered for revoking beside it. */
export function isUnusedGrant(usage: GrantUsage | undefined): boolean {
  return usage?.state === 'never-used' || usage?.state === 'stale';
}

/** What an ended grant's notice says: used while it was granted (and when last), not used, or unknown. */
export type UseWhileGranted = { state: 'used'; lastUsedAt: string } | { state: 'not-used' } | { state: 'unknown' };

export function useWhileGranted(grant: GrantTimes, usage: BillingUsage): UseWhileGranted {
  if (!usage.known) return { state: 'unknown' };
  const last = usage.lastUsedAt;
  return last !== undefined && Date.parse(last) >= Date.parse(grantStartedAt(grant)) ? { state: 'used', lastUsedAt: last } : { state: 'not-used' };
}
