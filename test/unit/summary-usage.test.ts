/**
 * Usage evidence, pure: the unused-grant rule (USAGE_GRACE_HOURS, 30 days, unknown never taken for
 * unused), what an ended grant's notices say, and how the summary shows it: the finding beside its
 * grant's Revoke button, unused grants first, the headline count, and Slack's limits kept.
 */
import { describe, expect, it } from 'vitest';
import { type BillingUsage, isUnusedGrant, judgeGrantUsage, UNUSED_AFTER_DAYS, useWhileGranted } from '../../src/domain/usage.js';
import { ACTION } from '../../src/slack/ids.js';
import { adminRequestMessage, requesterMessage } from '../../src/slack/messages.js';
import { MAX_BLOCKS, renderSummary } from '../../src/slack/summary-blocks.js';
import { validateBlocks } from '../support/fake-slack.js';
import { blockTexts, buttonsIn, grantIdsIn, makeGrant, makeMember, makeReport } from '../support/summary-fixtures.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GRANTED = '2030-03-01T09:00:00.000Z';
const grant = { createdAt: '2030-03-01T08:00:00.000Z', decidedAt: GRANTED };
const since = (ms: number) => new Date(Date.parse(GRANTED) + ms);
const iso = (ms: number) => since(ms).toISOString();
const never: BillingUsage = { known: true };
const usedAt = (ms: number): BillingUsage => ({ known: true, lastUsedAt: iso(ms), service: 'ce' });

describe('judgeGrantUsage: the unused-grant rule', () => {
  it('a grant never used is not a finding within USAGE_GRACE_HOURS, and is one after', () => {
    expect(judgeGrantUsage(grant, never, since(23 * HOUR), 24)).toEqual({ state: 'new' });
    expect(judgeGrantUsage(grant, never, since(24 * HOUR), 24)).toEqual({ state: 'never-used', grantedAt: GRANTED });
    expect(judgeGrantUsage(grant, never, since(5 * HOUR), 4)).toEqual({ state: 'never-used', grantedAt: GRANTED });
    expect(judgeGrantUsage(grant, never, since(1), 0)).toEqual({ state: 'never-used', grantedAt: GRANTED });
  });

  it('a use before the grant began does not count for it (a break-glass grant begins when it was made)', () => {
    const before = usedAt(-10 * DAY);
    expect(judgeGrantUsage(grant, before, since(2 * DAY), 24)).toEqual({ state: 'never-used', grantedAt: GRANTED, lastUsedAt: iso(-10 * DAY) });
    expect(judgeGrantUsage(grant, before, since(HOUR), 24)).toEqual({ state: 'new', lastUsedAt: iso(-10 * DAY) });
    const breakGlass = { createdAt: iso(-20 * DAY) };
    expect(judgeGrantUsage(breakGlass, before, since(0), 24)).toEqual({ state: 'used', lastUsedAt: iso(-10 * DAY) });
  });

  it(`used while granted is fine until ${UNUSED_AFTER_DAYS} days without a use`, () => {
    expect(judgeGrantUsage(grant, usedAt(HOUR), since(2 * HOUR), 24)).toEqual({ state: 'used', lastUsedAt: iso(HOUR) });
    expect(judgeGrantUsage(grant, usedAt(DAY), since(30 * DAY), 24)).toEqual({ state: 'used', lastUsedAt: iso(DAY) });
    expect(judgeGrantUsage(grant, usedAt(DAY), since(31 * DAY), 24)).toEqual({ state: 'stale', lastUsedAt: iso(DAY), days: 30 });
    expect(judgeGrantUsage(grant, usedAt(DAY), since(41 * DAY), 24)).toEqual({ state: 'stale', lastUsedAt: iso(DAY), days: 40 });
  });

  it('what access advisor could not tell stays unknown, never unused, however old the grant', () => {
    const unknown: BillingUsage = { known: false, reason: 'IAM throttled GetServiceLastAccessedDetails (Throttling), after retries' };
    const judged = judgeGrantUsage(grant, unknown, since(400 * DAY), 24);
    expect(judged).toEqual({ state: 'unknown', reason: unknown.reason });
    expect(isUnusedGrant(judged)).toBe(false);
  });

  it('only never-used and stale are findings', () => {
    expect(isUnusedGrant({ state: 'never-used', grantedAt: GRANTED })).toBe(true);
    expect(isUnusedGrant({ state: 'stale', lastUsedAt: GRANTED, days: 31 })).toBe(true);
    expect(isUnusedGrant({ state: 'new' })).toBe(false);
    expect(isUnusedGrant({ state: 'used', lastUsedAt: GRANTED })).toBe(false);
    expect(isUnusedGrant(undefined)).toBe(false);
  });
});

