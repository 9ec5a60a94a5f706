/** The weekly summary's figures and findings, computed from data: pure. */
import type { AccessRequest, RequestStatus } from './request.js';
import type { BillingUsage } from './usage.js';

export interface PeriodStats {
  total: number;
  byStatus: Partial<Record<RequestStatus, number>>;
  /** Median minutes from request to an admin's decision (approve or deny), null if none. */
  medianDecisionMinutes: number | null;
  breakGlass: AccessRequest[];
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Decided by an admin: not a time-out, a cancel or a break-glass self-grant. */
function adminDecision(r: AccessRequest): boolean {
  return Boolean(r.decidedAt && r.decidedBy && r.decidedBy !== 'system' && r.decidedBy !== r.requesterId);
}

export function periodStats(requests: AccessRequest[]): PeriodStats {
  const byStatus: Partial<Record<RequestStatus, number>> = {};
  for (const r of requests) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const minutes = requests.filter(adminDecision).map((r) => (Date.parse(r.decidedAt as string) - Date.parse(r.createdAt)) / 60_000);
  return { total: requests.length, byStatus, medianDecisionMinutes: median(minutes), breakGlass: requests.filter((r) => r.breakGlass) };
}

export interface MemberFinding {
  userName: string;
  /** The bot's ACTIVE grants that explain this membership. */
  grantIds: string[];
  mfa: boolean | null;
  oldActiveKeys: string[];
  /** 'never': has a console password never used; 'stale': unused for 90+ days. */
  passwordUnused: 'never' | 'stale' | null;
  /** In the group without an ACTIVE grant from the bot: added by hand. */
  drift: boolean;
  removed: boolean;
  error?: string;
  /** When the user last used a billing service (access advisor); absent when not read. */
  usage?: BillingUsage;
  /** One of the member's grants is an unused-grant finding (PRODUCT §1 Usage evidence). */
  unusedGrant?: boolean;
}

export interface GroupReview {
  level: string;
  groupName: string;
  members: MemberFinding[];
  policyProblems: string[];
  error?: string;
}

export function passwordFinding(hasPassword: boolean | null, lastUsed: string | undefined, now: Date): MemberFinding['passwordUnused'] {
  if (!hasPassword) return null;
  if (!lastUsed) return 'never';
  return now.getTime() - Date.parse(lastUsed) >= 90 * 24 * 60 * 60 * 1000 ? 'stale' : null;
}

export function needsAttention(m: MemberFinding): boolean {
  return m.drift || m.mfa === false || m.oldActiveKeys.length > 0 || m.passwordUnused !== null || Boolean(m.error);
}
