import { AttachGroupPolicyCommand, DetachGroupPolicyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { VIEW } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { PEOPLE } from '../support/harness.js';
import { buttonLabels, messageContent, sentMessages, useHarness } from '../support/scenario-helpers.js';

const employee = PEOPLE.employee.id;
const { admin1, admin2, admin3 } = PEOPLE;
const EXTRA_POLICY = 'arn:aws:iam::aws:policy/AdministratorAccess';

describe('decisions', () => {
  const harness = useHarness();

  it('Deny opens the deny modal; submitting it with a reason denies, updates the admin message and DMs the reason', async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');

    const click = await h.click(admin1.id, 'deny', request.id);
    expect(click.status).toBe(200);
    await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
    const [opened] = h.slack.openedViews();
    const view = opened?.view as { callback_id?: string; private_metadata?: string };
    expect(view.callback_id).toBe(VIEW.deny);
    expect(view.private_metadata).toContain(request.id);
    expect((await h.bot.deps.store.get(request.id))?.status).toBe('PENDING');

    const submit = await h.submitDenyModal(admin1.id, request.id, 'not needed this quarter');
    expect(submit.status).toBe(200);
    const denied = await h.waitForStatus(request.id, 'DENIED');
    expect(denied.decidedBy).toBe(admin1.id);
    expect(denied.denyReason).toBe('not needed this quarter');
    expect(denied.decidedAt).toBeTruthy();

    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();
    const updated = h.adminMessages()[0];
    expect(h.adminMessages()).toHaveLength(1);
    expect(updated?.text).toContain(`Denied by <@${admin1.id}>`);
    expect(updated?.text).toContain('not needed this quarter');
    expect(JSON.stringify(updated?.blocks)).toContain(`Denied by <@${admin1.id}>`);
    expect(JSON.stringify(updated?.blocks)).toContain('not needed this quarter');
    expect(messageContent(updated)).toContain(`<@${employee}>`);
    expect(messageContent(updated)).toContain('read-only');
    expect(buttonLabels(updated)).toEqual([]);

    const dm = h.dms(employee)[0];
    expect(messageContent(dm)).toContain('not needed this quarter');
    expect(messageContent(dm)).toMatch(/denied/);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'DENIED']);
  });

  it('twelve concurrent Approve clicks from three admins grant exactly once; the others are told it was already decided', async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');
    const admins = [admin1.id, admin2.id, admin3.id];

    const clicks = await Promise.all(Array.from({ length: 12 }, (_, i) => h.click(admins[i % 3] as string, 'approve', request.id)));
    expect(clicks.map((c) => c.status)).toEqual(Array(12).fill(200));

    const active = await h.waitForStatus(request.id, 'ACTIVE');
    const losers = () => admins.flatMap((id) => h.ephemeralsFor(id));
    await h.slack.waitFor(() => losers().length >= 11 && h.dms(employee).length >= 1);
    await h.idle();

    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.dms(employee)).toHaveLength(1);
    expect(active.approvals).toHaveLength(1);
    expect(admins).toContain(active.decidedBy);

    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.filter((e) => e.to === 'APPROVED')).toHaveLength(1);
    expect(events.filter((e) => e.to === 'ACTIVE')).toHaveLength(1);

    const refusals = losers();
    expect(refusals).toHaveLength(11);
    for (const m of refusals) {
      expect(m.text).toMatch(/already decided/);
      expect(m.text).toContain(`<@${active.decidedBy}>`);
    }
    const updated = h.adminMessages()[0];
    expect(h.adminMessages()).toHaveLength(1);
    expect(updated?.text).toContain(`Approved by <@${active.decidedBy}>`);
    expect(buttonLabels(updated)).not.toContain('Approve');
  });

  it('an IAM failure leaves the request FAILED with the error and a Retry button; after the group is fixed, Retry grants', async () => {
    const h = harness();
    await h.iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: EXTRA_POLICY }));
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');

    await h.click(admin1.id, 'approve', request.id);
    const failed = await h.waitForStatus(request.id, 'FAILED');
    expect(failed.failure?.name).toBe('GroupPolicyMismatch');
    expect(failed.failure?.message).toContain(EXTRA_POLICY);
    expect(failed.expiresAt).toBeUndefined();
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();

    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    const failedMessage = h.adminMessages()[0];
    expect(failedMessage?.text).toContain('GroupPolicyMismatch');
    expect(JSON.stringify(failedMessage?.blocks)).toContain('GroupPolicyMismatch');
    expect(JSON.stringify(failedMessage?.blocks)).toContain(EXTRA_POLICY);
    expect(buttonLabels(failedMessage)).toEqual(['Retry']);
    // The requester is told, with a reference, but never the AWS detail (policy ARNs, account ids).
    const told = messageContent(h.dms(employee)[0]);
    expect(told).toMatch(/did not go through/);
    expect(told).toContain(request.id);
    expect(told).not.toContain(EXTRA_POLICY);
    expect(told).not.toContain('GroupPolicyMismatch');

    await h.iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: EXTRA_POLICY }));
    const retry = await h.click(admin2.id, 'retry', request.id);
    expect(retry.status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.expiresAt).toBeTruthy();
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    await h.slack.waitFor(() => h.dms(employee).length === 2);
    await h.idle();

    const fixed = h.adminMessages()[0];
    expect(fixed?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(buttonLabels(fixed)).not.toContain('Retry');
    expect(messageContent(h.dms(employee)[1])).toMatch(/active until/);
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'APPROVED', 'ACTIVE']);
  });

  it("a second request for a level already held is an extension: the grant's expiry moves later and the user is not added again", async () => {
    const h = harness();
    const grant = await h.requestByText(employee, 'read-only 7d month-end close for October');
    await h.click(admin1.id, 'approve', grant.id);
    const active = await h.waitForStatus(grant.id, 'ACTIVE');
    await h.idle();
    const firstExpiry = active.expiresAt as string;
    expect(firstExpiry).toBeTruthy();
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);

    const res = await h.command(employee, 'read-only 7d the audit needs another week');
    await h.slack.waitFor(() => h.adminMessages().length === 2 && h.replies(res.key).length > 0);
    await h.idle();
    const extension = (await h.requestsOf(employee)).find((r) => r.id !== grant.id);
    expect(extension?.status).toBe('PENDING');
    expect(extension?.extendsRequestId).toBe(grant.id);
    const extensionMessage = h.adminMessages()[1];
    expect(extensionMessage?.text).toMatch(/extension/i);
    expect(JSON.stringify(extensionMessage?.blocks)).toMatch(/extension/i);
    expect(h.replies(res.key).join('\n')).toMatch(/[Ee]xtension/);
    expect(h.replies(res.key).join('\n')).toContain(firstExpiry.replace('T', ' ').slice(0, 16));
    expect(h.replies(res.key).join('\n')).toContain(extension?.id ?? 'missing');

    await h.click(admin2.id, 'approve', extension?.id ?? '');
    await h.waitForStatus(extension?.id ?? '', 'EXTENDED');
    await h.idle();
    const moved = await h.bot.deps.store.get(grant.id);
    expect(moved?.status).toBe('ACTIVE');
    expect(Date.parse(moved?.expiresAt ?? '')).toBeGreaterThan(Date.parse(firstExpiry));
    expect(Date.parse(moved?.expiresAt ?? '') - Date.parse(firstExpiry)).toBe(7 * 24 * 3600 * 1000);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.adminMessages()[1]?.text).toMatch(/extension/i);
    expect(h.adminMessages()[1]?.text).toContain(`Approved by <@${admin2.id}>`);
  });
});

