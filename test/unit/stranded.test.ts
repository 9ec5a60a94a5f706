/**
 * Doctor's line for grants stranded by a configuration change (PRODUCT §1 "Expire and revoke": a
 * level removed from BILLING_GROUPS; doctor names the stranded grants).
 */
import { describe, expect, it } from 'vitest';
import type { LevelConfig } from '../../src/config.js';
import { checkStrandedGrants } from '../../src/doctor/stranded.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { buildRequest } from '../support/requests.js';

const READ_ONLY: LevelConfig = {
  level: 'read-only',
  groupName: 'BillingReadOnly',
  policyArn: 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess',
  approvalsRequired: 1,
};
const FULL: LevelConfig = { level: 'full', groupName: 'BillingFull', policyArn: 'arn:aws:iam::aws:policy/job-function/Billing', approvalsRequired: 1 };

function activeGrant(overrides: Partial<AccessRequest>): AccessRequest {
  return buildRequest({
    status: 'ACTIVE',
    decidedBy: 'U0ADMIN1',
    decidedAt: '2030-01-07T09:05:00.000Z',
    expiresAt: '2030-01-14T09:05:00.000Z',
    ...overrides,
  });
}

describe('checkStrandedGrants', () => {
  it('✓ when there are no active grants', () => {
    const result = checkStrandedGrants([], [READ_ONLY, FULL]);
    expect(result.status).toBe('ok');
    expect(result.section).toBe('Store');
    expect(result.fix).toBeUndefined();
  });

  it('✓ when every active grant is in a configured level and its group', () => {
    const grants = [
      activeGrant({ iamUserName: 'jane.doe' }),
      activeGrant({ createdAt: '2030-01-08T09:00:00.000Z', iamUserName: 'bob.admin', level: 'full', groupName: 'BillingFull' }),
    ];
    const result = checkStrandedGrants(grants, [READ_ONLY, FULL]);
    expect(result.status).toBe('ok');
    expect(result.fix).toBeUndefined();
    for (const grant of grants) expect(result.detail ?? '').not.toContain(grant.id);
  });

  it('✗ naming each grant of a removed level (id, IAM user, group) with a fix; configured grants are not named', () => {
    const kept = activeGrant({ iamUserName: 'jane.doe' });
    const stranded = [
      activeGrant({ createdAt: '2030-01-08T09:00:00.000Z', iamUserName: 'jane.doe', level: 'full', groupName: 'BillingFull' }),
      activeGrant({ createdAt: '2030-01-09T09:00:00.000Z', iamUserName: 'bob.admin', level: 'full', groupName: 'BillingFull' }),
    ];
    const result = checkStrandedGrants([kept, ...stranded], [READ_ONLY]);

    expect(result.status).toBe('fail');
    expect(result.section).toBe('Store');
    const detail = result.detail ?? '';
    expect(detail).toMatch(/^2 active grants /);
    for (const grant of stranded) {
      expect(detail).toContain(`${grant.id} (${grant.iamUserName} in BillingFull`);
    }
    expect(detail).not.toContain(kept.id);
    // The fix says what an admin can do, and what must stay in the bot's IAM policy until the grants end.
    expect(result.fix).toMatch(/revoke/);
    expect(result.fix).toContain('iam:RemoveUserFromGroup on BillingFull');
    expect(result.fix).not.toContain('BillingReadOnly');
  });

  it('a grant whose level still exists but now maps to another group is stranded too', () => {
    const grant = activeGrant({ iamUserName: 'jane.doe', level: 'read-only', groupName: 'BillingReadOnly' });
    const moved: LevelConfig = { ...READ_ONLY, groupName: 'BillingReadOnlyV2' };
    const result = checkStrandedGrants([grant], [moved, FULL]);

    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/^1 active grant /);
    expect(result.detail).toContain(`${grant.id} (jane.doe in BillingReadOnly`);
    expect(result.fix).toContain('iam:RemoveUserFromGroup on BillingReadOnly');
    expect(result.fix).not.toContain('BillingReadOnlyV2');
  });
});
