/**
 * Slack faults at the outgoing calls of the admins' own actions and of who counts as an admin
 * (issue 14, point 1, continued from slack-faults.test.ts, on the same rig): the Keep button's
 * chat.update of the summary, the views.open of the deny modal, and usergroups.users.list when
 * admins are a Slack user group; each meets every fault the stand-in answers with. Then a Slack
 * that did the work but whose answer never reached the bot (a relay in front of the stand-in
 * holds the answer past the client's timeout): the table stays right and the person is told at
 * worst twice, never not at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { VIEW } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import type { FakeSlack, StoredMessage } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, type Harness, PEOPLE } from '../support/harness.js';
import { adminMessageOf } from '../support/lifecycle-scenarios.js';
import { scenario } from '../support/reliability.js';
import { buttonLabels, messageContent } from '../support/scenario-helpers.js';
import {
  ALL,
  approved,
  arm,
  CLIENT_TIMEOUT_MS,
  dmsAbout,
  employee,
  expectGaveUp,
  expectRateLimitHonoured,
  type FaultBot,
  injected,
  pending,
  RATELIMITED,
  redeliveredBySweep,
  type Site,
  stored,
  useFaultBot,
} from '../support/slack-fault-rig.js';
import { SlackRelay } from '../support/slack-relay.js';
import { onDemandSummaries, textOf } from '../support/summary-helpers.js';

const { admin1, admin2, outsider } = PEOPLE;
const { clock, start } = useFaultBot();

// ---------------------------------------------------------------------------
// Keep on the summary: the chat.update that shows who kept the grant
// ---------------------------------------------------------------------------

/** The on-demand summary (posted by admin2) with jane's grant and its Keep button. */
async function summaryWithGrant(h: Harness, fb: FaultBot): Promise<{ grant: AccessRequest; summary: StoredMessage }> {
  const grant = await approved(h, fb, await pending(h, fb));
  await fb.bot.deps.summaries.postOnDemand(admin2.id, ADMIN_CHANNEL);
  const [summary] = onDemandSummaries(h);
  expect(summary, 'no summary was posted').toBeDefined();
  expect(buttonLabels(summary)).toEqual(['Keep', 'Revoke']);
  return { grant, summary: summary as StoredMessage };
}