describe('the end notices say whether the access was used', () => {
  it('useWhileGranted: used since the grant began, not used, or unknown', () => {
    expect(useWhileGranted(grant, usedAt(HOUR))).toEqual({ state: 'used', lastUsedAt: iso(HOUR) });
    expect(useWhileGranted(grant, usedAt(-HOUR))).toEqual({ state: 'not-used' });
    expect(useWhileGranted(grant, never)).toEqual({ state: 'not-used' });
    expect(useWhileGranted(grant, { known: false, reason: 'x' })).toEqual({ state: 'unknown' });
  });

  const ended = (status: 'EXPIRED' | 'REVOKED', usage?: BillingUsage) =>
    makeGrant(1, { status, decidedAt: GRANTED, endedAt: iso(7 * DAY), endedBy: status === 'EXPIRED' ? 'system' : 'U0ADMIN2', ...(usage ? { usage } : {}) });

  it('the requester’s DM: last used when, not used while granted, or usage unknown without AWS’s words', () => {
    const used = requesterMessage(ended('EXPIRED', usedAt(2 * DAY)));
    expect(used.text).toContain('has expired and was removed. Billing services were last used <!date^');
    expect(requesterMessage(ended('REVOKED', never)).text).toContain('Billing services were not used while it was granted');
    const unknown = requesterMessage(ended('REVOKED', { known: false, reason: 'the bot may not call iam:GenerateServiceLastAccessedDetails (AccessDenied)' }));
    expect(unknown.text).toContain('Billing usage unknown: IAM access advisor could not be read.');
    expect(unknown.text).not.toContain('AccessDenied');
    // Not read (an older grant, or no reader): nothing said.
    expect(requesterMessage(ended('EXPIRED')).text).not.toMatch(/Billing (services|usage)/);
  });

  it('the admin message of an ended grant says it too, with why usage is unknown', () => {
    const text = (usage: BillingUsage) => blockTexts(adminRequestMessage(ended('EXPIRED', usage)).blocks).join('\n');
    expect(text(never)).toContain('Billing services were not used while it was granted');
    expect(text({ known: false, reason: 'the access advisor job failed (InternalFailure: x)' })).toContain(
      'Billing usage unknown: the access advisor job failed (InternalFailure: x).',
    );
    expect(blockTexts(adminRequestMessage(ended('EXPIRED')).blocks).join('\n')).not.toMatch(/Billing (services|usage)/);
  });
});

