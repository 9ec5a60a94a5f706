/**
 * DryRunIamGateway (DRY_RUN=true): it reads IAM through the real gateway but never changes a
 * group's members, and still refuses groups that are not configured.
 */
import { AddUserToGroupCommand, GetUserCommand, ListMFADevicesCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { DryRunIamGateway } from '../../src/aws/dry-run.js';
import { GroupNotAllowedError } from '../../src/aws/iam.js';
import { ALLOWED, existingUser, gatewayRig } from '../support/iam-mock.js';

let { iamMock, gateway } = gatewayRig();
beforeEach(() => {
  ({ iamMock, gateway } = gatewayRig());
});

describe('DryRunIamGateway', () => {
  let dryRun: DryRunIamGateway;
  beforeEach(() => {
    dryRun = new DryRunIamGateway(gateway, new Set(ALLOWED));
    iamMock.on(AddUserToGroupCommand).resolves({});
    iamMock.on(RemoveUserFromGroupCommand).resolves({});
  });

  it('says it is a dry run', () => {
    expect(dryRun.dryRun).toBe(true);
    expect(gateway.dryRun).toBe(false);
  });

  it('never sends AddUserToGroup or RemoveUserFromGroup', async () => {
    await dryRun.addUserToGroup('jane.doe', 'BillingReadOnly');
    await dryRun.removeUserFromGroup('jane.doe', 'BillingFull');
    await dryRun.addUserToGroup('jane.doe', 'BillingFull');
    expect(iamMock.commandCalls(AddUserToGroupCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(RemoveUserFromGroupCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('still refuses groups that are not configured', async () => {
    await expect(dryRun.addUserToGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    await expect(dryRun.removeUserFromGroup('jane.doe', 'Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('reads IAM through the real gateway', async () => {
    existingUser(iamMock);
    await expect(dryRun.getUser('jane.doe')).resolves.toMatchObject({ userName: 'jane.doe', mfaDeviceCount: 1 });
    expect(iamMock.commandCalls(ListMFADevicesCommand)).toHaveLength(1);
    expect(iamMock.commandCalls(GetUserCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(AddUserToGroupCommand)).toHaveLength(0);
  });
});
