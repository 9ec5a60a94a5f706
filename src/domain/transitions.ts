/**
 * Every change to a stored request, as pure functions (PRODUCT §2). Each takes the request as
 * read and returns a `RequestChange`: the new status, the fields to write and the audit event.
 * The store applies a change in one conditional write on the request's version and status,
 * and checks the move once more; nothing else sets `status`. A function asked for a move the
 * state machine does not allow throws IllegalTransitionError.
 */
import { RequestRefusedError } from '../errors.js';
import { type AccessRequest, type Approval, addDays, assertTransition, IllegalTransitionError, type RequestStatus } from './request.js';
import type { BillingUsage } from './usage.js';

declare const madeHere: unique symbol;

/** The fields a change writes; a key present with the value undefined is removed. */
export type RequestFields = Partial<Omit<AccessRequest, 'id' | 'status' | 'version' | 'updatedAt'>>;

/** Who did it and why, for the audit trail. */
export interface ChangeAudit {
  actor: string;
  detail: string;
}

/**
 * One change to one request, made only by the functions of this module (the brand keeps
 * anything else from building one). `audit` is undefined for bookkeeping that leaves no event
 * (a claim, a reminder count, where the admin message went).
 */
export interface RequestChange {
  readonly [madeHere]: true;
  readonly from: RequestStatus;
  readonly to: RequestStatus;
  readonly at: string;
  readonly fields: Readonly<RequestFields>;
  readonly audit: ChangeAudit | undefined;
}

function change(request: AccessRequest, to: RequestStatus, at: string, fields: RequestFields, audit?: ChangeAudit): RequestChange {
  assertTransition(request.status, to);
  return { from: request.status, to, at, fields, audit } as RequestChange;
}

/** The request as it is after `applied` (what the store writes). */
export function applyChange(request: AccessRequest, applied: RequestChange): AccessRequest {
  const next: Record<string, unknown> = { ...request, status: applied.to, version: request.version + 1, updatedAt: applied.at };
  for (const [field, value] of Object.entries(applied.fields)) {
    if (value === undefined) delete next[field];
    else next[field] = value;
  }
  return next as unknown as AccessRequest;
}

/** What a new request is made of; `open` decides its first status. */
export type RequestDraft = Pick<
  AccessRequest,
  | 'id'
  | 'requesterId'
  | 'requesterTeamId'
  | 'requesterEmail'
  | 'iamUserName'
  | 'level'
  | 'groupName'
  | 'durationDays'
  | 'justification'
  | 'approvalsRequired'
  | 'dryRun'
  | 'iam'
  | 'extendsRequestId'
  | 'linkedBy'
>;

/**
 * A new request: PENDING, or for break-glass APPROVED at once by the requester with its expiry
 * fixed now (a grant made later, after a crash, ends sooner, never later).
 */
export function open(draft: RequestDraft, at: string, breakGlass?: { maxHours: number }): { request: AccessRequest; audit: ChangeAudit } {
  const { extendsRequestId, linkedBy, ...rest } = draft;
  const request: AccessRequest = {
    ...rest,
    status: breakGlass ? 'APPROVED' : 'PENDING',
    createdAt: at,
    approvals: breakGlass ? [{ by: draft.requesterId, at }] : [],
    approverIds: breakGlass ? [draft.requesterId] : [],
    version: 1,
    updatedAt: at,
    ...(extendsRequestId ? { extendsRequestId } : {}),
    ...(linkedBy ? { linkedBy } : {}),
    ...(breakGlass
      ? { decidedBy: draft.requesterId, decidedAt: at, breakGlass: true, expiresAt: addDays(at, Math.min(breakGlass.maxHours / 24, draft.durationDays)) }
      : {}),
  };
  const kind = `${breakGlass ? 'break-glass ' : ''}${extendsRequestId ? 'extension ' : ''}`;
  return { request, audit: { actor: draft.requesterId, detail: `${kind}request for ${draft.level} (${draft.groupName}), ${draft.durationDays}d` } };
}

