/**
 * Block Kit builders: pure functions from domain data to Slack messages. All user text
 * goes through escapeMrkdwn; no builder reads config or calls Slack.
 */
import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../domain/request.js';
import { useWhileGranted } from '../domain/usage.js';
import { escapeMrkdwn, mention, truncate } from './escape.js';
import { ACTION } from './ids.js';

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const DRY_RUN = '[dry-run]';

/** In dry-run every message says so, in its fallback text and its first block. */
export function markDryRun(message: SlackMessage, dryRun: boolean): SlackMessage {
  if (!dryRun) return message;
  return {
    text: `${DRY_RUN} ${message.text}`,
    blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: `*${DRY_RUN}* IAM_MODE=dry-run: nothing is changed in IAM` }] }, ...message.blocks],
  };
}

export function plain(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } }] };
}

/** Slack's `<!date>` shows a time in each reader's zone; the fallback is the UTC string. */
export function slackDate(isoTime: string): string {
  const seconds = Math.floor(Date.parse(isoTime) / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${isoTime.replace('T', ' ').slice(0, 16)} UTC>`;
}

function mfaLine(request: AccessRequest): string {
  switch (request.iam.mfa) {
    case 'present':
      return ':white_check_mark: MFA device present';
    case 'missing':
      return ':warning: *no MFA device*';
    default:
      return ':grey_question: MFA not checked';
  }
}

function approvalsLine(request: AccessRequest): string {
  return request.approvals.map((a) => mention(a.by)).join(', ');
}

export function statusLine(request: AccessRequest): string {
  switch (request.status) {
    case 'PENDING':
      return request.approvals.length > 0
        ? `Pending: ${request.approvals.length} of ${request.approvalsRequired} approvals (${approvalsLine(request)})`
        : request.approvalsRequired > 1
          ? `Pending: needs ${request.approvalsRequired} approvals`
          : 'Pending approval';
    case 'APPROVED':
      return `Approved by ${approvalsLine(request)}, granting…`;
    case 'ACTIVE':
      return `Approved by ${approvalsLine(request)}, expires ${request.expiresAt ? slackDate(request.expiresAt) : '?'}`;
    case 'EXTENDED':
      return `Approved by ${approvalsLine(request)}: extension applied${request.expiresAt ? `, access now expires ${slackDate(request.expiresAt)}` : ''}`;
    case 'FAILED':
      return `Approved by ${approvalsLine(request)}, but the IAM change failed: ${escapeMrkdwn(
        `${request.failure?.name ?? 'Error'}: ${truncate(request.failure?.message ?? '', 500)}`,
      )}`;
    case 'DENIED':
      return `Denied by ${mention(request.decidedBy ?? '?')}${request.denyReason ? `: ${escapeMrkdwn(request.denyReason)}` : ''}`;
    case 'CANCELLED':
      return 'Cancelled by the requester';
    case 'TIMED_OUT':
      return request.failure
        ? `Approved by ${approvalsLine(request)}, but the IAM change failed (${escapeMrkdwn(request.failure.name)}) and was not retried in time: closed`
        : 'Timed out without a decision';
    case 'EXPIRED':
      return `Approved by ${approvalsLine(request)}; expired ${request.endedAt ? slackDate(request.endedAt) : ''}`;
    case 'REVOKED':
      return `Approved by ${approvalsLine(request)}; revoked by ${mention(request.endedBy ?? '?')}`;
  }
}

function button(label: 'Approve' | 'Deny' | 'Retry' | 'Revoke' | 'Keep', actionId: string, value: string, style?: 'primary' | 'danger') {
  return { type: 'button' as const, text: { type: 'plain_text' as const, text: label }, action_id: actionId, value, ...(style ? { style } : {}) };
}

/** The one admin-channel message for a request, rendered for its current state. */
export function adminRequestMessage(request: AccessRequest, options: { extension?: { currentExpiresAt: string } } = {}): SlackMessage {
  const isExtension = Boolean(request.extendsRequestId);
  const kind = isExtension ? 'extension' : 'request';
  const title = request.breakGlass
    ? `:rotating_light: BREAK-GLASS billing access: ${mention(request.requesterId)} took ${request.level} without approval`
    : `Billing access ${kind}: ${mention(request.requesterId)} for ${request.level}`;
  const fields = [
    `*Who*\n${mention(request.requesterId)}`,
    `*IAM user*\n\`${escapeMrkdwn(request.iamUserName)}\``,
    `*Level*\n${request.level} (\`${request.groupName}\`)`,
    `*Duration*\n${request.durationDays} day${request.durationDays === 1 ? '' : 's'}${isExtension ? ' (extension)' : ''}`,
    `*MFA*\n${mfaLine(request)}`,
    `*Current IAM groups*\n${request.iam.currentGroups === null ? 'not checked' : request.iam.currentGroups.length ? request.iam.currentGroups.map((g) => `\`${escapeMrkdwn(g)}\``).join(', ') : 'none'}`,
  ];
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn' as const, text: truncate(text, 2000) })) },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`*Justification*\n>${escapeMrkdwn(request.justification).replace(/\n/g, '\n>')}`, 3000) } },
  ];
  if (isExtension && options.extension) {
    blocks.push({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `Extension of ${request.extendsRequestId}: access currently expires ${slackDate(options.extension.currentExpiresAt)}` },
      ],
    });
  }
  const warnings = request.iam.warnings.map(escapeMrkdwn);
  if (warnings.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`:warning: ${warnings.join(' · ')}`, 3000) }] });
  const status = statusLine(request);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`${status} · id \`${request.id}\``, 3000) }] });
  const usage = endUsage(request, 'admins').trim();
  if (usage) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(usage, 3000) }] });

  const actions =
    request.status === 'PENDING'
      ? [button('Approve', ACTION.approve, request.id, 'primary'), button('Deny', ACTION.deny, request.id, 'danger')]
      : request.status === 'FAILED'
        ? [button('Retry', ACTION.retry, request.id, 'primary')]
        : request.status === 'ACTIVE'
          ? [button('Revoke', ACTION.revoke, request.id, 'danger')]
          : [];
  if (actions.length) blocks.push({ type: 'actions', block_id: `actions_${request.id}`, elements: actions });

  const expiry = request.expiresAt && (request.status === 'ACTIVE' || request.status === 'EXTENDED') ? ` Expires ${request.expiresAt}.` : '';
  const text = `${request.breakGlass ? 'BREAK-GLASS billing access' : isExtension ? 'Billing access extension' : 'Billing access request'} from <@${request.requesterId}> for ${request.level} (${request.groupName}), ${request.durationDays}d. ${plainStatus(request)}${expiry}`;
  return { text, blocks };
}

