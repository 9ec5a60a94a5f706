import type { Config } from '../config.js';

export function helpText(config: Pick<Config, 'levels' | 'defaultDurationDays' | 'maxDurationDays' | 'breakGlassMaxHours'>): string {
  const levels = config.levels
    .map((l) => `\`${l.level}\` (IAM group \`${l.groupName}\`${l.approvalsRequired > 1 ? `, ${l.approvalsRequired} approvals` : ''})`)
    .join(', ');
  return [
    '*Billing access: how to ask*',
    '• `/request-billing` opens a form.',
    `• \`/request-billing <level> [<n>d] <justification>\`, e.g. \`/request-billing ${config.levels[0]?.level ?? 'read-only'} 7d month-end close for October\`. Without \`<n>d\`: ${config.defaultDurationDays} days; at most ${config.maxDurationDays}.`,
    `• Levels: ${levels}. The first is the default.`,
    ...(config.breakGlassMaxHours
      ? [
          `• \`/request-billing <level> break-glass <justification>\`: emergency access at once, for at most ${config.breakGlassMaxHours} hours; the admins are alerted.`,
        ]
      : []),
    '• `/request-billing status`: your requests and grants. `/request-billing cancel <id>`: cancel a pending request. `/request-billing done`: end your access early.',
    '• Admins: `/request-billing revoke <@user|id>` ends access; `/request-billing summary` posts the access summary of the last 7 days; `/request-billing link <@user> <iam-user>` pins a Slack user to an IAM user.',
    '',
    '*Before your first grant*: access comes from IAM group membership and needs an MFA device on your IAM user. Billing pages also need the account root user to have turned on *IAM user and role access to Billing information* (Account settings), once per account.',
  ].join('\n');
}
