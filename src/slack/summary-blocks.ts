/**
 * The weekly summary as Slack messages: a header and a few numbers first, then details.
 * Any size fits Slack's limits (50 blocks a message, 3,000 characters a text): what does not
 * fit the first message continues in thread replies, never cut off.
 */
import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../domain/request.js';
import { type MemberFinding, needsAttention } from '../domain/summary.js';
import { type BillingUsage, type GrantUsage, isUnusedGrant } from '../domain/usage.js';
import type { SummaryReport } from '../services/summary-service.js';
import { escapeMrkdwn, mention } from './escape.js';
import { ACTION } from './ids.js';
import { markDryRun, type SlackMessage, slackDate } from './messages.js';

export const MAX_BLOCKS = 50;
export const MAX_TEXT = 3000;

/** A unit that stays within one message (e.g. a grant and its buttons). */
type Chunk = KnownBlock[];

/** Splits lines into section blocks of at most MAX_TEXT characters each. */
export function textSections(lines: string[], heading?: string): Chunk[] {
  const chunks: Chunk[] = [];
  let current = heading ? `*${heading}*` : '';
  const flush = () => {
    if (current) chunks.push([{ type: 'section', text: { type: 'mrkdwn', text: current } }]);
    current = '';
  };
  for (const raw of lines) {
    const line = raw.length > MAX_TEXT - 10 ? `${raw.slice(0, MAX_TEXT - 11)}…` : raw;
    if (current && current.length + 1 + line.length > MAX_TEXT) flush();
    current = current ? `${current}\n${line}` : line;
  }
  flush();
  return chunks;
}

function link(request: AccessRequest, teamUrl: string | undefined): string {
  const id = `\`${request.id}\``;
  if (!teamUrl || !request.adminMessage) return id;
  return `<${teamUrl}archives/${request.adminMessage.channel}/p${request.adminMessage.ts.replace('.', '')}|${request.id}>`;
}

function grantLine(g: AccessRequest): string {
  const reviewed = g.reviewedBy && g.reviewedAt ? ` · kept by ${mention(g.reviewedBy)} ${slackDate(g.reviewedAt)}` : '';
  return `${mention(g.requesterId)} \`${escapeMrkdwn(g.iamUserName)}\` *${g.level}* until ${g.expiresAt ? slackDate(g.expiresAt) : '?'}${g.breakGlass ? ' :rotating_light: break-glass' : ''}${reviewed}`;
}

/** A grant's usage evidence: an unused grant is a finding, and what could not be read says why. */
function grantUsageLine(usage: GrantUsage, graceHours: number): string {
  switch (usage.state) {
    case 'unknown':
      return `:grey_question: usage unknown: ${escapeMrkdwn(usage.reason)}`;
    case 'new':
      return `billing services not used yet (granted less than ${graceHours} h ago; access advisor lags by hours)`;
    case 'used':
      return `billing services last used ${slackDate(usage.lastUsedAt)}`;
    case 'never-used':
      return `:warning: *unused*: billing services not used since it was granted ${slackDate(usage.grantedAt)} (${usage.lastUsedAt ? `last used ${slackDate(usage.lastUsedAt)}` : 'never used'})`;
    case 'stale':
      return `:warning: *unused*: billing services last used ${slackDate(usage.lastUsedAt)}, ${usage.days} days ago`;
  }
}

/** One active grant with its Keep / Revoke buttons: the summary is the access review. An unused-grant finding sits right above them. */
function grantChunk(g: AccessRequest, usage: SummaryReport['usage']): Chunk {
  const evidence = usage?.grants[g.id];
  const text = evidence ? `${grantLine(g)}\n${grantUsageLine(evidence, usage.graceHours)}` : grantLine(g);
  return [
    { type: 'section', block_id: `grant_${g.id}`, text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      block_id: `review_${g.id}`,
      elements: [
        { type: 'button', text: { type: 'plain_text', text: 'Keep' }, action_id: ACTION.keep, value: g.id },
        { type: 'button', text: { type: 'plain_text', text: 'Revoke' }, action_id: ACTION.revoke, value: g.id, style: 'danger' },
      ],
    },
  ];
}