/** The status in the fallback text: the same words as the blocks, without Slack date markup. */
function plainStatus(request: AccessRequest): string {
  const approvers = request.approvals.map((a) => mention(a.by)).join(', ');
  switch (request.status) {
    case 'ACTIVE':
    case 'APPROVED':
    case 'EXTENDED':
      return `Approved by ${approvers}.`;
    case 'FAILED':
      return `Approved by ${approvers}; IAM change failed: ${request.failure?.name ?? 'Error'}.`;
    case 'DENIED':
      return `Denied by ${mention(request.decidedBy ?? '?')}${request.denyReason ? `: ${escapeMrkdwn(truncate(request.denyReason, 200))}` : ''}.`;
    case 'EXPIRED':
      return `Approved by ${approvers}; expired.`;
    case 'REVOKED':
      return `Approved by ${approvers}; revoked by ${mention(request.endedBy ?? '?')}.`;
    default:
      return `${statusLine(request).replace(/\*/g, '')}.`;
  }
}

/**
 * What an ended grant's notices say about its use (PRODUCT §1 Usage evidence), after a space; empty
 * when it was not read. The requester is told that usage is unknown, the admins also why.
 */
function endUsage(request: AccessRequest, reader: 'requester' | 'admins'): string {
  if (!request.usage || (request.status !== 'EXPIRED' && request.status !== 'REVOKED')) return '';
  const use = useWhileGranted(request, request.usage);
  switch (use.state) {
    case 'used':
      return ` Billing services were last used ${slackDate(use.lastUsedAt)}.`;
    case 'not-used':
      return ' Billing services were not used while it was granted (IAM access advisor can lag by a few hours).';
    case 'unknown':
      return reader === 'admins' && !request.usage.known
        ? ` Billing usage unknown: ${escapeMrkdwn(request.usage.reason)}.`
        : ' Billing usage unknown: IAM access advisor could not be read.';
  }
}

function consoleSteps(request: AccessRequest): string[] {
  return [
    'Sign in to the AWS console as your IAM user and open *Billing and Cost Management*: <https://console.aws.amazon.com/billing/home|console.aws.amazon.com/billing>.',
    'Use MFA when you sign in; billing users are expected to have an MFA device.',
    'If the console says you are not authorized although you are in the group, the account root user must turn on *IAM user and role access to Billing information* (Account settings); only root can do this.',
    ...(request.groupName ? [`Your access comes from the IAM group \`${request.groupName}\`.`] : []),
  ];
}

