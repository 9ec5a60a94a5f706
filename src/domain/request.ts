/**
 * The access request and its state machine (PRODUCT §2). Pure: no SDK, no Slack.
 */
import type { BillingUsage } from './usage.js';

export const REQUEST_STATUSES = ['PENDING', 'APPROVED', 'ACTIVE', 'FAILED', 'DENIED', 'CANCELLED', 'TIMED_OUT', 'EXPIRED', 'REVOKED', 'EXTENDED'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export type MfaStatus = 'present' | 'missing' | 'not-checked';

export interface Approval {
  by: string;
  at: string;
  /** The approver's own IAM users when they approved: one person counts once, whatever account they click from. */
  iamUsers?: string[];
}

export interface AuditEvent {
  requestId: string;
  at: string;
  actor: string;
  /** A request status; events about group members the bot did not grant use MEMBER → REMOVED, a link made null → LINKED. */
  from: RequestStatus | 'MEMBER' | null;
  to: RequestStatus | 'REMOVED' | 'KEPT' | 'LINKED';
  detail: string;
}

/** An audit event a request item still carries because its own record is not yet confirmed written. */
export interface OwedAuditEvent extends Omit<AuditEvent, 'requestId'> {
  /** The request version the event records (where its record sorts). */
  version: number;
}

/** Statuses no transition leaves (PRODUCT §2). */
export function isFinalStatus(status: RequestStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** What the pre-checks found about the requester's IAM user when the request was made. */
export interface IamSnapshot {
  mfa: MfaStatus;
  hasConsolePassword: boolean | null;
  currentGroups: string[] | null;
  /** Human-readable notes: "not checked: …", "no console password", etc. */
  warnings: string[];
}

export interface AccessRequest {
  id: string;
  status: RequestStatus;
  requesterId: string;
  requesterTeamId: string;
  requesterEmail: string;
  iamUserName: string;
  level: string;
  groupName: string;
  durationDays: number;
  justification: string;
  createdAt: string;
  decidedBy?: string;
  decidedAt?: string;
  approvals: Approval[];
  /** Same ids as `approvals`, kept as a flat list so a condition can test membership. */
  approverIds: string[];
  approvalsRequired: number;
  denyReason?: string;
  expiresAt?: string;
  endedBy?: string;
  endedAt?: string;
  extendsRequestId?: string;
  /** The admin who pinned the requester to this IAM user with `link`, when the mapping came from a link: never an approver of it. */
  linkedBy?: string;
  /** Granted at once by the requester under BREAK_GLASS_MAX_HOURS. */
  breakGlass?: boolean;
  /** An admin's revoke or the holder's done that could not finish (IAM failed): the sweeper finishes it. */
  endDue?: { to: 'REVOKED'; by: string; at: string };
  /** On a grant: the extension requests already applied to its expiry. */
  appliedExtensions?: string[];
  failure?: {
    name: string;
    message: string;
    at: string;
    /** The failed add may have reached IAM and taking the user out again was not confirmed: the sweeper tries again. */
    membershipUnknown?: boolean;
  };
  dryRun: boolean;
  iam: IamSnapshot;
  adminMessage?: { channel: string; ts: string };
  /** On an ended grant: what IAM access advisor said of its use, read right after the user left the group (the end notice says it). */
  usage?: BillingUsage;
  /** The last access review of this grant from the summary (Keep). */
  reviewedBy?: string;
  reviewedAt?: string;
  /** Reminders already posted in the admin thread for this pending request. */
  remindersSent?: number;
  lastReminderAt?: string;
  /** 'DUE' from the transition that needs Slack notices until they are delivered (sparse index). */
  noticeDue?: 'DUE';
  /**
   * The audit event of the change that wrote this version, written in the same conditional write
   * as the change itself and removed once the event's own record is stored: a failed audit write
   * leaves the event here, and the store writes it before the request changes again.
   */
  auditOwed?: OwedAuditEvent;
  /** Optimistic-concurrency counter: every write is conditional on it. */
  version: number;
  updatedAt: string;
}

/** Who may move a request from one status to another (PRODUCT §2). */
const TRANSITIONS: Record<RequestStatus, readonly RequestStatus[]> = {
  PENDING: ['APPROVED', 'DENIED', 'CANCELLED', 'TIMED_OUT'],
  APPROVED: ['ACTIVE', 'FAILED', 'EXTENDED'],
  FAILED: ['APPROVED', 'TIMED_OUT'],
  ACTIVE: ['ACTIVE', 'EXPIRED', 'REVOKED'],
  DENIED: [],
  CANCELLED: [],
  TIMED_OUT: [],
  EXPIRED: [],
  REVOKED: [],
  EXTENDED: [],
};

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A write tried a status change PRODUCT §2 does not allow: a defect, refused before it reaches the table. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: RequestStatus,
    readonly to: RequestStatus,
  ) {
    super(`${from} → ${to} is not a transition of the request state machine`);
  }
}

/** Throws unless `from → to` is allowed; staying in the same status (a non-status change) always is. */
export function assertTransition(from: RequestStatus, to: RequestStatus): void {
  if (from !== to && !canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** ISO 8601 UTC, the one time format stored anywhere in the table. */
export function iso(date: Date): string {
  return date.toISOString();
}

export function addDays(isoTime: string, days: number): string {
  return new Date(Date.parse(isoTime) + days * DAY_MS).toISOString();
}
