/**
 * The interfaces the services depend on. Implementations live in src/store,
 * src/aws and src/slack and are wired together in src/deps.ts only.
 */
import type { PolicyVersion } from '../domain/group-policy.js';
import type { IamUserInfo } from '../domain/iam-user.js';
import type { IdentityLink } from '../domain/link.js';
import type { AccessRequest, AuditEvent, RequestStatus } from '../domain/request.js';
import type { RequestChange } from '../domain/transitions.js';
import type { BillingUsage } from '../domain/usage.js';

export interface AuditInput {
  actor: string;
  detail: string;
}

export interface RequestStore {
  /** Stores a new request (made by the domain's `open`: PENDING, or APPROVED for break-glass) and its first audit event.
   * Throws RequestConflictError (current = the other request) if the same IAM user (compared
   * case-insensitively) already has a pending request for the level, or, for break-glass, a live
   * break-glass grant. `update` takes the same slots back on a Retry and frees them when a request leaves them. */
  create(request: AccessRequest, audit: AuditInput): Promise<void>;
  get(id: string): Promise<AccessRequest | undefined>;
  /** Applies a change made by a domain transition (src/domain/transitions.ts) in one write, only if the stored item
   * still has `expected.version` and status, after checking the move is one PRODUCT §2 allows (IllegalTransitionError
   * otherwise); appends the change's audit event. Throws RequestConflictError carrying the current item when another
   * writer got there first. */
  update(expected: AccessRequest, change: RequestChange): Promise<AccessRequest>;
  /** Marks the request's notices delivered (only if nothing changed since its version), after writing any audit event the item still carries. */
  clearNoticeDue(request: AccessRequest): Promise<void>;
  /** Requests whose notices are still due, last changed at or before `before`. */
  listNoticeDue(before: string, limit?: number): Promise<AccessRequest[]>;
  listByRequester(requesterId: string, limit?: number): Promise<AccessRequest[]>;
  listByIamUser(iamUserName: string): Promise<AccessRequest[]>;
  /** Requests in `status`, oldest first, created at or before `createdBefore`. */
  listByStatus(status: RequestStatus, options?: { createdBefore?: string; limit?: number }): Promise<AccessRequest[]>;
  /** Grants in `status` whose expiresAt is at or before `before`, soonest first. */
  listExpiring(status: RequestStatus, before: string, limit?: number): Promise<AccessRequest[]>;
  /** Requests created in [from, to), oldest first: an index query, never a scan. */
  listCreatedBetween(from: string, to: string): Promise<AccessRequest[]>;
  auditEvents(requestId: string): Promise<AuditEvent[]>;
  /** Audit events at or after `since` and before `until` (default: now), page by page. */
  auditEventsSince(since: string, until?: string): AsyncIterable<AuditEvent[]>;
  /** An audit event about no request (a link, a member removed as drift): never rewritten. */
  appendAudit(event: AuditEvent): Promise<void>;
  /** Appends an audit event to a request without changing it: an IAM change made outside a status change (a lost race put right). */
  appendNote(request: AccessRequest, note: AuditInput & { at: string }): Promise<void>;
  getLink(userId: string): Promise<IdentityLink | undefined>;
  /** The link that pins a Slack user to this IAM user (compared case-insensitively), if any. */
  linkHolder(iamUserName: string): Promise<IdentityLink | undefined>;
  /** Pins a Slack user to an IAM user. Throws LinkConflictError carrying the other link when another
   * Slack user is already linked to that IAM user: the mapping is one-to-one. */
  putLink(link: IdentityLink): Promise<void>;
}

export type { IamUserInfo } from '../domain/iam-user.js';
export type { IdentityLink } from '../domain/link.js';

export interface GroupPolicyState {
  attachedPolicyArns: string[];
  inlinePolicyNames: string[];
  /** The expected policy's default version: read when it is customer-managed and attached. */
  expectedVersion?: PolicyVersion;
}

export type RemoveOutcome = 'removed' | 'not-a-member';

/** One group member as the access review sees it, read from IAM. */
export interface MemberReview {
  userName: string;
  /** null: could not be read. */
  mfaDevices: number | null;
  /** Active access keys created more than 90 days ago (their ids). */
  oldActiveKeys: string[] | null;
  hasConsolePassword: boolean | null;
  /** ISO time the console password was last used; undefined = never. */
  passwordLastUsed: string | undefined;
  /** The user's ARN (read with it), for access advisor; undefined when it could not be read. */
  arn?: string | undefined;
}

