/**
 * Pure builders for weekly-summary tests: access requests, member findings and reports,
 * plus readers that pull grants, buttons and texts back out of rendered Slack blocks.
 */
import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../../src/domain/request.js';
import { type MemberFinding, periodStats } from '../../src/domain/summary.js';
import type { SummaryReport } from '../../src/services/summary-service.js';
import { buildRequest } from './requests.js';

const BASE_TIME = Date.parse('2030-03-04T09:00:00.000Z');
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A 26-character ULID-shaped id, distinct and sortable by `n`. */
export function fakeId(n: number): string {
  let tail = '';
  let rest = n;
  do {
    tail = CROCKFORD[rest % 32] + tail;
    rest = Math.floor(rest / 32);
  } while (rest > 0);
  return `01HZY${tail.padStart(21, '0')}`;
}

export const isoAt = (minutesFromBase: number) => new Date(BASE_TIME + minutesFromBase * 60_000).toISOString();

export function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return buildRequest({ id: fakeId(1), createdAt: isoAt(0), ...overrides });
}

/** An ACTIVE grant number `n`, held by its own Slack and IAM user. */
export function makeGrant(n: number, overrides: Partial<AccessRequest> = {}): AccessRequest {
  const createdAt = isoAt(n);
  return makeRequest({
    id: fakeId(n),
    status: 'ACTIVE',
    requesterId: `U0HOLDER${String(n).padStart(4, '0')}`,
    requesterEmail: `holder.${n}@corp.com`,
    iamUserName: `holder.${n}`,
    createdAt,
    decidedBy: 'U0ADMIN1',
    decidedAt: isoAt(n + 10),
    approvals: [{ by: 'U0ADMIN1', at: isoAt(n + 10) }],
    approverIds: ['U0ADMIN1'],
    expiresAt: isoAt(n + 7 * 24 * 60),
    version: 3,
    updatedAt: isoAt(n + 10),
    ...overrides,
  });
}

export function makeMember(userName: string, overrides: Partial<MemberFinding> = {}): MemberFinding {
  return { userName, grantIds: [], mfa: true, oldActiveKeys: [], passwordUnused: null, drift: false, removed: false, ...overrides };
}

export function makeReport(overrides: Partial<SummaryReport> = {}): SummaryReport {
  return {
    from: '2030-02-25T09:00:00.000Z',
    to: '2030-03-04T09:00:00.000Z',
    generatedAt: '2030-03-04T09:00:05.000Z',
    late: false,
    onDemand: false,
    stats: periodStats([]),
    stalePending: [],
    stalePendingHours: 12,
    expiringSoon: [],
    activeGrants: [],
    groups: [
      { level: 'read-only', groupName: 'BillingReadOnly', members: [], policyProblems: [] },
      { level: 'full', groupName: 'BillingFull', members: [], policyProblems: [] },
    ],
    driftPolicy: 'report',
    dryRun: false,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------
// Reading rendered blocks
// ---------------------------------------------------------------------------

type AnyBlock = {
  type?: string;
  block_id?: string;
  text?: { type?: string; text?: string };
  fields?: { text?: string }[];
  elements?: { type?: string; text?: string | { text?: string }; action_id?: string; value?: string }[];
};

/** Every text string in the blocks (section texts and fields, context elements, headers, button labels). */
export function blockTexts(blocks: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const raw of blocks as AnyBlock[]) {
    if (raw.text?.text !== undefined) out.push(raw.text.text);
    for (const f of raw.fields ?? []) if (f.text !== undefined) out.push(f.text);
    for (const e of raw.elements ?? []) {
      if (typeof e.text === 'string') out.push(e.text);
      else if (e.text?.text !== undefined) out.push(e.text.text);
    }
  }
  return out;
}

export interface RenderedButton {
  label: string;
  actionId: string;
  value: string;
  blockId: string;
}

export function buttonsIn(blocks: readonly unknown[]): RenderedButton[] {
  const out: RenderedButton[] = [];
  for (const raw of blocks as AnyBlock[]) {
    if (raw.type !== 'actions') continue;
    for (const e of raw.elements ?? []) {
      if (e.type !== 'button') continue;
      const label = typeof e.text === 'string' ? e.text : (e.text?.text ?? '');
      out.push({ label, actionId: e.action_id ?? '', value: e.value ?? '', blockId: raw.block_id ?? '' });
    }
  }
  return out;
}

/** The ids of grants shown by a `grant_<id>` section in these blocks. */
export function grantIdsIn(blocks: readonly unknown[]): string[] {
  return (blocks as AnyBlock[]).flatMap((b) => (b.type === 'section' && b.block_id?.startsWith('grant_') ? [b.block_id.slice('grant_'.length)] : []));
}

export function asKnownBlocks(blocks: readonly unknown[] | undefined): KnownBlock[] {
  return (blocks ?? []) as KnownBlock[];
}
