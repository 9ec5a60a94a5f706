/**
 * The grant rules (PRODUCT §1-§3), checked against the real table and the IAM world after
 * every step of the model-based test. Each check is written from the rules, not from the
 * services' code: who counts as an admin, what an IAM user is reached by, and which status
 * moves exist are worked out here again.
 */
import { expect } from 'vitest';
import { iamUserKey, sameIamUser } from '../../../src/domain/iam-user.js';
import { type AccessRequest, type AuditEvent, canTransition, DAY_MS, type RequestStatus } from '../../../src/domain/request.js';
import { ACTORS, type Actor, BREAK_GLASS_HOURS, MAX_DAYS, type World } from './world.js';

const HOUR_MS = 3_600_000;
const ADMINS = new Set((Object.values(ACTORS) as Actor[]).filter((a) => a.admin).map((a) => a.id));

/** The IAM users a Slack user reaches: a pinned link, and the local part of an email in corp.com. */
async function iamUsersOf(world: World, slackId: string): Promise<string[]> {
  const names: string[] = [];
  const link = await world.store.getLink(slackId);
  if (link) names.push(link.iamUserName);
  const email = (Object.values(ACTORS) as Actor[]).find((a) => a.id === slackId)?.email.toLowerCase();
  if (email?.endsWith('@corp.com')) names.push(email.slice(0, email.indexOf('@')));
  return names;
}

const statusChanges = (events: AuditEvent[]) => events.filter((e) => e.from !== e.to);

/** Every status change has exactly one audit event, and together they walk PRODUCT §2 from the first status to the current one. */
function checkAuditChain(request: AccessRequest, events: AuditEvent[]): void {
  const changes = statusChanges(events);
  const where = `request ${request.id} audit ${JSON.stringify(changes.map((e) => [e.from, e.to]))}`;
  expect(changes[0]?.from ?? null, where).toBeNull();
  expect(['PENDING', 'APPROVED'], where).toContain(changes[0]?.to);
  if (changes[0]?.to === 'APPROVED') expect(request.breakGlass, `${where}: only break-glass starts APPROVED`).toBe(true);
  for (let i = 1; i < changes.length; i++) {
    const { from, to } = changes[i] as AuditEvent;
    expect(from, where).toBe(changes[i - 1]?.to);
    expect(canTransition(from as RequestStatus, to as RequestStatus), `${where}: ${from} → ${to}`).toBe(true);
  }
  expect(changes.at(-1)?.to, where).toBe(request.status);
}

/** When the grant became ACTIVE (its APPROVED → ACTIVE event). */
function grantedAt(request: AccessRequest, events: AuditEvent[]): string {
  const event = events.find((e) => e.from === 'APPROVED' && e.to === 'ACTIVE');
  expect(event, `ACTIVE request ${request.id} has no APPROVED → ACTIVE event`).toBeDefined();
  return event?.at ?? '';
}

/** Approved by enough distinct admins, none of them the requester by Slack id. */
function checkApprovals(request: AccessRequest, world: World): void {
  const where = `request ${request.id} approvals ${JSON.stringify(request.approverIds)}`;
  const required = request.level === 'full' ? 2 : 1;
  expect(request.approvalsRequired, where).toBe(required);
  expect(new Set(request.approverIds).size, where).toBe(request.approverIds.length);
  expect(request.approverIds.length, where).toBeGreaterThanOrEqual(required);
  for (const by of request.approverIds) {
    expect(ADMINS.has(by), `${where}: ${by} is not an admin`).toBe(true);
    expect(by, where).not.toBe(request.requesterId);
  }
  expect(world.config.levels.some((l) => l.level === request.level && l.groupName === request.groupName)).toBe(true);
}

/** An ACTIVE grant was approved (or is break-glass within its hours), and its expiry is within its cap. */
async function checkActiveGrant(world: World, grant: AccessRequest, events: AuditEvent[], byId: Map<string, AccessRequest>): Promise<void> {
  const granted = Date.parse(grantedAt(grant, events));
  const expires = Date.parse(grant.expiresAt ?? '');
  const where = `grant ${grant.id} (${grant.breakGlass ? 'break-glass' : `${grant.durationDays}d`}) granted ${new Date(granted).toISOString()} expires ${grant.expiresAt}`;
  expect(Number.isNaN(expires), where).toBe(false);
  let cap = grant.breakGlass ? granted + BREAK_GLASS_HOURS * HOUR_MS : granted + grant.durationDays * DAY_MS;
  if (grant.breakGlass) {
    expect(grant.approverIds, where).toEqual([grant.requesterId]);
  } else {
    checkApprovals(grant, world);
  }
  for (const extensionId of grant.appliedExtensions ?? []) {
    const extension = byId.get(extensionId);
    expect(extension?.status, `${where}: applied extension ${extensionId}`).toBe('EXTENDED');
    if (!extension) continue;
    checkApprovals(extension, world);
    const extendedAt = (await world.store.auditEvents(extension.id)).find((e) => e.to === 'EXTENDED')?.at ?? '';
    cap = Math.max(cap, Date.parse(extendedAt) + MAX_DAYS * DAY_MS);
  }
  expect(expires, where).toBeLessThanOrEqual(cap);
}

/**
 * Checked when an approval first appears: the approver's own IAM user is not the grantee's, the
 * approver did not link the requester to it, and no person counts twice (two approvers never
 * reach one IAM user).
 */
