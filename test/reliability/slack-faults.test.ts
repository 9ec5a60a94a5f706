/**
 * Issue 14, point 1 (Slack): each outgoing Slack Web API call the bot makes in a request's life
 * meets each fault the Slack stand-in can answer with (playground/standin-faults.ts): HTTP 429
 * `ratelimited` with `Retry-After`, the Slack errors `channel_not_found`, `not_in_channel` and
 * `invalid_auth`, an HTTP 503, and an answer held past the client's timeout.
 *
 * The calls: the request's post to the admin channel, the admin message's chat.update, the
 * requester's DM, a thread reply, an ephemeral refusal, views.open, users.info, and the summary
 * post. For each, the table and IAM stay right and what was not delivered is delivered later
 * (noticeDue kept until a sweep delivers it, a re-post, a re-claimed summary period) or the
 * person acting is told at once. A 429 is waited out: the stand-in's call log shows the retry
 * arriving at least Retry-After after the refused call.
 *
 * The bot under test is started beside the Harness (same config, table, Slack stand-in, IAM
 * proxy and clock) with its Web API client at 1 retry and a 500 ms timeout per attempt, so a
 * fault that outlasts the retries costs well under two seconds; production keeps the same
 * mechanism with 3 retries and 10 s (src/bot.ts). One Harness serves the file (starting one
 * costs seconds); every test gets an emptied table, IAM groups, Slack stand-in and a new bot.
 */
import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { ADMIN_CHANNEL, PEOPLE } from '../support/harness.js';
import { adminMessageOf, threadOf } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { messageContent } from '../support/scenario-helpers.js';
import {
  ALL,
  approved,
  arm,
  dmsAbout,
  employee,
  expectGaveUp,
  expectRateLimitHonoured,
  type FaultCase,
  HOUR_MS,
  injected,
  LASTING,
  PAST_GRACE_MS,
  pending,
  RATELIMITED,
  REQUEST_TEXT,
  redeliveredBySweep,
  type Site,
  stored,
  useFaultBot,
} from '../support/slack-fault-rig.js';
import { headerOf, spanOf, WEEKLY_TITLE, weeklySummaries } from '../support/summary-helpers.js';

const { admin1, outsider } = PEOPLE;

const SITES = {
  adminPost: { method: 'chat.postMessage', when: (a) => a.channel === ADMIN_CHANNEL && a.thread_ts === undefined },
  adminUpdate: { method: 'chat.update' },
  requesterDm: { method: 'chat.postMessage', when: (a) => a.channel === employee },
  threadReply: { method: 'chat.postMessage', when: (a) => a.thread_ts !== undefined },
  ephemeral: { method: 'chat.postEphemeral' },
  viewsOpen: { method: 'views.open' },
  usersInfo: { method: 'users.info' },
  summaryPost: { method: 'chat.postMessage', when: (a) => a.channel === ADMIN_CHANNEL && a.thread_ts === undefined },
} satisfies Record<string, Site>;

// ---------------------------------------------------------------------------
// The admin-channel post of a new request
// ---------------------------------------------------------------------------

const { clock, start } = useFaultBot();

