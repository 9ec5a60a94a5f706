/** Every key of the single table, built in one place. */
export type RequestPk = `REQ#${string}`;
export type LinkPk = `LINK#${string}`;
export type LinkedIamPk = `LINKIAM#${string}`;
export type PendingLockPk = `PENDING#${string}`;

export const REQUEST_SK = 'REQUEST';
const PERIOD_SK = 'PERIOD';
const META_SK = 'META';
const LINK_SK = 'LINK';
const LOCK_SK = 'LOCK';

export const requestKey = (id: string) => ({ pk: `REQ#${id}` as RequestPk, sk: REQUEST_SK });
/** Audit events live beside their request, ordered by the request's version. */
export const auditKey = (requestId: string, version: number) => ({
  pk: `REQ#${requestId}` as RequestPk,
  sk: `AUDIT#${String(version).padStart(6, '0')}`,
});
/** An IAM change made outside a status change (a lost race put right), kept beside the event of the version it followed. */
export const auditNoteKey = (requestId: string, version: number, noteId: string) => ({
  pk: `REQ#${requestId}` as RequestPk,
  sk: `AUDIT#${String(version).padStart(6, '0')}#${noteId}`,
});
export const linkKey = (userId: string) => ({ pk: `LINK#${userId}` as LinkPk, sk: LINK_SK });
/** Which Slack user an IAM user is pinned to (IAM names are case-insensitive): one-to-one links. */
export const linkedIamKey = (iamUserName: string) => ({ pk: `LINKIAM#${iamUserName.toLowerCase()}` as LinkedIamPk, sk: LINK_SK });
/** One live break-glass grant per IAM user (case-insensitive, as IAM): this item is the guard. */
export const breakGlassLockKey = (iamUserName: string) => ({ pk: `BREAKGLASS#${iamUserName.toLowerCase()}` as const, sk: LOCK_SK });
/** One pending request per IAM user (case-insensitive, as IAM) and level: this item is the guard. */
export const pendingLockKey = (iamUserName: string, level: string) => ({
  pk: `PENDING#${iamUserName.toLowerCase()}#${level}` as PendingLockPk,
  sk: LOCK_SK,
});

/** The month bucket of an ISO time: the same string's first seven characters. */
export const monthOf = (isoTime: string) => isoTime.slice(0, 7);

export const INDEX = {
  byStatusCreated: 'byStatusCreated',
  byStatusExpiry: 'byStatusExpiry',
  byRequester: 'byRequester',
  byIamUser: 'byIamUser',
  byCreatedMonth: 'byCreatedMonth',
  byAuditMonth: 'byAuditMonth',
  byNoticeDue: 'byNoticeDue',
} as const;

/** A weekly-summary period, keyed by the schedule's firing time (the same ISO string). */
export const periodKey = (firingAt: string) => ({ pk: `PERIOD#${firingAt}` as const, sk: PERIOD_SK });
export const installKey = () => ({ pk: 'META#install' as const, sk: META_SK });
/** Audit events not tied to a request (e.g. a hand-added group member removed). */
/** `eventId` keeps two events of one subject at the same instant apart (two links of one user within a clock tick). */
export const looseAuditKey = (subject: string, at: string, eventId: string) => ({ pk: `EVENT#${subject}` as const, sk: `AUDIT#${at}#${eventId}` });
