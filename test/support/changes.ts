/**
 * A request change with a chosen status, fields and audit detail, for tests that seed a store
 * with a given history or try a move the domain would refuse to make. The store checks it like
 * any other change; only src/domain/transitions.ts makes changes in the product.
 */
import type { AccessRequest, RequestStatus } from '../../src/domain/request.js';
import type { ChangeAudit, RequestChange, RequestFields } from '../../src/domain/transitions.js';

export function seededChange(request: AccessRequest, to: RequestStatus, at: string, audit: ChangeAudit | undefined, fields: RequestFields = {}): RequestChange {
  return { from: request.status, to, at, fields, audit } as unknown as RequestChange;
}