describe('Slack faults: posting a new request to the admin channel (chat.postMessage)', () => {
  it.each(ALL)('$name: the request is stored, and posted once (live or by the sweeper)', async (c) => {
    const s = scenario({ id: `slack-admin-post-${c.name}`, area: 'Slack', injected: injected('the admin-channel post of a new request', c) });
    const { h, fb } = await start();
    arm(h, SITES.adminPost, c);
    const res = await fb.command(employee, REQUEST_TEXT);
    await fb.idle();
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    const reply = h.replies(res.key).join('\n');
    expect(reply).toContain(`Request \`${request?.id}\``);
    const id = (request as AccessRequest).id;

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.adminPost);
      expect(reply).not.toContain('could not be told yet');
      expect((await stored(h, id)).adminMessage).toBeTruthy();
      expect(h.adminMessages()).toHaveLength(1);
      clock.advance(PAST_GRACE_MS);
      expect((await fb.sweep()).reposted).toBe(0);
      expect(h.adminMessages()).toHaveLength(1);
      s.held({
        times,
        userSaw: 'requester: the usual confirmation; admins: the request message, about 1.5 s late',
        finalState: 'PENDING, posted once',
        lost: 'nothing',
      });
      return;
    }

    const times = await expectGaveUp(h, SITES.adminPost, c);
    expect(reply).toContain('The admin channel could not be told yet; the request is stored and will be posted again.');
    expect((await stored(h, id)).adminMessage).toBeUndefined();
    expect(h.adminMessages()).toHaveLength(0);

    // Slack answers again; past the grace period the sweeper posts the request, once.
    h.slack.clearFaults();
    clock.advance(PAST_GRACE_MS);
    const report = await fb.sweep();
    expect(report.reposted).toBe(1);
    expect(report.errors).toBe(0);
    const after = await stored(h, id);
    expect(after.status).toBe('PENDING');
    expect(h.adminMessages()).toHaveLength(1);
    expect(h.adminMessages()[0]?.ts).toBe(after.adminMessage?.ts);
    expect(messageContent(h.adminMessages()[0])).toContain(id);
    expect((await fb.sweep()).reposted).toBe(0);
    expect(h.adminMessages()).toHaveLength(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
    s.held({
      times,
      userSaw: 'requester: the confirmation with "the admin channel could not be told yet; the request is stored and will be posted again"',
      finalState: 'PENDING, stored at once; posted to the admin channel once, by the next sweep after the grace period',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// After an approval: the admin message's update and the requester's DM
// ---------------------------------------------------------------------------

describe('Slack faults: updating the admin message after an approval (chat.update)', () => {
  it.each(ALL)('$name: the grant is made, and the message updated live or by the sweeper', async (c) => {
    const s = scenario({ id: `slack-admin-update-${c.name}`, area: 'Slack', injected: injected('chat.update of the admin message after an approval', c) });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.adminUpdate, c);
    const active = await approved(h, fb, request);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(dmsAbout(h, /approved by/i)).toBe(1);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.adminUpdate);
      expect(active.noticeDue).toBeUndefined();
      expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
      s.held({
        times,
        userSaw: 'admins: "Approved by" in the message, about 1.5 s late; requester: one DM',
        finalState: 'ACTIVE, in the group',
        lost: 'nothing',
      });
      return;
    }

    const times = await expectGaveUp(h, SITES.adminUpdate, c);
    expect(active.noticeDue).toBe('DUE');
    expect(adminMessageOf(h, active)?.text).not.toContain('Approved by');

    h.slack.clearFaults();
    const after = await redeliveredBySweep(h, fb, clock, request.id, 'ACTIVE');
    expect(adminMessageOf(h, after)?.text).toContain(`Approved by <@${admin1.id}>`);
    // The sweeper sends every notice of the state again: the DM may come twice (PRODUCT §2), never more.
    expect(dmsAbout(h, /approved by/i)).toBeGreaterThanOrEqual(1);
    expect(dmsAbout(h, /approved by/i)).toBeLessThanOrEqual(2);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
    s.held({
      times,
      userSaw: 'requester: the approval DM at once (a second copy when the sweeper re-sends); admins: "Approved by" once the next sweep ran',
      finalState: 'ACTIVE, in the group once; noticeDue kept until the sweep delivered the update',
      lost: 'nothing',
    });
  });
});

describe("Slack faults: the requester's DM after an approval (chat.postMessage to the user id)", () => {
  it.each(ALL)('$name: the grant is made, and the DM sent live or by the sweeper, once', async (c) => {
    const s = scenario({ id: `slack-requester-dm-${c.name}`, area: 'Slack', injected: injected("the requester's approval DM", c) });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.requesterDm, c);
    const active = await approved(h, fb, request);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.requesterDm);
      expect(active.noticeDue).toBeUndefined();
      expect(dmsAbout(h, /approved by/i)).toBe(1);
      s.held({ times, userSaw: 'requester: the approval DM, about 1.5 s late; admins: "Approved by"', finalState: 'ACTIVE, in the group', lost: 'nothing' });
      return;
    }

    const times = await expectGaveUp(h, SITES.requesterDm, c);
    expect(active.noticeDue).toBe('DUE');
    expect(h.dms(employee)).toHaveLength(0);

    h.slack.clearFaults();
    await redeliveredBySweep(h, fb, clock, request.id, 'ACTIVE');
    expect(h.dms(employee)).toHaveLength(1);
    expect(dmsAbout(h, /approved by/i)).toBe(1);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
    s.held({
      times,
      userSaw: 'admins: "Approved by" at once; requester: the approval DM once, from the next sweep after the grace period',
      finalState: 'ACTIVE, in the group once; noticeDue kept until the DM went out',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// At expiry: the reply in the admin message's thread
// ---------------------------------------------------------------------------

describe("Slack faults: the expiry reply in the admin message's thread (chat.postMessage with thread_ts)", () => {
  it.each(ALL)('$name: the grant ends and leaves the group; the thread reply is posted live or by the sweeper', async (c) => {
    const s = scenario({ id: `slack-thread-reply-${c.name}`, area: 'Slack', injected: injected('the expiry reply in the admin thread', c) });
    const { h, fb } = await start();
    const active = await approved(h, fb, await pending(h, fb));
    expect(active.noticeDue).toBeUndefined();

    arm(h, SITES.threadReply, c);
    clock.set(new Date(Date.parse(active.expiresAt as string) + 1_000));
    const swept = await fb.sweep();
    expect(swept.expired).toBe(1);
    await fb.idle();
    const expired = await stored(h, active.id);
    expect(expired.status).toBe('EXPIRED');
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
    const expiredReplies = () => threadOf(h, expired).filter((m) => m.text.includes('Access expired')).length;

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.threadReply);
      expect(expired.noticeDue).toBeUndefined();
      expect(expiredReplies()).toBe(1);
      expect(dmsAbout(h, /expired/i)).toBe(1);
      s.held({
        times,
        userSaw: 'admins: the expiry reply in the thread, about 1.5 s late; requester: the expiry DM',
        finalState: 'EXPIRED, out of the group',
        lost: 'nothing',
      });
      return;
    }

    const times = await expectGaveUp(h, SITES.threadReply, c);
    expect(expired.noticeDue).toBe('DUE');
    expect(expiredReplies()).toBe(0);

    h.slack.clearFaults();
    await redeliveredBySweep(h, fb, clock, active.id, 'EXPIRED');
    expect(expiredReplies()).toBe(1);
    expect(dmsAbout(h, /expired/i)).toBeGreaterThanOrEqual(1);
    expect(dmsAbout(h, /expired/i)).toBeLessThanOrEqual(2);
    expect(h.iamProxy.count('RemoveUserFromGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
    s.held({
      times,
      userSaw: 'requester: the expiry DM at once (a second copy when the sweeper re-sends); admins: the thread reply once, from the next sweep',
      finalState: 'EXPIRED, out of the group; noticeDue kept until the thread reply went out',
      lost: 'nothing',
    });
  });
});

describe("Slack faults: a reminder in the admin message's thread (chat.postMessage with thread_ts)", () => {
  it('ratelimited: the reminder is posted after the Retry-After', async () => {
    const c = RATELIMITED;
    const s = scenario({ id: 'slack-reminder-ratelimited', area: 'Slack', injected: injected('the pending-request reminder in the admin thread', c) });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.threadReply, c);
    clock.advance(HOUR_MS + 1_000);
    const report = await fb.sweep();
    expect(report.reminded).toBe(1);
    expect(report.errors).toBe(0);
    const times = expectRateLimitHonoured(h, SITES.threadReply);
    expect(threadOf(h, request).filter((m) => m.text.includes('Reminder'))).toHaveLength(1);
    expect((await stored(h, request.id)).status).toBe('PENDING');
    s.held({ times, userSaw: 'admins: the reminder in the thread, about 1.5 s late', finalState: 'PENDING, one reminder counted', lost: 'nothing' });
  });

  // The sweeper claims a reminder before posting it (one replica posts it); when Slack refuses it,
  // the claim is given back, so the next sweep posts it instead of waiting for the next, doubled gap.
  it('503 until cleared: a reminder Slack refused is posted by the next sweep', async () => {
    const c = LASTING.find((f) => f.name === '5xx') as FaultCase;
    const s = scenario({ id: 'slack-reminder-5xx-retried', area: 'Slack', injected: injected('chat.postMessage of a reminder in the admin thread', c) });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.threadReply, c);
    clock.advance(HOUR_MS + 1_000);
    await fb.sweep();
    await expectGaveUp(h, SITES.threadReply, c);
    expect(threadOf(h, request)).toHaveLength(0);

    h.slack.clearFaults();
    clock.advance(PAST_GRACE_MS);
    await fb.sweep();
    expect(threadOf(h, request).filter((m) => m.text.includes('Reminder'))).toHaveLength(1);
    expect((await stored(h, request.id)).remindersSent).toBe(1);
    s.held({ times: 2, userSaw: 'admins: the reminder in the thread, one sweep late', finalState: 'PENDING, one reminder counted', lost: 'nothing' });
  });
});

// ---------------------------------------------------------------------------
// users.info when an admin approves
// ---------------------------------------------------------------------------

describe('Slack faults: reading profiles at an approval (users.info)', () => {
  it.each(ALL)('$name: the approval goes through, or is refused with the admin told and nothing changed', async (c) => {
    const s = scenario({
      id: `slack-users-info-approval-${c.name}`,
      area: 'Slack',
      injected: injected('users.info at an approval (approver and requester re-checked)', c),
    });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.usersInfo, c);
    await fb.click(admin1.id, 'approve', request.id);
    await fb.idle();

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.usersInfo);
      const active = await stored(h, request.id);
      expect(active.status).toBe('ACTIVE');
      expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
      expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
      s.held({ times, userSaw: 'admins: "Approved by", about 1.5 s late; requester: the approval DM', finalState: 'ACTIVE, in the group', lost: 'nothing' });
      return;
    }

    const times = await expectGaveUp(h, SITES.usersInfo, c);
    const after = await stored(h, request.id);
    expect(after.status).toBe('PENDING');
    expect(after.approvals).toEqual([]);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
    const told = h.ephemeralsFor(admin1.id).map((m) => m.text);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('Something went wrong on our side and nothing was changed.');
    expect(h.dms(employee)).toHaveLength(0);

    // Slack answers again: the same click approves.
    h.slack.clearFaults();
    await fb.click(admin1.id, 'approve', request.id);
    await fb.idle();
    expect((await stored(h, request.id)).status).toBe('ACTIVE');
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    s.held({
      times,
      userSaw: 'the approving admin: an ephemeral "Something went wrong on our side and nothing was changed" with a reference id; a second click approved',
      finalState: 'PENDING with no approval while Slack failed; ACTIVE, in the group once, after the second click',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// An ephemeral refusal of a click
// ---------------------------------------------------------------------------

describe('Slack faults: the ephemeral refusal of a non-admin click (chat.postEphemeral)', () => {
  it.each(ALL)('$name: the click changes nothing; the refusal reaches the clicker, as an ephemeral or through the response_url', async (c) => {
    const s = scenario({
      id: `slack-ephemeral-refusal-${c.name}`,
      area: 'Slack',
      injected: injected("the ephemeral refusal of a non-admin's Approve click", c),
    });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, SITES.ephemeral, c);
    await fb.click(outsider.id, 'approve', request.id);
    await fb.idle();
    const after = await stored(h, request.id);
    expect(after.status).toBe('PENDING');
    expect(after.approvals).toEqual([]);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
    const refusals = h.ephemeralsFor(outsider.id).filter((m) => m.text.includes('Only billing admins can decide'));

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.ephemeral);
      expect(refusals).toHaveLength(1);
      s.held({
        times,
        userSaw: 'the clicker: "Only billing admins can decide on requests", about 1.5 s late',
        finalState: 'PENDING, no approval, nothing in IAM',
        lost: 'nothing',
      });
      return;
    }

    const times = await expectGaveUp(h, SITES.ephemeral, c);
    expect(refusals).toHaveLength(0);
    expect(fb.events('slack.ephemeral_failed')).toHaveLength(1);
    // The refusal goes through the click's response_url instead, as an ephemeral that replaces nothing.
    const fallback = h.slack.responses(`click-${outsider.id}`).map((r) => r.body as { text?: string; response_type?: string; replace_original?: boolean });
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(fallback[0]?.text).toContain('Only billing admins can decide');
    s.held({
      times,
      userSaw:
        'the clicker: "Only billing admins can decide on requests" through the click\'s response_url (Slack refused the ephemeral; logged as slack.ephemeral_failed)',
      finalState: 'PENDING, no approval, nothing in IAM',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// views.open for /request-billing with no text
// ---------------------------------------------------------------------------

describe('Slack faults: opening the request modal (views.open)', () => {
  it.each(ALL)('$name: the modal opens, or the requester is told at once; nothing is stored', async (c) => {
    const s = scenario({ id: `slack-views-open-${c.name}`, area: 'Slack', injected: injected('views.open of the request modal', c) });
    const { h, fb } = await start();
    arm(h, SITES.viewsOpen, c);
    const res = await fb.command(employee, '');
    // views.open runs after the ack, off the work queue: wait for its outcome (the modal, or a reply).
    await h.slack.waitFor(() => h.slack.openedViews().length > 0 || h.replies(res.key).length > 0);
    expect(await h.requestsOf(employee)).toEqual([]);
    expect(h.adminMessages()).toHaveLength(0);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.viewsOpen);
      expect(h.slack.openedViews()).toHaveLength(1);
      expect(h.replies(res.key)).toEqual([]);
      s.held({ times, userSaw: 'requester: the request modal, about 1.5 s late', finalState: 'nothing stored until the modal is submitted', lost: 'nothing' });
      return;
    }

    const reply = await h.waitForReply(res.key);
    const times = await expectGaveUp(h, SITES.viewsOpen, c);
    expect(h.slack.openedViews()).toHaveLength(0);
    expect(reply).toContain('Something went wrong on our side and nothing was changed.');
    expect(reply).toMatch(/Reference `[0-9a-f]{8}`/);
    s.held({
      times,
      userSaw: 'requester: "Something went wrong on our side and nothing was changed" with a reference id, at once',
      finalState: 'nothing stored; the requester may run the command again',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// users.info when a request is made
// ---------------------------------------------------------------------------

describe("Slack faults: reading the requester's profile (users.info)", () => {
  it.each(ALL)('$name: the request is stored and posted, or refused at once with nothing stored', async (c) => {
    const s = scenario({ id: `slack-users-info-${c.name}`, area: 'Slack', injected: injected('users.info of the requester at /request-billing', c) });
    const { h, fb } = await start();
    arm(h, SITES.usersInfo, c);
    const res = await fb.command(employee, REQUEST_TEXT);
    await fb.idle();
    const reply = await h.waitForReply(res.key);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, SITES.usersInfo);
      const [request] = await h.requestsOf(employee);
      expect(request?.status).toBe('PENDING');
      expect(reply).toContain(`Request \`${request?.id}\``);
      expect(h.adminMessages()).toHaveLength(1);
      s.held({
        times,
        userSaw: 'requester: the usual confirmation, about 1.5 s late; admins: the request message',
        finalState: 'PENDING, posted once',
        lost: 'nothing',
      });
      return;
    }

    const times = await expectGaveUp(h, SITES.usersInfo, c);
    expect(reply).toContain('Something went wrong on our side and nothing was changed.');
    expect(reply).toMatch(/Reference `[0-9a-f]{8}`/);
    expect(await h.requestsOf(employee)).toEqual([]);
    expect(h.adminMessages()).toHaveLength(0);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);

    // Once Slack answers again, the same command goes through.
    h.slack.clearFaults();
    await fb.command(employee, REQUEST_TEXT);
    await fb.idle();
    const [request] = await h.requestsOf(employee);
    expect(request?.status).toBe('PENDING');
    expect(h.adminMessages()).toHaveLength(1);
    s.held({
      times,
      userSaw: 'requester: "Something went wrong on our side and nothing was changed" with a reference id, at once',
      finalState: 'nothing stored, nothing posted; the same command afterwards is stored and posted once',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// The scheduled summary post
// ---------------------------------------------------------------------------

describe('Slack faults: posting the scheduled summary (chat.postMessage)', () => {
  const FIRING = '2030-03-04T10:00:00.000Z';

  it.each(ALL)('$name: the period is posted once, live or by the claimant’s next run', async (c) => {
    const s = scenario({ id: `slack-summary-post-${c.name}`, area: 'Slack', injected: injected('the scheduled summary post', c) });
    const { h, fb } = await start();
    const summaries = fb.bot.deps.summaries;
    expect(await summaries.runDue()).toBe(0);
    arm(h, SITES.summaryPost, c);
    clock.set('2030-03-04T10:00:30.000Z');

    if (c === RATELIMITED) {
      expect(await summaries.runDue()).toBe(1);
      const times = expectRateLimitHonoured(h, SITES.summaryPost);
      expect(weeklySummaries(h)).toHaveLength(1);
      expect(spanOf(weeklySummaries(h)[0]).to).toBe(FIRING);
      expect((await h.bot.deps.store.getPeriod(FIRING))?.posted).toBeTruthy();
      s.held({ times, userSaw: 'admins: the summary, about 1.5 s late', finalState: 'period posted once', lost: 'nothing' });
      return;
    }

    await expect(summaries.runDue()).rejects.toThrow();
    const times = await expectGaveUp(h, SITES.summaryPost, c);
    expect(weeklySummaries(h)).toHaveLength(0);
    const claimed = await h.bot.deps.store.getPeriod(FIRING);
    expect(claimed).toBeDefined();
    expect(claimed?.posted).toBeFalsy();

    // Slack answers again; the period is still this replica's (its claim's lease), and its next run posts it.
    h.slack.clearFaults();
    clock.advance(60_000);
    expect(await summaries.runDue()).toBe(1);
    expect(await summaries.runDue()).toBe(0);
    expect(weeklySummaries(h)).toHaveLength(1);
    expect(spanOf(weeklySummaries(h)[0]).to).toBe(FIRING);
    expect(headerOf(weeklySummaries(h)[0])).toBe(WEEKLY_TITLE);
    expect((await h.bot.deps.store.getPeriod(FIRING))?.posted).toBeTruthy();
    s.held({
      times,
      userSaw: 'admins: the summary once, from the next run after Slack answered again (a sweep later)',
      finalState: 'period claimed, then posted once',
      lost: 'nothing',
    });
  });
});