/** After Keep: the grant's buttons become a line saying who kept it and when. */
export function markKept(blocks: KnownBlock[], requestId: string, by: string, at: string): KnownBlock[] {
  return blocks.map((b) =>
    b.block_id === `review_${requestId}`
      ? { type: 'context', block_id: `review_${requestId}`, elements: [{ type: 'mrkdwn', text: `:white_check_mark: Kept by ${mention(by)} ${slackDate(at)}` }] }
      : b,
  );
}

/** A member's last use of billing services, flagged when one of their grants is unused. */
function memberUsage(usage: BillingUsage, unusedGrant: boolean): string {
  if (!usage.known) return `:grey_question: usage unknown: ${escapeMrkdwn(usage.reason)}`;
  const used = usage.lastUsedAt ? `billing services last used ${slackDate(usage.lastUsedAt)}` : 'billing services never used';
  return unusedGrant ? `:warning: ${used} (unused grant: Revoke is offered below)` : used;
}

function memberLine(m: MemberFinding): string {
  const flags = [
    m.mfa === false ? ':warning: no MFA' : m.mfa === null ? 'MFA not checked' : 'MFA ✓',
    ...(m.oldActiveKeys.length ? [`:warning: ${m.oldActiveKeys.length} active access key(s) older than 90 days`] : []),
    ...(m.passwordUnused === 'never'
      ? [':warning: console password never used']
      : m.passwordUnused === 'stale'
        ? [':warning: console password unused for 90+ days']
        : []),
    ...(m.drift
      ? [m.removed ? ':no_entry: no active grant: *removed from the group* (DRIFT_POLICY=remove)' : ':no_entry: *no active grant from the bot* (added by hand)']
      : []),
    ...(m.error ? [`:x: ${escapeMrkdwn(m.error)}`] : []),
    ...(m.usage ? [memberUsage(m.usage, Boolean(m.unusedGrant))] : []),
  ];
  return `• \`${escapeMrkdwn(m.userName)}\`: ${flags.join(' · ')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Packs chunks into messages of at most MAX_BLOCKS blocks; a chunk never splits across messages. */
function pack(chunks: Chunk[], firstReserved: number, laterReserved: number): KnownBlock[][] {
  const messages: KnownBlock[][] = [[]];
  let limit = MAX_BLOCKS - firstReserved;
  for (const chunk of chunks) {
    let current = messages[messages.length - 1] as KnownBlock[];
    if (current.length + chunk.length > limit) {
      current = [];
      messages.push(current);
      limit = MAX_BLOCKS - laterReserved;
    }
    current.push(...chunk);
  }
  return messages.filter((m, i) => i === 0 || m.length > 0);
}

export function renderSummary(report: SummaryReport, options: { teamUrl?: string } = {}): SlackMessage[] {
  const { stats } = report;
  const title = report.onDemand ? 'Billing access summary (last 7 days)' : `Weekly billing access summary${report.late ? ' (late)' : ''}`;
  const span = `${slackDate(report.from)} → ${slackDate(report.to)}`;
  const outcome = (s: keyof typeof stats.byStatus) => stats.byStatus[s] ?? 0;
  const granted = outcome('ACTIVE') + outcome('EXPIRED') + outcome('REVOKED') + outcome('EXTENDED');
  const drift = report.groups.flatMap((g) => g.members.filter((m) => m.drift));
  const attention = report.groups.flatMap((g) => g.members.filter(needsAttention));
  const grantUsage = report.usage?.grants ?? {};
  const unused = report.activeGrants.filter((g) => isUnusedGrant(grantUsage[g.id]));
  const usageUnknown = report.activeGrants.filter((g) => grantUsage[g.id]?.state === 'unknown');
  const median =
    stats.medianDecisionMinutes === null
      ? 'n/a'
      : stats.medianDecisionMinutes < 120
        ? `${Math.round(stats.medianDecisionMinutes)} min`
        : `${(stats.medianDecisionMinutes / 60).toFixed(1)} h`;

  const head: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `${span}${report.late ? ' · posted late: no replica was running at the scheduled time' : ''}` }] },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requests*\n${stats.total}` },
        { type: 'mrkdwn', text: `*Granted / denied*\n${granted} / ${outcome('DENIED')}` },
        { type: 'mrkdwn', text: `*Median time to decision*\n${median}` },
        { type: 'mrkdwn', text: `*Active grants*\n${report.activeGrants.length}` },
        { type: 'mrkdwn', text: `*Pending > ${report.stalePendingHours} h*\n${report.stalePending.length}` },
        { type: 'mrkdwn', text: `*Review findings*\n${attention.length}${drift.length ? ` (${drift.length} without a grant)` : ''}` },
        ...(report.usage
          ? [{ type: 'mrkdwn' as const, text: `*Unused grants*\n${unused.length}${usageUnknown.length ? ` (usage unknown for ${usageUnknown.length})` : ''}` }]
          : []),
      ],
    },
  ];

  const chunks: Chunk[] = [];
  const byOutcome = Object.entries(stats.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `• ${status.toLowerCase().replace('_', ' ')}: ${n}`);
  if (byOutcome.length) chunks.push(...textSections(byOutcome, 'Requests of the period by outcome'));
  if (stats.breakGlass.length) {
    chunks.push(
      ...textSections(
        stats.breakGlass.map((r) => `• :rotating_light: ${mention(r.requesterId)} *${r.level}* ${slackDate(r.createdAt)}: ${escapeMrkdwn(r.justification)}`),
        'Break-glass uses',
      ),
    );
  }
  if (report.stalePending.length) {
    chunks.push(
      ...textSections(
        report.stalePending.map((r) => `• ${link(r, options.teamUrl)} ${mention(r.requesterId)} *${r.level}*, asked ${slackDate(r.createdAt)}`),
        `Pending for more than ${report.stalePendingHours} h`,
      ),
    );
  }
  if (report.expiringSoon.length) {
    chunks.push(
      ...textSections(
        report.expiringSoon.map((g) => `• ${mention(g.requesterId)} *${g.level}* expires ${slackDate(g.expiresAt ?? '')}`),
        'Expiring in the next 7 days',
      ),
    );
  }
  chunks.push([{ type: 'divider' }]);
  for (const group of report.groups) {
    const lines = [
      ...(group.error ? [`:x: could not read the group from IAM: ${escapeMrkdwn(group.error)}`] : []),
      ...group.policyProblems.map((p) => `:rotating_light: policy drift: ${escapeMrkdwn(p)} (grants are refused until fixed)`),
      ...(group.members.length ? group.members.map(memberLine) : group.error ? [] : ['No members.']),
    ];
    chunks.push(...textSections(lines, `Access review: ${group.level} (\`${group.groupName}\`), ${plural(group.members.length, 'member')}`));
  }
  if (report.activeGrants.length) {
    const intro = unused.length ? 'Keep or revoke each active grant (unused grants first):' : 'Keep or revoke each active grant:';
    chunks.push(...textSections([intro], `Active grants (${report.activeGrants.length})`));
    // Unused grants first, so their Revoke buttons are in the first messages; otherwise as listed.
    const ordered = [...unused, ...report.activeGrants.filter((g) => !unused.includes(g))];
    for (const grant of ordered) chunks.push(grantChunk(grant, report.usage));
  }

  // Room for the head (first message), the 'continued' line (later ones) and the dry-run line.
  const dryRunLine = report.dryRun ? 1 : 0;
  const bodies = pack(chunks, head.length + dryRunLine, 1 + dryRunLine);
  const fallback = `${title}: ${stats.total} requests, ${granted} granted, ${outcome('DENIED')} denied, median decision ${median}, ${report.activeGrants.length} active grants, ${attention.length} review findings.`;
  return bodies.map((blocks, i) => {
    const message: SlackMessage =
      i === 0
        ? { text: fallback, blocks: [...head, ...blocks] }
        : {
            text: `${title} (continued, part ${i + 1} of ${bodies.length})`,
            blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Continued (${i + 1}/${bodies.length})` }] }, ...blocks],
          };
    return markDryRun(message, report.dryRun);
  });
}
