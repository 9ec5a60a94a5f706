/**
 * The group guard on moto with a customer-managed expected policy (PRODUCT §3): an approval is
 * refused while the policy's default version allows more than billing, with no AddUserToGroup,
 * and goes through on the untouched version; the weekly summary's access review says the same.
 */
import { AttachGroupPolicyCommand, CreatePolicyVersionCommand, DetachGroupPolicyCommand, SetDefaultPolicyVersionCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID, BILLING_ONLY_DOCUMENT, createCustomerPolicy, EVERYTHING_DOCUMENT, groupsOf, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import type { Harness } from '../support/harness.js';
import { PEOPLE } from '../support/harness.js';
import { buttonLabels, useHarness } from '../support/scenario-helpers.js';

const POLICY_NAME = 'BillingCustomReadOnly';
const CUSTOM_POLICY = `arn:aws:iam::${ACCOUNT_ID}:policy/${POLICY_NAME}`;
const employee = PEOPLE.employee.id;
const { admin1, admin2 } = PEOPLE;

/** BillingReadOnly holds the customer-managed policy (v1: billing only) instead of the AWS managed one. */
async function holdCustomerPolicy(h: Harness): Promise<void> {
  expect(await createCustomerPolicy(h.iam, POLICY_NAME, BILLING_ONLY_DOCUMENT)).toBe(CUSTOM_POLICY);
  await h.iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
  await h.iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: CUSTOM_POLICY }));
}

/** Someone with iam:CreatePolicyVersion widens the policy: v2, allowing everything, becomes the default. */
async function editDefaultVersion(h: Harness): Promise<void> {
  await h.iam.send(new CreatePolicyVersionCommand({ PolicyArn: CUSTOM_POLICY, PolicyDocument: JSON.stringify(EVERYTHING_DOCUMENT), SetAsDefault: true }));
}

describe('the group guard with a customer-managed policy', () => {
  const harness = useHarness({ env: { BILLING_GROUP_POLICIES: `read-only=${CUSTOM_POLICY}` } });

  it('an edited default version allowing "*" fails the approval naming it, with no AddUserToGroup; the untouched version grants on Retry', async () => {
    const h = harness();
    await holdCustomerPolicy(h);
    await editDefaultVersion(h);
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');

    await h.click(admin1.id, 'approve', request.id);
    const failed = await h.waitForStatus(request.id, 'FAILED');
    expect(failed.failure?.name).toBe('GroupPolicyMismatch');
    expect(failed.failure?.message).toContain(`${CUSTOM_POLICY} (default version v2) statement 1 allows * (outside the billing namespaces)`);
    expect(failed.expiresAt).toBeUndefined();
    expect(h.iamProxy.count('GetPolicy')).toBeGreaterThanOrEqual(1);
    expect(h.iamProxy.count('GetPolicyVersion')).toBeGreaterThanOrEqual(1);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();
    const failedMessage = h.adminMessages()[0];
    expect(JSON.stringify(failedMessage?.blocks)).toContain('GroupPolicyMismatch');
    expect(JSON.stringify(failedMessage?.blocks)).toContain(CUSTOM_POLICY);
    expect(buttonLabels(failedMessage)).toEqual(['Retry']);

    await h.iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: CUSTOM_POLICY, VersionId: 'v1' }));
    expect((await h.click(admin2.id, 'retry', request.id)).status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.expiresAt).toBeTruthy();
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
  });

  it('the access review lists the edited default version as policy drift of the group', async () => {
    const h = harness();
    await holdCustomerPolicy(h);
    const now = new Date();
    const from = new Date(now.getTime() - 7 * 24 * 3_600_000).toISOString();
    const before = await h.bot.deps.summaries.build(from, now.toISOString());
    expect(before.groups.find((g) => g.groupName === 'BillingReadOnly')?.policyProblems).toEqual([]);

    await editDefaultVersion(h);
    const after = await h.bot.deps.summaries.build(from, now.toISOString());
    const group = after.groups.find((g) => g.groupName === 'BillingReadOnly');
    expect(group?.error).toBeUndefined();
    expect(group?.policyProblems).toEqual([`${CUSTOM_POLICY} (default version v2) statement 1 allows * (outside the billing namespaces)`]);
  });
});
