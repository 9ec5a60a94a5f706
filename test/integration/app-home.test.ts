/**
 * The App Home tab end to end: the signed app_home_opened event publishes the viewer's Home
 * (views.publish on the Slack stand-in), and its buttons act as the admin channel's do, with
 * the same server-side checks. A Home click names no channel: it counts for admins as the admin
 * channel does, and refusals reach the clicker as a DM.
 */
import { describe, expect, it } from 'vitest';
import { ACTION, VIEW } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { buildViewSubmission } from '../../testkit/slack-payloads.js';
import { ADMIN_CHANNEL, type Harness, PEOPLE } from '../support/harness.js';
import { activeGrant, buttonLabels, messageContent, pendingRequest, stored, useHarness } from '../support/scenario-helpers.js';

const employee = PEOPLE.employee.id;
const { admin1, admin2, outsider } = PEOPLE;

interface Button {
  type: string;
  text: { text: string };
  action_id: string;
  value: string;
}

/** Every button of a view, in order (actions blocks and section accessories). */
function buttons(view: Record<string, unknown>): Button[] {
  const found: Button[] = [];
  for (const block of (view.blocks ?? []) as { type: string; accessory?: Button; elements?: Button[] }[]) {
    if (block.accessory?.type === 'button') found.push(block.accessory);
    if (block.type === 'actions') for (const el of block.elements ?? []) if (el.type === 'button') found.push(el);
  }
  return found;
}

const text = (view: Record<string, unknown>) => JSON.stringify(view.blocks);
const publishesFor = (h: Harness, userId: string) => h.slack.calls('views.publish').filter((c) => c.args.user_id === userId && c.ok).length;

/** Waits for the next publish of `userId`'s Home after `before` publishes, and returns the view. */
async function republished(h: Harness, userId: string, before: number): Promise<Record<string, unknown>> {
  await h.slack.waitFor(() => publishesFor(h, userId) > before);
  await h.idle();
  const home = h.slack.homeOf(userId);
  if (!home) throw new Error(`no Home for ${userId}`);
  return home.view;
}