describe('renderSummary with usage evidence', () => {
  const now = new Date('2030-04-15T09:00:00.000Z');
  const grants = [1, 2, 3, 4].map((n) => makeGrant(n, { decidedAt: '2030-03-04T09:00:00.000Z' }));
  const [used, neverUsed, stale, unknown] = grants as [
    ReturnType<typeof makeGrant>,
    ReturnType<typeof makeGrant>,
    ReturnType<typeof makeGrant>,
    ReturnType<typeof makeGrant>,
  ];
  const usageOf: Record<string, BillingUsage> = {
    [used.id]: { known: true, lastUsedAt: '2030-04-14T09:00:00.000Z' },
    [neverUsed.id]: { known: true },
    [stale.id]: { known: true, lastUsedAt: '2030-03-05T09:00:00.000Z' },
    [unknown.id]: { known: false, reason: 'the access advisor job failed (InternalFailure: <b>)' },
  };
  const report = makeReport({
    generatedAt: now.toISOString(),
    activeGrants: grants,
    groups: [
      {
        level: 'read-only',
        groupName: 'BillingReadOnly',
        policyProblems: [],
        members: grants.map((g) => makeMember(g.iamUserName, { grantIds: [g.id], usage: usageOf[g.id], unusedGrant: g === neverUsed || g === stale })),
      },
    ],
    usage: { graceHours: 24, grants: Object.fromEntries(grants.map((g) => [g.id, judgeGrantUsage(g, usageOf[g.id] as BillingUsage, now, 24)])) },
  });

  it('counts the unused grants in the headline, with those whose usage is unknown', () => {
    const [first] = renderSummary(report);
    expect(blockTexts(first?.blocks ?? []).join('\n')).toContain('*Unused grants*\n2 (usage unknown for 1)');
  });

  it('puts each finding in its grant’s section, right above its Keep and Revoke buttons, unused grants first', () => {
    const [first] = renderSummary(report);
    const blocks = first?.blocks ?? [];
    expect(grantIdsIn(blocks)).toEqual([neverUsed.id, stale.id, used.id, unknown.id]);
    const section = (id: string) => blockTexts(blocks.filter((b) => b.block_id === `grant_${id}`)).join('\n');
    expect(section(neverUsed.id)).toMatch(/:warning: \*unused\*: billing services not used since it was granted <!date\^[^>]+> \(never used\)/);
    expect(section(stale.id)).toMatch(/:warning: \*unused\*: billing services last used <!date\^[^>]+>, 41 days ago/);
    expect(section(used.id)).toMatch(/billing services last used <!date/);
    expect(section(used.id)).not.toContain('unused');
    expect(section(unknown.id)).toContain(':grey_question: usage unknown: the access advisor job failed (InternalFailure: &lt;b&gt;)');
    for (const id of [neverUsed.id, stale.id]) {
      const at = blocks.findIndex((b) => b.block_id === `grant_${id}`);
      expect(blocks[at + 1]?.block_id).toBe(`review_${id}`);
      expect(buttonsIn([blocks[at + 1] as (typeof blocks)[number]])).toEqual([
        { label: 'Keep', actionId: ACTION.keep, value: id, blockId: `review_${id}` },
        { label: 'Revoke', actionId: ACTION.revoke, value: id, blockId: `review_${id}` },
      ]);
    }
  });

  it('shows each member’s last use in the access review, flagged where their grant is unused', () => {
    const all = renderSummary(report)
      .map((m) => blockTexts(m.blocks).join('\n'))
      .join('\n');
    const line = (userName: string) => all.split('\n').find((l) => l.startsWith(`• \`${userName}\`:`)) ?? '';
    expect(line(neverUsed.iamUserName)).toContain(':warning: billing services never used (unused grant: Revoke is offered below)');
    expect(line(stale.iamUserName)).toContain(':warning: billing services last used');
    expect(line(used.iamUserName)).toMatch(/billing services last used <!date/);
    expect(line(used.iamUserName)).not.toContain(':warning:');
    expect(line(unknown.iamUserName)).toContain('usage unknown: the access advisor job failed');
  });

  it('shows nothing about usage when none was read (no reader)', () => {
    const { usage: _, ...withoutUsage } = report;
    const all = renderSummary({
      ...withoutUsage,
      groups: [
        { ...report.groups[0], members: report.groups[0]?.members.map(({ usage: _u, unusedGrant: _g, ...m }) => m) ?? [] } as (typeof report.groups)[number],
      ],
    })
      .map((m) => blockTexts(m.blocks).join('\n'))
      .join('\n');
    expect(all).not.toMatch(/Unused grants|usage unknown|billing services/);
  });

  it('300 grants with findings still split within Slack’s limits, every grant once with its buttons', () => {
    const many = Array.from({ length: 300 }, (_, i) => makeGrant(i + 1, { decidedAt: '2030-03-04T09:00:00.000Z' }));
    const judged = Object.fromEntries(
      many.map((g, i) => [g.id, judgeGrantUsage(g, i % 3 === 0 ? { known: false, reason: 'x'.repeat(200) } : { known: true }, now, 24)]),
    );
    const messages = renderSummary(makeReport({ activeGrants: many, usage: { graceHours: 24, grants: judged } }));
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) {
      expect(validateBlocks(m.blocks)).toBeNull();
      expect(m.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
    }
    const shown = messages.flatMap((m) => grantIdsIn(m.blocks));
    expect(new Set(shown)).toEqual(new Set(many.map((g) => g.id)));
    expect(shown).toHaveLength(300);
    expect(blockTexts(messages[0]?.blocks ?? []).join('\n')).toContain('*Unused grants*\n200 (usage unknown for 100)');
  });
});
