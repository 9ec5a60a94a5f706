/**
 * Grants stranded by a configuration change: ACTIVE grants whose level and group are no longer
 * a pair in BILLING_GROUPS (a level removed, renamed, or moved to another group). The bot
 * still removes them at expiry and revoke; doctor names them so an admin decides, and so the
 * bot's IAM policy keeps allowing the removal until they end.
 */
import { configuredLevelOf, type LevelConfig } from '../domain/levels.js';
import type { AccessRequest } from '../domain/request.js';
import type { CheckResult } from './results.js';

export function checkStrandedGrants(active: readonly AccessRequest[], levels: readonly LevelConfig[]): CheckResult {
  const title = 'Grants into groups no longer configured';
  const stranded = active.filter((r) => !configuredLevelOf(levels, r));
  if (stranded.length === 0) return { section: 'Store', status: 'ok', title, detail: 'none: every active grant is in a configured level and group' };
  const listed = stranded.map((r) => `${r.id} (${r.iamUserName} in ${r.groupName}, level ${r.level}, expires ${r.expiresAt ?? '?'})`);
  const groups = [...new Set(stranded.map((r) => r.groupName))];
  return {
    section: 'Store',
    status: 'fail',
    title,
    detail: `${stranded.length} active grant${stranded.length === 1 ? '' : 's'} outside BILLING_GROUPS: ${listed.join('; ')}`,
    fix: `revoke them now (/request-billing revoke <id> in the admin channel), or let them expire; until they end, keep iam:RemoveUserFromGroup on ${groups.join(', ')} in the bot's IAM policy`,
  };
}