/** The requester's DM about their request's new state. */
export function requesterMessage(request: AccessRequest): SlackMessage {
  const id = `\`${request.id}\``;
  switch (request.status) {
    case 'ACTIVE': {
      const text = `Your ${request.level} billing access is approved by ${approvalsLine(request)} and active until ${request.expiresAt}.`;
      return {
        text,
        blocks: [
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: `:white_check_mark: Your *${request.level}* billing access (${id}) is approved by ${approvalsLine(request)} and active until ${slackDate(request.expiresAt ?? request.updatedAt)}.`,
            },
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: consoleSteps(request)
                .map((s, i) => `${i + 1}. ${s}`)
                .join('\n'),
            },
          },
        ],
      };
    }
    case 'EXTENDED':
      return plain(
        `:white_check_mark: Your extension ${id} is approved by ${approvalsLine(request)}: your *${request.level}* billing access now expires ${request.expiresAt}.`,
      );
    case 'DENIED':
      return plain(
        `:no_entry: Your *${request.level}* billing access request ${id} was denied by ${mention(request.decidedBy ?? '?')}.${request.denyReason ? `\nReason: ${escapeMrkdwn(request.denyReason)}` : ''}`,
      );
    case 'FAILED':
      return plain(
        `:warning: Your *${request.level}* request ${id} was approved, but the change in AWS did not go through. The admins can see the details (reference ${id}) and retry; nothing is needed from you.`,
      );
    case 'CANCELLED':
      return plain(`Your request ${id} is cancelled.`);
    case 'TIMED_OUT':
      return plain(
        request.failure
          ? `Your *${request.level}* request ${id} was approved, but the change in AWS did not go through and was not retried in time, so it is closed. You can ask again with \`/request-billing\`.`
          : `Your *${request.level}* request ${id} timed out without a decision. You can ask again with \`/request-billing\`.`,
      );
    case 'EXPIRED':
      return plain(
        `Your *${request.level}* billing access (${id}) has expired and was removed.${endUsage(request, 'requester')} Ask again with \`/request-billing\` if you still need it.`,
      );
    case 'REVOKED':
      return plain(`Your *${request.level}* billing access (${id}) was ended by ${mention(request.endedBy ?? '?')}.${endUsage(request, 'requester')}`);
    default:
      return plain(`Your request ${id} is now ${request.status.toLowerCase().replace('_', ' ')}.`);
  }
}

export function requestConfirmation(request: AccessRequest, extension?: { currentExpiresAt: string }): string {
  const lines = [
    extension
      ? `:hourglass_flowing_sand: Extension request \`${request.id}\` sent to the admins: your *${request.level}* access currently expires ${slackDate(extension.currentExpiresAt)}; this asks for ${request.durationDays} more day${request.durationDays === 1 ? '' : 's'}.`
      : `:hourglass_flowing_sand: Request \`${request.id}\` for *${request.level}* billing access (${request.durationDays} day${request.durationDays === 1 ? '' : 's'}, IAM user \`${escapeMrkdwn(request.iamUserName)}\`) is sent to the admins.`,
    ...request.iam.warnings.map((w) => `:warning: ${escapeMrkdwn(w)}`),
    `Cancel it with \`/request-billing cancel ${request.id}\`.`,
  ];
  return lines.join('\n');
}

export function statusReply(requests: AccessRequest[]): string {
  if (requests.length === 0) return 'You have no billing access requests. Ask with `/request-billing <level> [<n>d] <justification>`.';
  const active = requests.filter((r) => r.status === 'ACTIVE');
  const open = requests.filter((r) => r.status === 'PENDING' || r.status === 'APPROVED' || r.status === 'FAILED');
  const recent = requests.filter((r) => !active.includes(r) && !open.includes(r)).slice(0, 5);
  const line = (r: AccessRequest) =>
    `• \`${r.id}\` *${r.level}* ${r.status}${r.expiresAt && r.status === 'ACTIVE' ? `, expires ${slackDate(r.expiresAt)}` : ''} (asked ${slackDate(r.createdAt)})`;
  const parts: string[] = [];
  if (active.length) parts.push(`*Active grants*\n${active.map(line).join('\n')}`);
  if (open.length) parts.push(`*Open requests*\n${open.map(line).join('\n')}`);
  if (recent.length) parts.push(`*Recent*\n${recent.map(line).join('\n')}`);
  return parts.join('\n\n');
}