describe('decisions: APPROVALS_REQUIRED=full=2', () => {
  const harness = useHarness({ env: { APPROVALS_REQUIRED: 'full=2' } });

  it('the first approval is recorded and keeps the buttons, the same admin cannot count twice, the second admin completes', async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'full 7d update the payment method');
    expect(request.approvalsRequired).toBe(2);

    await h.click(admin1.id, 'approve', request.id);
    await h.slack.waitFor(() => h.slack.calls('chat.update').length === 1);
    await h.idle();
    const recorded = await h.bot.deps.store.get(request.id);
    expect(recorded?.status).toBe('PENDING');
    expect(recorded?.approvals.map((a) => a.by)).toEqual([admin1.id]);
    const afterFirst = h.adminMessages()[0];
    expect(buttonLabels(afterFirst)).toEqual(['Approve', 'Deny']);
    expect(messageContent(afterFirst)).toContain(`<@${admin1.id}>`);
    expect(messageContent(afterFirst)).toMatch(/1 of 2/);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);

    await h.click(admin1.id, 'approve', request.id);
    await h.slack.waitFor(() => h.ephemeralsFor(admin1.id).length === 1);
    await h.idle();
    expect(h.ephemeralsFor(admin1.id)[0]?.text).toMatch(/already approved/);
    const still = await h.bot.deps.store.get(request.id);
    expect(still?.status).toBe('PENDING');
    expect(still?.approvals).toHaveLength(1);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);

    await h.click(admin2.id, 'approve', request.id);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.approvals.map((a) => a.by)).toEqual([admin1.id, admin2.id]);
    expect(active.decidedBy).toBe(admin2.id);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingFull');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();
    const done = h.adminMessages()[0];
    expect(done?.text).toContain(`Approved by <@${admin1.id}>, <@${admin2.id}>`);
    expect(JSON.stringify(done?.blocks)).toContain(`Approved by <@${admin1.id}>, <@${admin2.id}>`);
    expect(buttonLabels(done)).not.toContain('Approve');
  });
});

describe('decisions: IAM_MODE=dry-run', () => {
  const harness = useHarness({ env: { IAM_MODE: 'dry-run' } });

  it('an approval becomes ACTIVE with dryRun, IAM is not changed, and every message is marked [dry-run]', async () => {
    const h = harness();
    const request = await h.requestByText(employee, 'read-only 7d month-end close for October');
    expect(request.dryRun).toBe(true);
    await h.click(admin1.id, 'approve', request.id);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.dryRun).toBe(true);
    expect(active.expiresAt).toBeTruthy();
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();

    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');

    const sent = sentMessages(h);
    expect(sent.filter((m) => m.via === 'chat.postMessage').length).toBeGreaterThanOrEqual(2);
    expect(sent.filter((m) => m.via === 'chat.update').length).toBeGreaterThanOrEqual(1);
    expect(sent.filter((m) => m.via.startsWith('response_url')).length).toBeGreaterThanOrEqual(1);
    for (const m of sent) {
      expect(m.text, `${m.via}: ${m.text}`).toContain('[dry-run]');
    }
    expect(h.adminMessages()[0]?.text).toContain(`Approved by <@${admin1.id}>`);
  });
});