/** What approving one more time does: record the approval, or complete it. */
export function approvalOutcome(request: Pick<AccessRequest, 'approverIds' | 'approvalsRequired'>): 'record' | 'complete' {
  return request.approverIds.length + 1 >= request.approvalsRequired ? 'complete' : 'record';
}

/** One admin's approval: recorded while more are needed (PENDING stays), else PENDING → APPROVED. */
export function approve(request: AccessRequest, approval: Approval): RequestChange {
  const approvals = [...request.approvals, approval];
  const approverIds = [...request.approverIds, approval.by];
  if (approvalOutcome(request) === 'record') {
    return change(
      request,
      'PENDING',
      approval.at,
      { approvals, approverIds, noticeDue: 'DUE' },
      { actor: approval.by, detail: `approval ${approverIds.length} of ${request.approvalsRequired}` },
    );
  }
  return change(
    request,
    'APPROVED',
    approval.at,
    { approvals, approverIds, decidedBy: approval.by, decidedAt: approval.at },
    { actor: approval.by, detail: `approved by ${approverIds.join(', ')}` },
  );
}

export function deny(request: AccessRequest, by: string, at: string, reason?: string): RequestChange {
  return change(
    request,
    'DENIED',
    at,
    { decidedBy: by, decidedAt: at, noticeDue: 'DUE', ...(reason ? { denyReason: reason } : {}) },
    { actor: by, detail: reason ? `denied: ${reason}` : 'denied' },
  );
}

export function cancel(request: AccessRequest, by: string, at: string): RequestChange {
  return change(request, 'CANCELLED', at, { decidedBy: by, decidedAt: at }, { actor: by, detail: 'cancelled by the requester' });
}

/** PENDING → TIMED_OUT (no decision in time), or FAILED → TIMED_OUT (nobody retried in time). */
export function timeOut(request: AccessRequest, at: string, hours: number): RequestChange {
  if (request.status === 'FAILED') {
    return change(request, 'TIMED_OUT', at, { noticeDue: 'DUE' }, { actor: 'system', detail: `not retried within ${hours} h of its failure` });
  }
  return change(
    request,
    'TIMED_OUT',
    at,
    { decidedBy: 'system', decidedAt: at, noticeDue: 'DUE' },
    { actor: 'system', detail: `no decision within ${hours} h` },
  );
}

/**
 * APPROVED → ACTIVE once the user is in the group; the expiry counts from now unless it was
 * fixed earlier (break-glass). `note` follows the expiry in the audit detail.
 */
export function activate(request: AccessRequest, by: string, at: string, iamDetail: string, note = ''): RequestChange {
  const expiresAt = request.expiresAt ?? addDays(at, request.durationDays);
  return change(request, 'ACTIVE', at, { expiresAt, noticeDue: 'DUE' }, { actor: by, detail: `${iamDetail}; expires ${expiresAt}${note}` });
}

/** APPROVED → FAILED with the error; `membershipUnknown` when the add may have reached IAM and must be taken back. */
export function fail(request: AccessRequest, by: string, at: string, error: { name: string; message: string; membershipUnknown: boolean }): RequestChange {
  return change(
    request,
    'FAILED',
    at,
    {
      failure: { name: error.name, message: error.message.slice(0, 1000), at, ...(error.membershipUnknown ? { membershipUnknown: true } : {}) },
      noticeDue: 'DUE',
    },
    { actor: by, detail: `${error.name}: ${error.message.slice(0, 500)}` },
  );
}

/** A failed add whose membership was unknown is settled (the user is confirmed out, or was taken out): FAILED stays. */
export function settleFailure(failed: AccessRequest, by: string, at: string, detail: string): RequestChange {
  if (failed.status !== 'FAILED' || !failed.failure) throw new IllegalTransitionError(failed.status, 'FAILED');
  const { membershipUnknown: _, ...failure } = failed.failure;
  return change(failed, 'FAILED', at, { failure }, { actor: by, detail });
}

