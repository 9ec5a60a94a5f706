import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { type MemberFinding, median, needsAttention, passwordFinding, periodStats } from '../../src/domain/summary.js';
import { ACTION } from '../../src/slack/ids.js';
import type { SlackMessage } from '../../src/slack/messages.js';
import { MAX_BLOCKS, MAX_TEXT, markKept, renderSummary, textSections } from '../../src/slack/summary-blocks.js';
import { validateBlocks } from '../support/fake-slack.js';
import { blockTexts, buttonsIn, grantIdsIn, isoAt, makeGrant, makeMember, makeReport, makeRequest } from '../support/summary-fixtures.js';

const DAY_MIN = 24 * 60;

/** Checks every Slack limit on every message and returns all of their texts joined. */
function expectWithinLimits(messages: SlackMessage[]): string {
  expect(messages.length).toBeGreaterThan(0);
  for (const [i, m] of messages.entries()) {
    expect(validateBlocks(m.blocks), `message ${i}`).toBeNull();
    expect(m.blocks.length, `message ${i} blocks`).toBeLessThanOrEqual(MAX_BLOCKS);
    expect(m.text.length, `message ${i} fallback text`).toBeGreaterThan(0);
    expect(m.text.length, `message ${i} fallback text`).toBeLessThanOrEqual(MAX_TEXT);
    for (const t of blockTexts(m.blocks)) expect(t.length, `message ${i} text`).toBeLessThanOrEqual(MAX_TEXT);
  }
  return messages.map((m) => blockTexts(m.blocks).join('\n')).join('\n');
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('renderSummary', () => {
  it('renders an empty period as one small message with the header, zeros and "No members." per group', () => {
    const messages = renderSummary(makeReport());
    expect(messages).toHaveLength(1);
    const all = expectWithinLimits(messages);
    const [first] = messages;
    expect(first?.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Weekly billing access summary' } });
    expect(first?.text).toContain('Weekly billing access summary: 0 requests, 0 granted, 0 denied, median decision n/a, 0 active grants, 0 review findings');
    expect(all).toContain('*Requests*\n0');
    expect(all).toContain('*Median time to decision*\nn/a');
    expect(all).toContain('*Active grants*\n0');
    expect(occurrences(all, 'No members.')).toBe(2);
    expect(all).toContain('Access review: read-only (`BillingReadOnly`), 0 members');
    expect(all).toContain('Access review: full (`BillingFull`), 0 members');
    expect(buttonsIn(first?.blocks ?? [])).toEqual([]);
    expect(all).not.toContain('(late)');
  });

  it('names late, on-demand and dry-run summaries in the header and fallback text', () => {
    const late = renderSummary(makeReport({ late: true }))[0];
    expect(late?.text).toMatch(/^Weekly billing access summary \(late\)/);
    expect(blockTexts(late?.blocks ?? [])[0]).toBe('Weekly billing access summary (late)');
    expect(blockTexts(late?.blocks ?? []).join('\n')).toContain('posted late');

    const onDemand = renderSummary(makeReport({ onDemand: true }))[0];
    expect(blockTexts(onDemand?.blocks ?? [])[0]).toBe('Billing access summary (last 7 days)');

    const dry = renderSummary(makeReport({ dryRun: true }));
    expectWithinLimits(dry);
    expect(dry[0]?.text).toMatch(/^\[dry-run\]/);
  });

  describe('a period with 300 active grants and 200 group members with findings', () => {
    const grants = Array.from({ length: 300 }, (_, i) => makeGrant(i + 1));
    const members: MemberFinding[] = Array.from({ length: 200 }, (_, i) => {
      const name = `member.${String(i).padStart(3, '0')}.with-a-fairly-long-iam-user-name`;
      switch (i % 5) {
        case 0:
          return makeMember(name, { mfa: false });
        case 1:
          return makeMember(name, { oldActiveKeys: ['AKIAOLD1', 'AKIAOLD2'] });
        case 2:
          return makeMember(name, { passwordUnused: i % 2 ? 'never' : 'stale' });
        case 3:
          return makeMember(name, { drift: true, removed: i % 2 === 0 });
        default:
          return makeMember(name, { mfa: null, error: 'could not remove: AccessDenied' });
      }
    });
    const pending = Array.from({ length: 60 }, (_, i) =>
      makeRequest({ id: `01HZYPEND${String(i).padStart(17, '0')}`, adminMessage: { channel: 'CADMIN', ts: `1700000000.${String(i).padStart(6, '0')}` } }),
    );
    const report = makeReport({
      stats: periodStats(grants),
      activeGrants: grants,
      expiringSoon: grants.slice(0, 80),
      stalePending: pending,
      groups: [
        {
          level: 'read-only',
          groupName: 'BillingReadOnly',
          members: members.slice(0, 120),
          policyProblems: ['unexpected managed policies: arn:aws:iam::aws:policy/AdministratorAccess'],
        },
        { level: 'full', groupName: 'BillingFull', members: members.slice(120), policyProblems: [] },
      ],
    });
    const messages = renderSummary(report, { teamUrl: 'https://fake-workspace.slack.com/' });

    it('fits every message within Slack limits, splitting into several messages', () => {
      expectWithinLimits(messages);
      expect(messages.length).toBeGreaterThan(1);
      expect(blockTexts(messages[0]?.blocks ?? [])[0]).toBe('Weekly billing access summary');
      messages.slice(1).forEach((m, i) => {
        expect(m.text).toBe(`Weekly billing access summary (continued, part ${i + 2} of ${messages.length})`);
        expect(blockTexts(m.blocks)[0]).toBe(`Continued (${i + 2}/${messages.length})`);
      });
    });

    it('shows each of the 300 grants exactly once, with its own Keep and Revoke buttons beside it', () => {
      const seen = messages.flatMap((m) => grantIdsIn(m.blocks));
      expect(seen).toHaveLength(300);
      expect(new Set(seen)).toEqual(new Set(grants.map((g) => g.id)));
      const allButtons = messages.flatMap((m) => buttonsIn(m.blocks));
      expect(allButtons).toHaveLength(600);
      for (const message of messages) {
        const buttons = buttonsIn(message.blocks);
        for (const id of grantIdsIn(message.blocks)) {
          const mine = buttons.filter((b) => b.blockId === `review_${id}`);
          expect(mine).toEqual([
            { label: 'Keep', actionId: ACTION.keep, value: id, blockId: `review_${id}` },
            { label: 'Revoke', actionId: ACTION.revoke, value: id, blockId: `review_${id}` },
          ]);
        }
      }
    });

    it('cuts nothing off: every member, finding, pending link and expiring grant appears', () => {
      const all = messages.map((m) => blockTexts(m.blocks).join('\n')).join('\n');
      for (const m of members) expect(occurrences(all, `\`${m.userName}\``), m.userName).toBe(1);
      expect(occurrences(all, ':warning: no MFA')).toBe(40);
      expect(occurrences(all, 'active access key(s) older than 90 days')).toBe(40);
      expect(occurrences(all, 'console password never used') + occurrences(all, 'console password unused for 90+ days')).toBe(40);
      expect(occurrences(all, '*removed from the group* (DRIFT_POLICY=remove)') + occurrences(all, '*no active grant from the bot* (added by hand)')).toBe(40);
      expect(all).toContain('policy drift: unexpected managed policies: arn:aws:iam::aws:policy/AdministratorAccess');
      for (const p of pending) expect(all).toContain(`|${p.id}>`);
      expect(all).toContain('https://fake-workspace.slack.com/archives/CADMIN/p1700000000000000|');
      expect(occurrences(all, ' expires <!date^')).toBe(80);
      expect(all).toContain('*Review findings*\n200 (40 without a grant)');
      expect(all).toContain('*Active grants*\n300');
      expect(all).not.toContain('…');
    });
  });

  it('markKept replaces only that grant’s buttons with "Kept by <@U…>"', () => {
    const grants = [makeGrant(1), makeGrant(2), makeGrant(3)];
    const [message] = renderSummary(makeReport({ activeGrants: grants }));
    const blocks = message?.blocks ?? [];
    const target = grants[1] as AccessRequest;
    const kept = markKept(blocks, target.id, 'U0ADMIN2', '2030-03-05T10:00:00.000Z');
    expect(kept).toHaveLength(blocks.length);
    expect(validateBlocks(kept)).toBeNull();
    const changed = kept.flatMap((b, i) => (JSON.stringify(b) === JSON.stringify(blocks[i]) ? [] : [i]));
    expect(changed).toHaveLength(1);
    const replaced = kept[changed[0] as number] as KnownBlock & { elements: { text: string }[] };
    expect(replaced.type).toBe('context');
    expect(replaced.block_id).toBe(`review_${target.id}`);
    expect(replaced.elements[0]?.text).toMatch(/^:white_check_mark: Kept by <@U0ADMIN2> <!date\^\d+\^/);
    expect(buttonsIn(kept).map((b) => b.value)).toEqual([grants[0]?.id, grants[0]?.id, grants[2]?.id, grants[2]?.id]);
    expect(markKept(blocks, 'NOT-A-GRANT', 'U0ADMIN2', '2030-03-05T10:00:00.000Z')).toEqual(blocks);
  });

  it('shows a grant reviewed earlier as kept in later summaries', () => {
    const [message] = renderSummary(makeReport({ activeGrants: [makeGrant(1, { reviewedBy: 'U0ADMIN3', reviewedAt: isoAt(60) })] }));
    expect(blockTexts(message?.blocks ?? []).join('\n')).toContain('kept by <@U0ADMIN3>');
  });
});

describe('textSections', () => {
  it('splits many lines into sections of at most 3000 characters, in order, losing none', () => {
    const lines = Array.from({ length: 120 }, (_, i) => `• line ${String(i).padStart(3, '0')} ${'x'.repeat(90)}`);
    const chunks = textSections(lines, 'Heading');
    expect(chunks.length).toBeGreaterThan(3);
    const texts = chunks.map((c) => {
      expect(c).toHaveLength(1);
      expect(validateBlocks(c)).toBeNull();
      return (c[0] as { text: { text: string } }).text.text;
    });
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(MAX_TEXT);
    expect(texts[0]?.startsWith('*Heading*\n')).toBe(true);
    expect(texts.slice(1).some((t) => t.includes('*Heading*'))).toBe(false);
    expect(texts.join('\n').split('\n')).toEqual(['*Heading*', ...lines]);
  });

  it('keeps a single over-long line within the limit and marks the cut visibly', () => {
    const long = `start ${'y'.repeat(5000)} end`;
    const chunks = textSections(['short', long, 'after']);
    const texts = chunks.map((c) => (c[0] as { text: { text: string } }).text.text);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(MAX_TEXT);
    const cut = texts.join('\n').split('\n');
    expect(cut[0]).toBe('short');
    expect(cut[1]?.startsWith('start ')).toBe(true);
    expect(cut[1]?.endsWith('…')).toBe(true);
    expect(cut[2]).toBe('after');
  });

  it('renders nothing for no lines and no heading', () => {
    expect(textSections([])).toEqual([]);
    expect(textSections([], 'Only a heading')).toEqual([[{ type: 'section', text: { type: 'mrkdwn', text: '*Only a heading*' } }]]);
  });
});

describe('periodStats and median', () => {
  it('median of odd and even counts, unsorted input left untouched; null for none', () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    const odd = [30, 10, 20];
    expect(median(odd)).toBe(20);
    expect(odd).toEqual([30, 10, 20]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 90, 30, 50])).toBe(40);
  });

  const requester = 'U0EMPLOYEE';
  const seeded: AccessRequest[] = [
    makeRequest({ id: 'A', status: 'ACTIVE', createdAt: isoAt(0), decidedBy: 'U0ADMIN1', decidedAt: isoAt(10) }),
    makeRequest({ id: 'B', status: 'DENIED', createdAt: isoAt(100), decidedBy: 'U0ADMIN2', decidedAt: isoAt(130) }),
    makeRequest({ id: 'C', status: 'EXPIRED', createdAt: isoAt(200), decidedBy: 'U0ADMIN1', decidedAt: isoAt(250) }),
    makeRequest({ id: 'D', status: 'CANCELLED', createdAt: isoAt(300), decidedBy: requester, decidedAt: isoAt(301) }),
    makeRequest({ id: 'E', status: 'TIMED_OUT', createdAt: isoAt(400), decidedBy: 'system', decidedAt: isoAt(400 + DAY_MIN) }),
    makeRequest({ id: 'F', status: 'ACTIVE', breakGlass: true, createdAt: isoAt(500), decidedBy: requester, decidedAt: isoAt(500) }),
    makeRequest({ id: 'G', status: 'PENDING', createdAt: isoAt(600) }),
  ];

  it('counts by outcome; the median counts admin decisions only (an odd count)', () => {
    const stats = periodStats(seeded);
    expect(stats.total).toBe(7);
    expect(stats.byStatus).toEqual({ ACTIVE: 2, DENIED: 1, EXPIRED: 1, CANCELLED: 1, TIMED_OUT: 1, PENDING: 1 });
    expect(stats.medianDecisionMinutes).toBe(30);
    expect(stats.breakGlass.map((r) => r.id)).toEqual(['F']);
  });

  it('the median of an even number of admin decisions is the mean of the middle two', () => {
    const stats = periodStats([...seeded, makeRequest({ id: 'H', status: 'REVOKED', createdAt: isoAt(700), decidedBy: 'U0ADMIN3', decidedAt: isoAt(790) })]);
    expect(stats.total).toBe(8);
    expect(stats.byStatus.REVOKED).toBe(1);
    expect(stats.medianDecisionMinutes).toBe(40);
  });

  it('has no median when nothing was decided by an admin', () => {
    const stats = periodStats(seeded.filter((r) => ['D', 'E', 'F', 'G'].includes(r.id)));
    expect(stats.medianDecisionMinutes).toBeNull();
    expect(periodStats([])).toEqual({ total: 0, byStatus: {}, medianDecisionMinutes: null, breakGlass: [] });
  });

  it('renders the counts and median it computed', () => {
    const [message] = renderSummary(makeReport({ stats: periodStats(seeded) }));
    const all = blockTexts(message?.blocks ?? []).join('\n');
    expect(all).toContain('*Requests*\n7');
    expect(all).toContain('*Granted / denied*\n3 / 1');
    expect(all).toContain('*Median time to decision*\n30 min');
    expect(all).toContain('• timed out: 1');
    expect(all).toContain('• cancelled: 1');
    expect(all).toContain('Break-glass uses');
    const hours = renderSummary(makeReport({ stats: { ...periodStats([]), medianDecisionMinutes: 150 } }))[0];
    expect(blockTexts(hours?.blocks ?? []).join('\n')).toContain('*Median time to decision*\n2.5 h');
  });
});

