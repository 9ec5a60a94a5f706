import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { ACTION } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { buildBlockAction } from '../../testkit/slack-payloads.js';
import { postToBot } from '../../testkit/slack-signing.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { BotProcess } from '../support/bot-process.js';
import { adminPosts as adminPostsOf, approveUntilHeld, BotFleet, employeeDms, settled } from '../support/crash-points.js';
import { ADMIN_CHANNEL, PEOPLE, SIGNING_SECRET } from '../support/harness.js';
import { eventually, ProcessRig } from '../support/process-rig.js';

const TABLE = 'billing-access-test';
const { admin1, admin2 } = PEOPLE;

describe('crash between the APPROVED write and the IAM call', () => {
  let rig: ProcessRig;
  let bots: BotFleet;

  beforeEach(async () => {
    rig = await ProcessRig.start(workerAwsEndpoint(), TABLE);
    bots = new BotFleet();
  });

  afterEach(async () => {
    await bots?.stopAll();
    await rig?.stop();
  });

  afterAll(async () => {
    await BotProcess.killAll();
  });

  it('SIGKILL while AddUserToGroup is held: the restarted bot finishes the grant once, DMs once, and a replayed Approve changes nothing', async () => {
    const env = await rig.botEnv({ SWEEP_INTERVAL_SECONDS: '5' });
    const adminPosts = () => adminPostsOf(rig);
    const dms = () => employeeDms(rig);

    const { first, request } = await approveUntilHeld(rig, bots, env, 'AddUserToGroup');
    const approved = await rig.store.get(request.id);
    expect(approved?.status).toBe('APPROVED');
    expect(approved?.decidedBy).toBe(admin1.id);

    await bots.kill(first);
    rig.proxy.release('AddUserToGroup');
    expect((await rig.store.get(request.id))?.status).toBe('APPROVED');
    expect(dms()).toHaveLength(0);

    const second = await bots.start(env);
    const logs2 = () => `second bot:\n${second.logTail}`;
    const active = await eventually(
      'the restarted bot to finish the grant',
      async () => {
        const current = await rig.store.get(request.id);
        return current?.status === 'ACTIVE' ? current : undefined;
      },
      20_000,
      logs2,
    );
    expect(active.expiresAt).toBeTruthy();
    expect(await groupsOf(rig.iam, 'jane.doe')).toContain('BillingReadOnly');

    // Every notice of the grant is delivered, and one more sweep has run after that.
    const delivered = await settled(rig, second, request.id, 'ACTIVE');

    const events = await rig.store.auditEvents(request.id);
    expect(events.filter((e) => e.from === 'APPROVED' && e.to === 'ACTIVE')).toHaveLength(1);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    // Finished by the restarted bot's sweeper, not by the killed process.
    expect(events.find((e) => e.to === 'ACTIVE')?.actor).toBe('system');
    const activeDms = dms().filter((m) => /approved by/.test(m.text) && m.text.includes('active until'));
    expect(activeDms).toHaveLength(1);
    expect(dms()).toHaveLength(1);
    expect(adminPosts()).toHaveLength(1);
    expect(adminPosts()[0]?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(JSON.stringify(adminPosts()[0]?.blocks)).not.toContain('"Approve"');

    // A second Approve (a replayed or late click) is answered, and changes nothing.
    const addsBefore = rig.proxy.count('AddUserToGroup');
    const again = await postToBot(
      second.url(),
      SIGNING_SECRET,
      buildBlockAction({
        userId: admin2.id,
        channelId: ADMIN_CHANNEL,
        actionId: ACTION.approve,
        value: request.id,
        responseUrl: rig.slack.responseUrl('again'),
      }),
    );
    expect(again.status).toBe(200);
    const told = await rig.slack.waitFor(() => rig.slack.messages(ADMIN_CHANNEL).find((m) => m.ephemeralTo === admin2.id), 10_000);
    expect(told.text).toMatch(/already decided/);
    const after: AccessRequest | undefined = await rig.store.get(request.id);
    expect(after?.status).toBe('ACTIVE');
    expect(after?.version).toBe(delivered.version);
    expect(after?.expiresAt).toBe(active.expiresAt);
    expect(await rig.store.auditEvents(request.id)).toHaveLength(events.length);
    expect(rig.proxy.count('AddUserToGroup')).toBe(addsBefore);
    expect(dms()).toHaveLength(1);
    expect(await groupsOf(rig.iam, 'jane.doe')).toContain('BillingReadOnly');

    await bots.kill(second);
  }, 90_000);

  it('SIGKILL while AddUserToGroup is held, and the held call dropped so it never reached IAM: the restarted sweeper adds the user itself, once', async () => {
    const env = await rig.botEnv({ SWEEP_INTERVAL_SECONDS: '5' });
    const adminPosts = () => adminPostsOf(rig);
    const dms = () => employeeDms(rig);

    const { first, request } = await approveUntilHeld(rig, bots, env, 'AddUserToGroup');
    expect((await rig.store.get(request.id))?.status).toBe('APPROVED');

    await bots.kill(first);
    // The killed process's call is cut off, not sent on: IAM never heard of the grant.
    rig.proxy.drop('AddUserToGroup');
    expect(rig.proxy.dropped('AddUserToGroup')).toBe(1);
    expect(rig.proxy.forwarded('AddUserToGroup')).toBe(0);
    expect(await groupsOf(rig.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect((await rig.store.get(request.id))?.status).toBe('APPROVED');
    expect(dms()).toHaveLength(0);

    const second = await bots.start(env);
    const logs2 = () => `second bot:\n${second.logTail}`;
    const active = await eventually(
      'the restarted bot to finish the grant',
      async () => {
        const current = await rig.store.get(request.id);
        return current?.status === 'ACTIVE' ? current : undefined;
      },
      20_000,
      logs2,
    );
    expect(active.expiresAt).toBeTruthy();
    // ACTIVE is only true if the restarted bot made the add itself: the first one's never arrived.
    expect(await groupsOf(rig.iam, 'jane.doe')).toContain('BillingReadOnly');

    // Every notice of the grant is delivered, and one more sweep has run after that.
    await settled(rig, second, request.id, 'ACTIVE');

    expect(rig.proxy.forwarded('AddUserToGroup')).toBe(1);
    // Arrivals: the dropped call and the restarted bot's one.
    expect(rig.proxy.count('AddUserToGroup')).toBe(2);
    const events = await rig.store.auditEvents(request.id);
    expect(events.filter((e) => e.from === 'APPROVED' && e.to === 'ACTIVE')).toHaveLength(1);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    expect(events.find((e) => e.to === 'ACTIVE')?.actor).toBe('system');
    // Told at least once; a crash may repeat a message (PRODUCT §2 Delivery), never lose it.
    const activeDms = dms().filter((m) => /approved by/.test(m.text) && m.text.includes('active until'));
    expect(activeDms.length).toBeGreaterThanOrEqual(1);
    expect(activeDms.length).toBeLessThanOrEqual(2);
    expect(dms()).toHaveLength(activeDms.length);
    expect(adminPosts()).toHaveLength(1);
    expect(adminPosts()[0]?.text).toContain(`Approved by <@${admin1.id}>`);
    expect(JSON.stringify(adminPosts()[0]?.blocks)).not.toContain('"Approve"');

    await bots.kill(second);
  }, 90_000);
});
