import { describe, expect, it } from 'vitest';
import { ACTION } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { buildBlockAction, buildCommand, randomTriggerId } from '../../testkit/slack-payloads.js';
import { ADMIN_CHANNEL, BOT_TOKEN, type Harness, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';
import { buttonLabels, everythingSent, LoggedBot, messageContent, UNKNOWN_REQUEST_ID, useHarness, waitForAnswer } from '../support/scenario-helpers.js';

const employee = PEOPLE.employee.id;
const { admin1, admin2, outsider } = PEOPLE;
const REQUEST_TEXT = 'read-only 7d month-end close for October';

/** The request is exactly as it was: same status, same version, nothing granted. */
async function expectUnchanged(h: Harness, requestId: string, version: number) {
  await h.idle();
  const now = await h.bot.deps.store.get(requestId);
  expect(now?.status).toBe('PENDING');
  expect(now?.version).toBe(version);
  expect(now?.approvals).toEqual([]);
  expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
  expect(await groupsOf(h.iam, 'jane.doe')).not.toContain('BillingReadOnly');
  expect(h.slack.calls('chat.update')).toEqual([]);
  expect(h.dms(employee)).toEqual([]);
  expect(h.slack.calls('views.open')).toEqual([]);
}

describe('security: signatures', () => {
  const harness = useHarness();

  it('a bad signature and a 6-minute-old timestamp get 401 and store nothing', async () => {
    const h = harness();
    const body = () => buildCommand({ user_id: employee, text: REQUEST_TEXT, team_id: TEAM, response_url: h.slack.responseUrl('forged') });

    const badSignature = await h.post(body(), { signature: `v0=${'0'.repeat(64)}` });
    expect(badSignature.status).toBe(401);
    const wrongSecret = await h.post(body(), { signature: 'v0=not-even-hex' });
    expect(wrongSecret.status).toBe(401);
    const stale = await h.post(body(), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);

    await h.idle();
    expect(await h.requestsOf(employee)).toEqual([]);
    expect(await h.bot.deps.store.listByIamUser('jane.doe')).toEqual([]);
    expect(h.adminMessages()).toEqual([]);
    expect(h.slack.responses()).toEqual([]);
    expect(h.slack.calls().filter((c) => c.method !== 'auth.test')).toEqual([]);
  });

  it('a forged Approve click gets 401 and changes nothing', async () => {
    const h = harness();
    const request = await h.requestByText(employee, REQUEST_TEXT);
    const stored = await h.bot.deps.store.get(request.id);
    const click = buildBlockAction({ userId: admin1.id, channelId: ADMIN_CHANNEL, actionId: ACTION.approve, value: request.id });
    expect((await h.post(click, { signature: `v0=${'a'.repeat(64)}` })).status).toBe(401);
    expect((await h.post(click, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    await expectUnchanged(h, request.id, stored?.version ?? -1);
  });
});

describe('security: who may decide', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe' }, { name: 'alice.admin' }] });

  it("a non-admin's Approve click is refused with an ephemeral in the admin channel; the request stays PENDING", async () => {
    const h = harness();
    const request = await h.requestByText(employee, REQUEST_TEXT);
    const version = (await h.bot.deps.store.get(request.id))?.version ?? -1;

    const res = await h.click(outsider.id, 'approve', request.id);
    expect(res.status).toBe(200);
    const refusal = await h.slack.waitFor(() => h.ephemeralsFor(outsider.id)[0]);
    expect(refusal.channel).toBe(ADMIN_CHANNEL);
    expect(refusal.text).toMatch(/Only billing admins/);

    // Deny is checked before any modal opens.
    await h.click(outsider.id, 'deny', request.id);
    await h.slack.waitFor(() => h.ephemeralsFor(outsider.id).length === 2);
    await expectUnchanged(h, request.id, version);
    expect(buttonLabels(h.adminMessages()[0])).toEqual(['Approve', 'Deny']);
  });

  it('an admin cannot approve (or deny) their own request', async () => {
    const h = harness();
    const request = await h.requestByText(admin1.id, REQUEST_TEXT);
    expect(request.iamUserName).toBe('alice.admin');
    const version = (await h.bot.deps.store.get(request.id))?.version ?? -1;

    await h.click(admin1.id, 'approve', request.id);
    const refusal = await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0]);
    expect(refusal.text).toMatch(/own request/);
    await h.click(admin1.id, 'deny', request.id);
    await h.slack.waitFor(() => h.ephemeralsFor(admin1.id).length === 2);
    expect(h.ephemeralsFor(admin1.id)[1]?.text).toMatch(/own request/);

    await h.idle();
    const now = await h.bot.deps.store.get(request.id);
    expect(now?.status).toBe('PENDING');
    expect(now?.version).toBe(version);
    expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(await groupsOf(h.iam, 'alice.admin')).toEqual([]);
    expect(h.slack.calls('views.open')).toEqual([]);

    // Another admin still can.
    await h.click(admin2.id, 'approve', request.id);
    await h.waitForStatus(request.id, 'ACTIVE');
  });

  it('an Approve click from a channel other than the admin channel is refused', async () => {
    const h = harness();
    const request = await h.requestByText(employee, REQUEST_TEXT);
    const version = (await h.bot.deps.store.get(request.id))?.version ?? -1;

    const res = await h.click(admin1.id, 'approve', request.id, 'C0GENERAL');
    expect(res.status).toBe(200);
    const refusal = await h.slack.waitFor(() => h.slack.messages().find((m) => m.ephemeralTo === admin1.id));
    expect(refusal.text).toMatch(/admin channel/);
    await expectUnchanged(h, request.id, version);
    // Nothing visible to everyone went to the other channel.
    expect(h.slack.messages('C0GENERAL').filter((m) => !m.ephemeralTo)).toEqual([]);
  });

  it('an Approve click for a request id that does not exist is refused clearly and changes nothing', async () => {
    const h = harness();
    const request = await h.requestByText(employee, REQUEST_TEXT);
    const version = (await h.bot.deps.store.get(request.id))?.version ?? -1;

    await h.click(admin1.id, 'approve', UNKNOWN_REQUEST_ID);
    const refusal = await h.slack.waitFor(() => h.ephemeralsFor(admin1.id)[0]);
    expect(refusal.text).toContain(UNKNOWN_REQUEST_ID);
    expect(refusal.text).toMatch(/No request/);

    await h.click(admin1.id, 'approve', 'not-a-request-id');
    await h.slack.waitFor(() => h.ephemeralsFor(admin1.id).length === 2);
    expect(h.ephemeralsFor(admin1.id)[1]?.text).toMatch(/No request/);

    await expectUnchanged(h, request.id, version);
    expect(await h.bot.deps.store.get(UNKNOWN_REQUEST_ID)).toBeUndefined();
    expect(h.adminMessages()).toHaveLength(1);
  });
});

describe('security: who may request', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe' }, { name: 'gus' }, { name: 'ext' }] });

  const cases = [
    { who: 'a guest', person: PEOPLE.guest, iamUser: 'gus', says: /Guest/ },
    { who: 'a Slack Connect user from another team', person: PEOPLE.external, iamUser: 'ext', says: /workspace|Slack Connect/ },
    { who: 'a partner-domain email (jane.doe@partner.com)', person: PEOPLE.partner, iamUser: 'jane.doe', says: /partner\.com/ },
  ];

  for (const c of cases) {
    it(`${c.who} is refused and nothing is stored`, async () => {
      const h = harness();
      const res = await h.command(c.person.id, REQUEST_TEXT);
      expect(res.status).toBe(200);
      const answer = await waitForAnswer(h, res);
      expect(answer).toMatch(c.says);
      await h.idle();
      expect(await h.requestsOf(c.person.id)).toEqual([]);
      expect(await h.bot.deps.store.listByIamUser(c.iamUser)).toEqual([]);
      expect(h.adminMessages()).toEqual([]);
      expect(h.slack.calls('chat.postMessage')).toEqual([]);
      expect(h.iamProxy.count('AddUserToGroup')).toBe(0);
    });
  }

  it('a Slack Connect command (team_id of the other workspace) is refused too', async () => {
    const h = harness();
    const key = 'connect';
    const res = await h.post(buildCommand({ user_id: PEOPLE.external.id, team_id: 'T0OTHER', text: REQUEST_TEXT, response_url: h.slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    const answer = await waitForAnswer(h, { ...res, key });
    expect(answer).toMatch(/workspace|Slack Connect/);
    await h.idle();
    expect(await h.requestsOf(PEOPLE.external.id)).toEqual([]);
    expect(h.adminMessages()).toEqual([]);
  });
});

describe('security: escaping user text', () => {
  const harness = useHarness();

  it('a justification with <!channel>, a user mention, a disguised link and & is escaped in the admin message', async () => {
    const h = harness();
    const justification = 'hey <!channel> ask <@U0ADMIN1> to log in at <https://evil.example|login> & approve';
    const res = await h.command(employee, `read-only 7d ${justification}`);
    await h.slack.waitFor(() => h.adminMessages().length === 1 && h.replies(res.key).length > 0);
    await h.idle();
    const [stored] = await h.requestsOf(employee);
    expect(stored?.justification).toBe(justification);

    const posted = h.adminMessages()[0];
    const blocks = JSON.stringify(posted?.blocks);
    expect(blocks).toContain('&lt;!channel&gt;');
    expect(blocks).toContain('&lt;@U0ADMIN1&gt;');
    expect(blocks).toContain('&lt;https://evil.example|login&gt;');
    expect(blocks).toContain('&amp; approve');
    for (const raw of ['<!channel>', '<@U0ADMIN1>', '<https://evil.example', '& approve']) {
      expect(blocks).not.toContain(raw);
      expect(posted?.text).not.toContain(raw);
    }

    const sent = everythingSent(h, [res]);
    expect(sent).not.toContain('<!channel>');
    expect(sent).not.toContain('<https://evil.example');
    expect(sent).not.toContain('<@U0ADMIN1>');
  });

  it('a deny reason is escaped in the admin message and the requester DM', async () => {
    const h = harness();
    const request = await h.requestByText(employee, REQUEST_TEXT);
    await h.click(admin1.id, 'deny', request.id);
    await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
    await h.submitDenyModal(admin1.id, request.id, 'no <!here> see <https://evil.example|policy> & <@U0ADMIN2>');
    await h.waitForStatus(request.id, 'DENIED');
    await h.slack.waitFor(() => h.dms(employee).length === 1);
    await h.idle();

    const updated = messageContent(h.adminMessages()[0]);
    const dm = messageContent(h.dms(employee)[0]);
    for (const content of [updated, dm]) {
      expect(content).toContain('&lt;!here&gt;');
      expect(content).not.toContain('<!here>');
      expect(content).not.toContain('<https://evil.example');
      expect(content).not.toContain('<@U0ADMIN2>');
    }
    const sent = everythingSent(h);
    expect(sent).not.toContain('<!here>');
    expect(sent).not.toContain('<https://evil.example');
  });
});

describe('security: logs', () => {
  const harness = useHarness({ users: [{ name: 'jane.doe' }, { name: 'mallory' }] });

  for (const level of ['info', 'debug'] as const) {
    it(`at LOG_LEVEL=${level} the logs never contain the bot token, signing secret, a response_url or a trigger_id`, async () => {
      const h = harness();
      const bot = await LoggedBot.start(h, level);
      try {
        const responseUrls: string[] = [];
        const triggerIds: string[] = [];
        const url = (key: string) => {
          const u = h.slack.responseUrl(`${level}-${key}`);
          responseUrls.push(u);
          return u;
        };
        const trigger = () => {
          const t = randomTriggerId();
          triggerIds.push(t);
          return t;
        };

        // A text request, a refused one, the modal (open and submit), and a refused command.
        expect((await bot.command(employee, REQUEST_TEXT, url('text'), trigger())).status).toBe(200);
        await h.slack.waitFor(() => h.adminMessages().length === 1);
        await bot.idle();
        expect((await bot.command(employee, 'bogus 7d some justification here', url('bogus'), trigger())).status).toBe(200);
        expect((await bot.command(employee, '', url('modal'), trigger())).status).toBe(200);
        await h.slack.waitFor(() => h.slack.calls('views.open').length === 1);
        const modal = await bot.submitRequestModal(employee, { level: 'full', duration: '1', justification: 'update the payment method' });
        expect(modal.status).toBe(200);
        await h.slack.waitFor(() => h.adminMessages().length === 2);
        await bot.idle();
        const [full, readOnly] = await h.requestsOf(employee);
        expect(full?.level).toBe('full');
        expect(readOnly?.level).toBe('read-only');

        // A refused click whose ephemeral also fails at Slack (so the failure is logged).
        h.slack.setFailure('chat.postEphemeral', 'user_not_in_channel');
        await bot.click(outsider.id, 'approve', readOnly?.id ?? '', url('outsider'), trigger());
        await h.slack.waitFor(() => h.slack.calls('chat.postEphemeral').length === 1);
        await bot.idle();
        h.slack.setFailure('chat.postEphemeral', null);

        // A views.open that Slack refuses (its error is logged).
        h.slack.setFailure('views.open', 'expired_trigger_id');
        await bot.command(employee, '', url('modal-expired'), trigger());
        await h.slack.waitFor(() => h.slack.responses(`${level}-modal-expired`).length === 1);
        h.slack.setFailure('views.open', null);

        // Deny (opens a modal with the click's trigger_id) and approve.
        await bot.click(admin1.id, 'deny', full?.id ?? '', url('deny'), trigger());
        await h.slack.waitFor(() => h.slack.calls('views.open').filter((c) => c.ok).length === 2);
        await bot.click(admin1.id, 'approve', readOnly?.id ?? '', url('approve'), trigger());
        await h.waitForStatus(readOnly?.id ?? '', 'ACTIVE');
        await h.slack.waitFor(() => h.dms(employee).length >= 1);
        await bot.idle();

        const logs = bot.logs.text;
        expect(bot.logs.lines.length).toBeGreaterThan(5);
        expect(logs).toContain(readOnly?.id ?? 'missing');
        const secrets = [BOT_TOKEN, SIGNING_SECRET, ...responseUrls, ...triggerIds];
        const leaked = secrets.filter((secret) => logs.includes(secret));
        const leakingLines = bot.logs.lines.filter((line) => leaked.some((secret) => line.includes(secret))).map((line) => line.slice(0, 240));
        expect({ leaked, leakingLines }).toEqual({ leaked: [], leakingLines: [] });
        expect(logs).not.toMatch(/xoxb-/);
        expect(logs).not.toContain('/response/');
        expect(logs).not.toMatch(/1234\.5678\.[0-9a-f]{8}/);
      } finally {
        await bot.stop();
      }
    });
  }
});