export interface IamGateway {
  /** undefined: the user does not exist. Throws IamUnavailableError when IAM cannot be read. */
  getUser(userName: string): Promise<IamUserInfo | undefined>;
  /**
   * What a grant rests on, re-read right before it (approval, retry): that the user exists and,
   * with `mfa`, its MFA device count, in one IAM call. The details only the request showed
   * (console password, groups) are not read: null, and not in `notChecked`.
   */
  recheckUser(userName: string, options: { mfa: boolean }): Promise<IamUserInfo | undefined>;
  /** The IAM user whose `email` tag equals the address (cached, paged). Throws AmbiguousMappingError when several are. */
  findUserByEmailTag(email: string): Promise<string | undefined>;
  groupsPerUserQuota(): Promise<number | null>;
  /**
   * A configured group's policies, with the default version of `expectedPolicyArn` (its level's
   * policy, which must be configured) when that is customer-managed and attached.
   */
  groupPolicies(groupName: string, expectedPolicyArn: string): Promise<GroupPolicyState>;
  /** Every member of a configured group (paged). */
  groupMembers(groupName: string): Promise<string[]>;
  /** MFA, access keys and console use of one user: a bounded number of IAM reads. */
  reviewMember(userName: string, now: Date): Promise<MemberReview>;
  addUserToGroup(userName: string, groupName: string): Promise<void>;
  /**
   * Only from a configured group, unless `endingGrant`: then from any group that holds a grant
   * of the bot (the caller read it from the table), so a level removed from BILLING_GROUPS
   * does not strand its holders.
   */
  removeUserFromGroup(userName: string, groupName: string, options?: { endingGrant?: boolean }): Promise<RemoveOutcome>;
  readonly dryRun: boolean;
}

export type { BillingUsage } from '../domain/usage.js';

/** IAM access advisor, for usage evidence (src/aws/access-advisor.ts). */
export interface UsageReader {
  /**
   * When the IAM user last used a billing service. Never throws: what could not be read within
   * `deadlineMs` (the reader's default when not given) is `{ known: false, reason }`. `arn`, when
   * the caller already has it, saves a GetUser. `urgent` reads (an ending grant's notice) go
   * before waiting ones (a review's).
   */
  lastBillingUse(user: { userName: string; arn?: string | undefined }, options?: { deadlineMs?: number; urgent?: boolean }): Promise<BillingUsage>;
}

export interface SlackUserProfile {
  id: string;
  teamId: string;
  email: string | undefined;
  deleted: boolean;
  isRestricted: boolean;
  isUltraRestricted: boolean;
  isBot: boolean;
}

export interface SlackDirectory {
  getUser(userId: string): Promise<SlackUserProfile | undefined>;
  usergroupMembers(usergroupId: string): Promise<string[]>;
}

/** News in a request's admin thread; src/slack/notices.ts has the words. */
export type ThreadNews =
  | { kind: 'expired'; groupName: string }
  | { kind: 'revoked'; by: string; groupName: string }
  | { kind: 'reminder'; hoursLeft: number }
  /** Taken out of a group an ACTIVE grant still needs, and IAM refused to put them back. */
  | { kind: 'put-back-failed'; iamUserName: string; groupName: string; errorName: string };

export interface LinkNotice {
  adminId: string;
  userId: string;
  iamUserName: string;
  /** The IAM user the Slack user was linked to before. */
  previous?: string;
}

/** Everything the bot says about a request outside a direct reply. */
export interface Notifier {
  /** Posts the request to the admin channel; returns where it went. */
  requestPosted(request: AccessRequest, context: { extensionOf?: AccessRequest }): Promise<{ channel: string; ts: string }>;
  /** Re-renders the admin message to match the request's state. */
  requestUpdated(request: AccessRequest): Promise<void>;
  /** Tells the requester what happened to their request. */
  requesterNotified(request: AccessRequest): Promise<void>;
  /** A line of news in the admin message's thread. */
  threadNews(request: AccessRequest, news: ThreadNews): Promise<void>;
  /** Tells an admin privately that a click was refused. */
  clickRefused(target: { channel: string; userId: string }, message: string): Promise<void>;
  directMessage(userId: string, text: string): Promise<void>;
  /** A link made, in the admin channel: it is about no one request. */
  linkMade(link: LinkNotice): Promise<void>;
}

/**
 * A summary period, claimed by one replica before it posts (keyed by the schedule's firing time).
 * The claim is a lease: its claimant renews it while it builds and posts; once it lapses (the
 * claimant died or stalled) any replica may take the period over.
 */
export interface PeriodClaim {
  firingAt: string;
  claimedBy: string;
  /** When its claimant last claimed or renewed it. */
  claimedAt: string;
  /** The lease's end; absent on claims written before leases (those lapse five minutes after claimedAt). */
  leaseUntil?: string;
  posted: boolean;
  postedAt?: string;
}

export interface SummaryStore {
  /** The time the table was first used by a bot: firings before it are never posted. */
  firstStartedAt(now: string): Promise<string>;
  getPeriod(firingAt: string): Promise<PeriodClaim | undefined>;
  /**
   * Claims the unposted period, or renews the claim, with a lease until `leaseUntil`: true if
   * `claimant` now holds it (it was unclaimed, its lease had lapsed before `now`, or `claimant`
   * already held it); false if it is posted or another claimant's lease still runs at `now`.
   */
  claimPeriod(firingAt: string, claimant: string, now: string, leaseUntil: string): Promise<boolean>;
  /** Marks the period posted; throws if `claimant` no longer holds it (another replica took it over). */
  markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