describe('App Home', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe' }, { name: 'alice.admin' }] });

  it('an employee’s Home shows their grant with Done, their recent requests and a Request button, and no admin part', async () => {
    const h = harness();
    const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
    const denied = await pendingRequest(h, employee, 'full 1d look at the tax settings please');
    await h.click(admin1.id, 'deny', denied.id);
    await h.submitDenyModal(admin1.id, denied.id, 'read-only is enough');
    await h.waitForStatus(denied.id, 'DENIED');
    await h.idle();

    const view = await h.publishedHome(employee);
    expect(view.type).toBe('home');
    expect(view.callback_id).toBe(VIEW.home);
    expect(buttons(view).map((b) => [b.text.text, b.action_id, b.value])).toEqual([
      ['Done', ACTION.homeDone, grant.id],
      ['Request', ACTION.homeRequest, 'request'],
    ]);
    expect(text(view)).toContain('read-only');
    expect(text(view)).toContain(grant.id);
    expect(text(view)).toContain(denied.id);
    expect(text(view)).toContain('Denied by');
    expect(text(view)).not.toContain('Pending requests');
    expect(text(view)).not.toContain('Active grants');
    // The Messages tab publishes nothing.
    const before = publishesFor(h, employee);
    expect((await h.openHome(employee, 'messages')).status).toBe(200);
    await h.idle();
    expect(publishesFor(h, employee)).toBe(before);
  });

  it('Done on the Home ends the grant as `done` does: out of the IAM group, REVOKED by the holder, Home republished', async () => {
    const h = harness();
    const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    await h.publishedHome(employee);
    const before = publishesFor(h, employee);

    expect((await h.homeClick(employee, 'homeDone', grant.id)).status).toBe(200);
    const ended = await h.waitForStatus(grant.id, 'REVOKED');
    const view = await republished(h, employee, before);

    expect(ended.endedBy).toBe(employee);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(buttons(view).map((b) => b.text.text)).toEqual(['Request']);
    expect(text(view)).toContain('You hold no billing access');
    expect(messageContent(h.adminMessages()[0])).toContain(`revoked by <@${employee}>`);
  });

  it('Done on someone else’s grant is refused by DM and changes nothing', async () => {
    const h = harness();
    const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
    await h.homeClick(outsider.id, 'homeDone', grant.id);
    await h.slack.waitFor(() => h.dms(outsider.id).length === 1);
    await h.idle();
    expect(h.dms(outsider.id)[0]?.text).toContain('was not ended');
    expect((await stored(h, grant.id)).status).toBe('ACTIVE');
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(0);
  });

  it('Request on the Home opens the /request-billing modal; submitting it files the request and republishes the Home', async () => {
    const h = harness();
    await h.publishedHome(employee);
    await h.homeClick(employee, 'homeRequest', 'request');
    await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
    const [opened] = h.slack.openedViews();
    const modal = opened?.view as { callback_id?: string; private_metadata?: string; blocks?: { block_id?: string }[] };
    expect(modal.callback_id).toBe(VIEW.request);
    expect(modal.blocks?.map((b) => b.block_id)).toEqual(['level', 'duration', 'justification']);

    const before = publishesFor(h, employee);
    const submit = await h.post(
      buildViewSubmission({
        userId: employee,
        callbackId: VIEW.request,
        privateMetadata: modal.private_metadata ?? '',
        values: {
          level: { level: { type: 'static_select', selected_option: { value: 'read-only' } } },
          duration: { duration: { type: 'static_select', selected_option: { value: '7' } } },
          justification: { justification: { type: 'plain_text_input', value: 'month-end close for October' } },
        },
      }),
    );
    expect(submit.status).toBe(200);
    const view = await republished(h, employee, before);
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    expect(text(view)).toContain(request?.id);
    expect(h.adminMessages()).toHaveLength(1);
  });

  it('an admin’s Home shows pending requests with Approve and Deny and active grants with Revoke, with the admin channel’s action ids', async () => {
    const h = harness();
    const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
    const pending = await pendingRequest(h, employee, 'full 1d look at the tax settings please');

    const view = await h.publishedHome(admin2.id);
    const labelled = buttons(view).map((b) => [b.text.text, b.action_id, b.value]);
    expect(labelled).toEqual([
      ['Request', ACTION.homeRequest, 'request'],
      ['Approve', ACTION.approve, pending.id],
      ['Deny', ACTION.deny, pending.id],
      ['Revoke', ACTION.revoke, grant.id],
    ]);
    expect(text(view)).toContain('Pending requests');
    expect(text(view)).toContain('Active grants');
    expect(text(view)).toContain(`<@${employee}>`);
  });

  it('Approve on an admin’s Home grants in IAM, updates the admin message and republishes the Home', async () => {
    const h = harness();
    const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
    await h.publishedHome(admin1.id);
    const before = publishesFor(h, admin1.id);

    expect((await h.homeClick(admin1.id, 'approve', request.id)).status).toBe(200);
    const granted = await h.waitForStatus(request.id, 'ACTIVE');
    const view = await republished(h, admin1.id, before);

    expect(granted.decidedBy).toBe(admin1.id);
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    const message = h.adminMessages()[0];
    expect(h.adminMessages()).toHaveLength(1);
    expect(message?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(buttonLabels(message)).toEqual(['Revoke']);
    expect(buttons(view).map((b) => [b.text.text, b.value])).toEqual([
      ['Request', 'request'],
      ['Revoke', request.id],
    ]);
    expect(h.dms(admin1.id)).toHaveLength(0);
  });

  it('Deny on an admin’s Home opens the deny modal, and its submission denies with the Home as its origin', async () => {
    const h = harness();
    const request = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
    await h.homeClick(admin2.id, 'deny', request.id);
    await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
    const modal = h.slack.openedViews()[0]?.view as { callback_id?: string; private_metadata?: string };
    expect(modal.callback_id).toBe(VIEW.deny);
    expect(JSON.parse(modal.private_metadata ?? '{}')).toMatchObject({ requestId: request.id, from: 'home' });

    const before = publishesFor(h, admin2.id);
    await h.post(
      buildViewSubmission({
        userId: admin2.id,
        callbackId: VIEW.deny,
        privateMetadata: modal.private_metadata ?? '',
        values: { reason: { reason: { type: 'plain_text_input', value: 'not needed this quarter' } } },
      }),
    );
    const denied = await h.waitForStatus(request.id, 'DENIED');
    await republished(h, admin2.id, before);
    expect(denied.decidedBy).toBe(admin2.id);
    expect(h.adminMessages()[0]?.text).toContain(`Denied by <@${admin2.id}>`);
    expect(h.dms(admin2.id)).toHaveLength(0);
  });

  it('Revoke on an admin’s Home ends the grant and takes the user out of the group', async () => {
    const h = harness();
    const grant = await activeGrant(h, employee, 'read-only 7d month-end close for October');
    await h.homeClick(admin2.id, 'revoke', grant.id);
    const revoked = await h.waitForStatus(grant.id, 'REVOKED');
    await h.idle();
    expect(revoked.endedBy).toBe(admin2.id);
    expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(messageContent(h.adminMessages()[0])).toContain(`revoked by <@${admin2.id}>`);
    expect(h.slack.homeOf(admin2.id)).toBeDefined();
  });

  it('the Home gives no way round the checks: own request, non-admin, a click from a modal', async () => {
    const h = harness();
    // An admin cannot approve their own request from their Home.
    const own = await pendingRequest(h, admin1.id, 'read-only 7d audit of the invoices please');
    await h.homeClick(admin1.id, 'approve', own.id);
    await h.slack.waitFor(() => h.dms(admin1.id).length === 1);
    expect(h.dms(admin1.id)[0]?.text).toContain('You cannot decide on your own request');

    // A non-admin's Home has no admin part, and a forged Approve from it is refused.
    const theirs = await pendingRequest(h, employee, 'read-only 7d month-end close for October');
    const outsiderHome = await h.publishedHome(outsider.id);
    expect(buttons(outsiderHome).map((b) => b.text.text)).toEqual(['Request']);
    await h.homeClick(outsider.id, 'approve', theirs.id);
    await h.homeClick(outsider.id, 'revoke', theirs.id);
    await h.slack.waitFor(() => h.dms(outsider.id).length === 2);
    // The two clicks' jobs run side by side: either refusal may come first.
    expect(
      h
        .dms(outsider.id)
        .map((m) => m.text)
        .sort(),
    ).toEqual([expect.stringContaining('Only billing admins can decide'), expect.stringContaining('Only billing admins can revoke')]);

    // A click on a view that is not a Home (a modal) names no channel: refused as before, in the admin channel.
    await h.homeClick(admin2.id, 'approve', theirs.id, { viewType: 'modal' });
    await h.slack.waitFor(() => h.ephemeralsFor(admin2.id).length === 1);
    expect(h.ephemeralsFor(admin2.id)[0]?.text).toContain('only taken in the admin channel');
    expect(h.ephemeralsFor(admin2.id)[0]?.channel).toBe(ADMIN_CHANNEL);

    await h.idle();
    expect((await stored(h, own.id)).status).toBe('PENDING');
    expect((await stored(h, theirs.id)).status).toBe('PENDING');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
  });

  it('a Home that was opened is published again after its owner’s own command; nobody else’s is', async () => {
    const h = harness();
    const before = await h.publishedHome(employee);
    expect(text(before)).not.toContain('quarterly cost review');
    const publishes = publishesFor(h, employee);
    const request = await h.requestByText(employee, 'read-only 7d quarterly cost review');
    const after = await republished(h, employee, publishes);
    expect(text(after)).toContain(request.id);
    // admin1 never opened a Home here: their commands publish none.
    await h.requestByText(admin1.id, 'read-only 7d budget check');
    await h.idle();
    expect(publishesFor(h, admin1.id)).toBe(0);
  });

  it('a request filed through the modal opened by the command also brings an opened Home up to date', async () => {
    const h = harness();
    await h.publishedHome(employee);
    const publishes = publishesFor(h, employee);
    const res = await h.submitRequestModal(employee, { level: 'read-only', duration: '7', justification: 'quarterly cost review for the platform team' });
    expect(res.status).toBe(200);
    const after = await republished(h, employee, publishes);
    const [filed] = await h.bot.deps.store.listByRequester(employee, 1);
    expect(filed?.justification).toBe('quarterly cost review for the platform team');
    expect(text(after)).toContain(filed?.id);
  });
});