describe('Slack faults: the Keep button updating the summary (chat.update)', () => {
  it.each(ALL)('$name: the review is recorded; the summary shows it, or the admin is told it was recorded', async (c) => {
    const s = scenario({ id: `slack-keep-update-${c.name}`, area: 'Slack', injected: injected("chat.update of the summary after an admin's Keep", c) });
    const { h, fb } = await start();
    const { grant, summary } = await summaryWithGrant(h, fb);
    const site: Site = { method: 'chat.update', when: (a) => a.ts === summary.ts };
    const summaryNow = () => onDemandSummaries(h)[0];
    arm(h, site, c);
    await fb.click(admin2.id, 'keep', grant.id, summary);
    await fb.idle();
    const kept = await stored(h, grant.id);
    expect(kept.status).toBe('ACTIVE');
    expect(kept.reviewedBy).toBe(admin2.id);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, site);
      expect(textOf(summaryNow())).toContain(`Kept by <@${admin2.id}>`);
      expect(h.ephemeralsFor(admin2.id)).toEqual([]);
      s.held({ times, userSaw: 'the admin: "Kept by" in place of the buttons, about 1.5 s late', finalState: 'ACTIVE, review recorded', lost: 'nothing' });
      return;
    }

    const times = await expectGaveUp(h, site, c);
    expect(summaryNow()?.edited).toBeUndefined();
    expect(buttonLabels(summaryNow())).toEqual(['Keep', 'Revoke']);
    // The admin is told the truth: the review is stored; only the message is behind.
    const told = h.ephemeralsFor(admin2.id).map((m) => m.text);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(`Your Keep of \`${grant.id}\` is recorded`);
    expect(told[0]).not.toContain('nothing was changed');

    // Slack answers again: Keep on the same message shows it.
    h.slack.clearFaults();
    await fb.click(admin2.id, 'keep', grant.id, summary);
    await fb.idle();
    expect(textOf(summaryNow())).toContain(`Kept by <@${admin2.id}>`);
    expect(buttonLabels(summaryNow())).toEqual([]);
    expect((await stored(h, grant.id)).reviewedBy).toBe(admin2.id);
    expect(h.ephemeralsFor(admin2.id)).toHaveLength(1);
    s.held({
      times,
      userSaw: 'the admin: an ephemeral "Your Keep is recorded (the next summary shows it), but this message could not be updated"; a second Keep updated it',
      finalState: 'ACTIVE, review recorded at the first click; the summary shows "Kept by" after the second',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// Deny: the views.open of the reason modal
// ---------------------------------------------------------------------------

describe('Slack faults: opening the deny modal (views.open)', () => {
  const site: Site = { method: 'views.open' };

  it.each(ALL)('$name: the modal opens, or the admin is told at once; the request stays PENDING with its buttons', async (c) => {
    const s = scenario({ id: `slack-deny-modal-${c.name}`, area: 'Slack', injected: injected('views.open of the deny modal', c) });
    const { h, fb } = await start();
    const request = await pending(h, fb);
    arm(h, site, c);
    await fb.click(admin1.id, 'deny', request.id);
    // Deny opens its modal right after the ack (the trigger_id expires in 3 s): wait for the modal or the refusal.
    await h.slack.waitFor(() => h.slack.openedViews().length > 0 || h.ephemeralsFor(admin1.id).length > 0);
    const after = await stored(h, request.id);
    expect(after.status).toBe('PENDING');
    expect(after.decidedBy).toBeUndefined();
    expect(buttonLabels(adminMessageOf(h, after))).toEqual(['Approve', 'Deny']);
    expect(h.dms(employee)).toHaveLength(0);

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, site);
      expect(h.slack.openedViews().map((v) => v.view.callback_id)).toEqual([VIEW.deny]);
      expect(h.ephemeralsFor(admin1.id)).toEqual([]);
      s.held({ times, userSaw: 'the admin: the deny modal, about 1 s late', finalState: 'PENDING until the modal is submitted', lost: 'nothing' });
      return;
    }

    const times = await expectGaveUp(h, site, c);
    expect(h.slack.openedViews()).toHaveLength(0);
    const told = h.ephemeralsFor(admin1.id).map((m) => m.text);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('Something went wrong on our side and nothing was changed.');
    expect(told[0]).toMatch(/Reference `[0-9a-f]{8}`/);

    // Slack answers again: the same click opens the modal.
    h.slack.clearFaults();
    await fb.click(admin1.id, 'deny', request.id);
    await h.slack.waitFor(() => h.slack.openedViews().length > 0);
    expect(h.slack.openedViews().map((v) => v.view.callback_id)).toEqual([VIEW.deny]);
    expect((await stored(h, request.id)).status).toBe('PENDING');
    s.held({
      times,
      userSaw: 'the admin: "Something went wrong on our side and nothing was changed" with a reference id, at once; a second Deny opened the modal',
      finalState: 'PENDING with Approve / Deny, nothing decided',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// Admins named by a Slack user group: usergroups.users.list
// ---------------------------------------------------------------------------

const ADMIN_GROUP = 'S0BILLADMINS';

/**
 * Gives the stand-in the user group (the Harness starts it with none). The stand-in keeps its
 * user groups in one record that usergroups.users.list reads.
 */
function seedUsergroup(slack: FakeSlack, id: string, members: string[]): void {
  (slack as unknown as { usergroups: Record<string, string[]> }).usergroups[id] = members;
}

describe('Slack faults: reading the admin user group (usergroups.users.list)', () => {
  const site: Site = { method: 'usergroups.users.list' };
  /** admin1 is listed; admin2 is an admin only as a member of the user group. */
  const byGroup = (base: Config): Config => ({
    ...base,
    adminUserIds: [admin1.id],
    adminUsergroupId: ADMIN_GROUP,
  });

  it.each(ALL)("$name: nobody becomes an admin on a failed read; the clicker is told why; the group's admin decides once Slack answers", async (c) => {
    const s = scenario({
      id: `slack-admin-usergroup-${c.name}`,
      area: 'Slack',
      injected: injected('usergroups.users.list when a member of the admin user group approves', c),
    });
    const { h, fb } = await start({ config: byGroup });
    seedUsergroup(h.slack, ADMIN_GROUP, [admin2.id]);
    const request = await pending(h, fb);
    arm(h, site, c);
    await fb.click(admin2.id, 'approve', request.id);
    await fb.idle();

    if (c === RATELIMITED) {
      const times = expectRateLimitHonoured(h, site);
      const active = await stored(h, request.id);
      expect(active.status).toBe('ACTIVE');
      expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin2.id}>`);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
      s.held({ times, userSaw: 'admins: "Approved by" the group member, about 1.5 s late', finalState: 'ACTIVE, in the group', lost: 'nothing' });
      return;
    }

    const times = await expectGaveUp(h, site, c);
    const expectUndecided = async () => {
      const after = await stored(h, request.id);
      expect(after.status).toBe('PENDING');
      expect(after.approvals).toEqual([]);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
      expect(await groupsOf(h.iam, 'jane.doe')).toEqual([]);
      expect(buttonLabels(adminMessageOf(h, after))).toEqual(['Approve', 'Deny']);
    };
    await expectUndecided();
    const told = h.ephemeralsFor(admin2.id).map((m) => m.text);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('Slack did not say who the billing admins are right now');
    expect(told[0]).toContain('nothing was changed');
    expect(told[0]).toMatch(/Reference `[0-9a-f]{8}`/);

    // Someone outside the group, clicking while the group cannot be read, is refused as well.
    await fb.click(outsider.id, 'approve', request.id);
    await fb.idle();
    await expectUndecided();
    expect(h.ephemeralsFor(outsider.id)).toHaveLength(1);
    expect(h.dms(employee)).toHaveLength(0);

    // Slack answers again: the group member's click approves.
    h.slack.clearFaults();
    await fb.click(admin2.id, 'approve', request.id);
    await fb.idle();
    const active = await stored(h, request.id);
    expect(active.status).toBe('ACTIVE');
    expect(active.decidedBy).toBe(admin2.id);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
    s.held({
      times,
      userSaw:
        'the clicker (group member or not): "Slack did not say who the billing admins are right now … nothing was changed" with a reference id; a click after Slack answered approved',
      finalState: 'PENDING with no approval and nobody in the group while the group could not be read; ACTIVE once after',
      lost: 'nothing',
    });
  });
});

// ---------------------------------------------------------------------------
// Slack did the work, its answer never came back
// ---------------------------------------------------------------------------

interface Unanswered {
  /** For scenario ids: `slack-done-unanswered-<name>`. */
  name: string;
  site: Site;
  /** Set: this many calls' answers are held; unset: every call's until cleared. */
  times?: number;
  words: string;
}

const UNANSWERED: Unanswered[] = [
  {
    name: 'grant-dm-once',
    site: { method: 'chat.postMessage', when: (a) => a.channel === employee },
    times: 1,
    words: "the requester's grant DM posted, its answer held past the client's timeout, once (a post is not sent again after a timeout)",
  },
  {
    name: 'admin-update-once',
    site: { method: 'chat.update' },
    times: 1,
    words: "the admin message's update after an approval applied, its answer held past the client's timeout, once (the client retries)",
  },
  {
    name: 'admin-update-every-attempt',
    site: { method: 'chat.update' },
    words: "the admin message's update after an approval applied, its answer held past the client's timeout on every attempt until cleared",
  },
];

describe("Slack faults: Slack did the work, its answer was lost past the client's timeout", () => {
  let relay: SlackRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it.each(UNANSWERED)('$name: ACTIVE and in the group once; the requester told once or twice, the admin message right', async (c) => {
    const s = scenario({ id: `slack-done-unanswered-${c.name}`, area: 'Slack', injected: c.words });
    const { h, fb } = await start({
      config: async (base, harness) => {
        relay = await SlackRelay.start(harness.slack.apiUrl);
        return { ...base, slack: { ...base.slack, apiUrl: relay.apiUrl } };
      },
    });
    const r = relay as SlackRelay;
    const request = await pending(h, fb);
    r.holdAnswers(c.site.method, { ...(c.times ? { times: c.times } : {}), ...(c.site.when ? { when: c.site.when } : {}) });
    const active = await approved(h, fb, request);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    // Slack carried every held call out; the bot never heard back from it.
    expect(r.answersWithheld).toBe(c.times ?? 2);
    expect(adminMessageOf(h, active)?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(buttonLabels(adminMessageOf(h, active))).toEqual(['Revoke']);
    const grantDms = () => dmsAbout(h, /active until/);

    if (c.times !== undefined && c.site.method === 'chat.update') {
      // An update is sent again after a timeout (it is idempotent): the retry went through, the notice counts as delivered.
      expect(active.noticeDue).toBeUndefined();
      expect(grantDms()).toBe(1);
      s.held({
        times: c.times,
        userSaw: 'requester: the grant DM once; admins: "Approved by" (the message updated twice to the same words)',
        finalState: 'ACTIVE, in the group once',
        lost: 'nothing',
      });
      return;
    }

    // The bot cannot know the call landed (a post is not sent again after a timeout; an update's every answer was lost), so the notice stays due.
    expect(active.noticeDue).toBe('DUE');
    expect(grantDms()).toBe(1);
    r.clear();
    const after = await redeliveredBySweep(h, fb, clock, request.id, 'ACTIVE');
    expect(adminMessageOf(h, after)?.text).toContain(`Approved by <@${admin1.id}>`);
    // The sweeper sends every notice of the state again: the DM comes twice at worst (PRODUCT §2).
    expect(grantDms()).toBe(2);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    expect(await groupsOf(h.iam, 'jane.doe')).toEqual(['BillingReadOnly']);
    expect(messageContent(h.dms(employee)[1])).toContain(request.id);
    s.held({
      times: c.times ?? 2,
      userSaw:
        c.site.method === 'chat.update'
          ? `admins: "Approved by" at once (Slack applied the update; its answers were held past ${CLIENT_TIMEOUT_MS} ms); requester: the grant DM, and once more from the next sweep`
          : 'requester: the grant DM at once (Slack posted it; its answer was held), and once more from the next sweep, never a third time; admins: "Approved by"',
      finalState: 'ACTIVE, in the group once; noticeDue kept until a sweep heard Slack answer',
      lost: 'nothing',
    });
  });
});