/** FAILED → APPROVED: the grant is tried again. Not while a failed add may still be in IAM. */
export function retry(request: AccessRequest, by: string, at: string): RequestChange {
  if (request.status === 'FAILED' && request.failure?.membershipUnknown) {
    throw new RequestRefusedError('The failed attempt may have reached IAM and is still being settled; Retry after the next sweep.');
  }
  // The failure stays on the audit trail; an approved request carries none.
  return change(request, 'APPROVED', at, { failure: undefined }, { actor: by, detail: 'retry' });
}

/** APPROVED → EXTENDED once the held grant's expiry moved (see `moveExpiry`). */
export function extend(extension: AccessRequest, by: string, at: string, grantExpiresAt: string): RequestChange {
  return change(
    extension,
    'EXTENDED',
    at,
    { expiresAt: grantExpiresAt, noticeDue: 'DUE' },
    { actor: by, detail: `grant ${extension.extendsRequestId} now expires ${grantExpiresAt}` },
  );
}

/** An ACTIVE grant's expiry moved by an extension, recorded on the grant in the same write so it is never applied twice. */
export function moveExpiry(grant: AccessRequest, extensionId: string, expiresAt: string, by: string, at: string): RequestChange {
  return change(
    grant,
    'ACTIVE',
    at,
    { expiresAt, appliedExtensions: [...(grant.appliedExtensions ?? []), extensionId] },
    { actor: by, detail: `expiry moved from ${grant.expiresAt} to ${expiresAt} by extension ${extensionId}` },
  );
}

export type EndStatus = 'EXPIRED' | 'REVOKED';

/** ACTIVE → EXPIRED or REVOKED once the user is out of the group (or kept for another grant: `iamDetail` says which), with what access advisor said of its use. */
export function end(grant: AccessRequest, to: EndStatus, by: string, at: string, iamDetail: string, usage?: BillingUsage): RequestChange {
  return change(
    grant,
    to,
    at,
    { endedBy: by, endedAt: at, noticeDue: 'DUE', endDue: undefined, ...(usage ? { usage } : {}) },
    { actor: by, detail: iamDetail },
  );
}

export const expire = (grant: AccessRequest, at: string, iamDetail: string): RequestChange => end(grant, 'EXPIRED', 'system', at, iamDetail);
export const revoke = (grant: AccessRequest, by: string, at: string, iamDetail: string): RequestChange => end(grant, 'REVOKED', by, at, iamDetail);

/** A revoke whose IAM call failed is recorded on the grant (ACTIVE stays) for the sweeper to finish. */
export function oweRevoke(grant: AccessRequest, by: string, at: string, errorName: string): RequestChange {
  return change(
    grant,
    'ACTIVE',
    at,
    { endDue: { to: 'REVOKED', by, at } },
    { actor: by, detail: `revoke could not finish (${errorName}); the sweeper finishes it` },
  );
}

/** A reminder about a pending request, claimed before it is posted so one replica posts it. No audit event. */
export function remind(request: AccessRequest, at: string): RequestChange {
  return change(request, 'PENDING', at, { remindersSent: (request.remindersSent ?? 0) + 1, lastReminderAt: at });
}

/** A reminder Slack did not take: the claim goes back to what it was, so the next sweep posts it. No audit event. */
export function unremind(claimed: AccessRequest, before: Pick<AccessRequest, 'remindersSent' | 'lastReminderAt'>, at: string): RequestChange {
  return change(claimed, 'PENDING', at, { remindersSent: before.remindersSent, lastReminderAt: before.lastReminderAt });
}

/** A claim on a request (its version moves, nothing else): only the replica whose claim wins goes on. No audit event. */
export function claim(request: AccessRequest, at: string): RequestChange {
  return change(request, request.status, at, {});
}

/** Where the request was posted in the admin channel. No audit event. */
export function posted(request: AccessRequest, at: string, adminMessage: { channel: string; ts: string }): RequestChange {
  return change(request, request.status, at, { adminMessage });
}

/** An admin kept an ACTIVE grant after the access review (Keep): ACTIVE stays. */
export function keep(grant: AccessRequest, by: string, at: string): RequestChange {
  return change(grant, 'ACTIVE', at, { reviewedBy: by, reviewedAt: at }, { actor: by, detail: 'kept after access review' });
}
