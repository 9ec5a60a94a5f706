import { ulid } from 'ulid';
import type { AccessRequest } from '../../src/domain/request.js';

/** An access request from defaults plus overrides; the id is a ULID minted at `createdAt` unless given. */
export function buildRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  const createdAt = overrides.createdAt ?? '2030-01-07T09:00:00.000Z';
  return {
    id: ulid(Date.parse(createdAt)),
    status: 'PENDING',
    requesterId: 'U0EMPLOYEE',
    requesterTeamId: 'T0001',
    requesterEmail: 'jane.doe@corp.com',
    iamUserName: 'jane.doe',
    level: 'read-only',
    groupName: 'BillingReadOnly',
    durationDays: 7,
    justification: 'month-end close',
    createdAt,
    approvals: [],
    approverIds: [],
    approvalsRequired: 1,
    dryRun: false,
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: [], warnings: [] },
    version: 1,
    updatedAt: createdAt,
    ...overrides,
  };
}