async function checkNewApprovals(world: World, request: AccessRequest): Promise<void> {
  const seen = world.approvalsChecked.get(request.id) ?? 0;
  if (request.breakGlass || request.approvals.length <= seen) return;
  const link = await world.store.getLink(request.requesterId);
  const linkedBy = [request.linkedBy, link && sameIamUser(link.iamUserName, request.iamUserName) ? link.linkedBy : undefined];
  const earlier = await Promise.all(request.approvals.slice(0, seen).map((a) => iamUsersOf(world, a.by)));
  for (const { by } of request.approvals.slice(seen)) {
    const own = await iamUsersOf(world, by);
    const where = `request ${request.id} for ${request.iamUserName} approved by ${by}, who reaches ${JSON.stringify(own)}`;
    expect(
      own.some((u) => sameIamUser(u, request.iamUserName)),
      where,
    ).toBe(false);
    expect(by, where).not.toBe(request.requesterId);
    expect(linkedBy, `${where}: they linked the requester to it`).not.toContain(by);
    for (const theirs of earlier)
      expect(
        own.some((u) => theirs.some((t) => sameIamUser(u, t))),
        `${where}: one person counted twice`,
      ).toBe(false);
    earlier.push(own);
  }
  world.approvalsChecked.set(request.id, request.approvals.length);
}

/** The rules a grant rests on, checked when it first shows as ACTIVE: nothing in the world can change within one step. */
async function checkNewGrant(world: World, grant: AccessRequest): Promise<void> {
  if (world.grantsChecked.has(grant.id)) return;
  world.grantsChecked.add(grant.id);
  const where = `grant ${grant.id} of ${grant.iamUserName} to ${grant.requesterId}`;
  const profile = await world.directory.getUser(grant.requesterId);
  expect(profile?.deleted, `${where}: requester deactivated`).toBe(false);
  expect(profile?.isRestricted, `${where}: requester is a guest`).toBe(false);
  expect(profile?.email?.toLowerCase().endsWith('@corp.com'), `${where}: requester's email is outside the allowed domain`).toBe(true);
  const reached = await iamUsersOf(world, grant.requesterId);
  const link = await world.store.getLink(grant.requesterId);
  // A pinned link wins over the email; either way the grant is for the IAM user the requester resolves to now.
  expect(sameIamUser(link?.iamUserName ?? reached[0] ?? '', grant.iamUserName), `${where}: requester resolves to ${JSON.stringify(reached)}`).toBe(true);
  expect(world.iam.hasMfa(grant.iamUserName), `${where}: IAM user has no MFA (REQUIRE_MFA=block)`).toBe(true);
}

export interface CheckOptions {
  /** The step was a sweep during which no IAM fault fired: the table and IAM must now agree. */
  cleanSweep: boolean;
}

export async function checkInvariants(world: World, options: CheckOptions): Promise<void> {
  const all = await world.allRequests();
  const byId = new Map(all.map((r) => [r.id, r]));
  const now = world.clock.now().getTime();
  const events = new Map<string, AuditEvent[]>();
  for (const request of all) {
    const trail = await world.store.auditEvents(request.id);
    events.set(request.id, trail);
    checkAuditChain(request, trail);
    await checkNewApprovals(world, request);
    if (request.status === 'ACTIVE') {
      await checkActiveGrant(world, request, trail, byId);
      await checkNewGrant(world, request);
    }
  }

  // One pending request per IAM user (as IAM compares names) and level; one live break-glass grant per IAM user.
  const pendingKeys = all.filter((r) => r.status === 'PENDING').map((r) => `${iamUserKey(r.iamUserName)} ${r.level}`);
  expect(new Set(pendingKeys).size, `two pending requests for one IAM user and level: ${pendingKeys.join(', ')}`).toBe(pendingKeys.length);
  const breakGlass = all.filter((r) => r.breakGlass && r.status === 'ACTIVE' && !(r.appliedExtensions ?? []).length).map((r) => iamUserKey(r.iamUserName));
  expect(new Set(breakGlass).size, `two live break-glass grants for one IAM user: ${breakGlass.join(', ')}`).toBe(breakGlass.length);

  // Every member the bot put in a billing group has a grant for it: ACTIVE, or one whose IAM outcome is still being settled.
  for (const [groupName, members] of world.iam.members) {
    for (const [userKey, provenance] of members) {
      if (provenance !== 'bot') continue;
      const explained = all.some(
        (r) =>
          sameIamUser(r.iamUserName, userKey) &&
          r.groupName === groupName &&
          (r.status === 'ACTIVE' || (!options.cleanSweep && (r.status === 'APPROVED' || (r.status === 'FAILED' && r.failure?.membershipUnknown)))),
      );
      expect(explained, `${userKey} is in ${groupName} by the bot's hand without an ACTIVE grant`).toBe(true);
    }
  }

  if (!options.cleanSweep) return;
  for (const grant of all.filter((r) => r.status === 'ACTIVE')) {
    const where = `after a clean sweep, grant ${grant.id} of ${grant.iamUserName} in ${grant.groupName}`;
    expect(Date.parse(grant.expiresAt ?? ''), `${where} is past its expiry`).toBeGreaterThan(now);
    expect(grant.endDue, `${where} still owes its revoke`).toBeUndefined();
    const since = grantedAt(grant, events.get(grant.id) ?? []);
    const handRemoved = world.iam.handRemovals.some((h) => h.userKey === iamUserKey(grant.iamUserName) && h.groupName === grant.groupName && h.at >= since);
    const putBackFailed = (events.get(grant.id) ?? []).some((e) => e.detail.includes('could not re-add'));
    if (!handRemoved && !putBackFailed) {
      expect(world.iam.isMember(grant.iamUserName, grant.groupName), `${where}: the table says ACTIVE, IAM says not a member`).toBe(true);
    }
  }
  for (const failed of all.filter((r) => r.status === 'FAILED')) {
    expect(failed.failure?.membershipUnknown, `after a clean sweep, FAILED ${failed.id} still has an unsettled add`).toBeUndefined();
  }
}
