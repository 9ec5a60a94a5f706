/**
 * The gateway's group and policy reads that doctor shares with the bot: findGroup,
 * listGroupPolicies and defaultPolicyVersion, on a mocked IAM client. Each refuses what is not
 * configured before any call, and turns IAM's errors into IamUnavailableError with the SDK's
 * error as the cause.
 */
import { GetGroupCommand, GetPolicyCommand, GetPolicyVersionCommand, ListAttachedGroupPoliciesCommand, ListGroupPoliciesCommand } from '@aws-sdk/client-iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { GroupNotAllowedError, IamUnavailableError, PolicyNotAllowedError } from '../../src/aws/iam.js';
import { awsError, CUSTOM_ARN, type GatewayRig, gatewayRig, noSuchEntity, READ_ONLY_ARN } from '../support/iam-mock.js';

let rig: GatewayRig;
beforeEach(() => {
  rig = gatewayRig();
});

describe('findGroup', () => {
  it('returns the ARN of a configured group, and undefined when IAM has no such group', async () => {
    rig.iamMock.on(GetGroupCommand, { GroupName: 'BillingReadOnly' }).resolves({
      Group: { GroupName: 'BillingReadOnly', GroupId: 'G1', Arn: 'arn:aws:iam::123456789012:group/BillingReadOnly', Path: '/', CreateDate: new Date() },
      Users: [],
    });
    rig.iamMock.on(GetGroupCommand, { GroupName: 'BillingFull' }).rejects(noSuchEntity('The group with name BillingFull cannot be found.'));
    await expect(rig.gateway.findGroup('BillingReadOnly')).resolves.toEqual({ arn: 'arn:aws:iam::123456789012:group/BillingReadOnly' });
    await expect(rig.gateway.findGroup('BillingFull')).resolves.toBeUndefined();
  });

  it('refuses a group outside BILLING_GROUPS without asking IAM, and wraps any other IAM error', async () => {
    await expect(rig.gateway.findGroup('Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    expect(rig.iamMock.calls()).toHaveLength(0);
    const denied = awsError('AccessDenied', 'not authorized to perform: iam:GetGroup');
    rig.iamMock.on(GetGroupCommand).rejects(denied);
    const err = await rig.gateway.findGroup('BillingReadOnly').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IamUnavailableError);
    expect((err as IamUnavailableError).cause).toBe(denied);
  });
});

describe('listGroupPolicies', () => {
  it('reads every page of attached and inline policies', async () => {
    rig.iamMock
      .on(ListAttachedGroupPoliciesCommand)
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: READ_ONLY_ARN }], IsTruncated: true, Marker: 'm1' })
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: CUSTOM_ARN }], IsTruncated: false });
    rig.iamMock.on(ListGroupPoliciesCommand).resolves({ PolicyNames: ['extra'], IsTruncated: false });
    await expect(rig.gateway.listGroupPolicies('BillingReadOnly')).resolves.toEqual({
      attachedPolicyArns: [READ_ONLY_ARN, CUSTOM_ARN],
      inlinePolicyNames: ['extra'],
    });
    expect(rig.iamMock.commandCalls(ListAttachedGroupPoliciesCommand)[1]?.args[0].input).toMatchObject({ GroupName: 'BillingReadOnly', Marker: 'm1' });
  });

  it('refuses an unconfigured group and wraps IAM errors', async () => {
    await expect(rig.gateway.listGroupPolicies('Administrators')).rejects.toBeInstanceOf(GroupNotAllowedError);
    rig.iamMock.on(ListAttachedGroupPoliciesCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    await expect(rig.gateway.listGroupPolicies('BillingFull')).rejects.toBeInstanceOf(IamUnavailableError);
  });
});

describe('defaultPolicyVersion', () => {
  it("reads a configured policy's default version and decodes its document", async () => {
    const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ce:Get*', Resource: '*' }] };
    rig.iamMock.on(GetPolicyCommand, { PolicyArn: CUSTOM_ARN }).resolves({ Policy: { Arn: CUSTOM_ARN, DefaultVersionId: 'v3' } });
    rig.iamMock
      .on(GetPolicyVersionCommand, { PolicyArn: CUSTOM_ARN, VersionId: 'v3' })
      .resolves({ PolicyVersion: { VersionId: 'v3', IsDefaultVersion: true, Document: encodeURIComponent(JSON.stringify(document)) } });
    await expect(rig.gateway.defaultPolicyVersion(CUSTOM_ARN)).resolves.toEqual({ policyArn: CUSTOM_ARN, versionId: 'v3', document });
  });

  it('refuses a policy outside BILLING_GROUP_POLICIES without asking IAM, and wraps IAM errors', async () => {
    await expect(rig.gateway.defaultPolicyVersion('arn:aws:iam::aws:policy/AdministratorAccess')).rejects.toBeInstanceOf(PolicyNotAllowedError);
    expect(rig.iamMock.calls()).toHaveLength(0);
    rig.iamMock.on(GetPolicyCommand).rejects(noSuchEntity('Policy not found.'));
    await expect(rig.gateway.defaultPolicyVersion(CUSTOM_ARN)).rejects.toBeInstanceOf(IamUnavailableError);
  });
});