describe('passwordFinding', () => {
  const now = new Date('2030-06-01T00:00:00.000Z');
  const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString();

  it('flags a console password never used, or unused for 90 days or more', () => {
    expect(passwordFinding(true, undefined, now)).toBe('never');
    expect(passwordFinding(true, daysAgo(90), now)).toBe('stale');
    expect(passwordFinding(true, daysAgo(400), now)).toBe('stale');
  });

  it('does not flag a recently used password, no password, or one that could not be read', () => {
    expect(passwordFinding(true, daysAgo(89), now)).toBeNull();
    expect(passwordFinding(true, daysAgo(0), now)).toBeNull();
    expect(passwordFinding(false, undefined, now)).toBeNull();
    expect(passwordFinding(null, undefined, now)).toBeNull();
  });

  it('needsAttention picks out the members with a finding', () => {
    expect(needsAttention(makeMember('ok'))).toBe(false);
    expect(needsAttention(makeMember('unchecked', { mfa: null }))).toBe(false);
    expect(needsAttention(makeMember('a', { mfa: false }))).toBe(true);
    expect(needsAttention(makeMember('b', { oldActiveKeys: ['AKIA'] }))).toBe(true);
    expect(needsAttention(makeMember('c', { passwordUnused: 'never' }))).toBe(true);
    expect(needsAttention(makeMember('d', { drift: true }))).toBe(true);
    expect(needsAttention(makeMember('e', { error: 'x' }))).toBe(true);
  });
});
