import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { ACTION } from '../../src/slack/ids.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { ensureTable } from '../../src/store/table.js';
import { AwsProxy } from '../support/aws-proxy.js';
import { BotProcess } from '../support/bot-process.js';
import { FakeSlack } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, BOT_TOKEN, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';
import { createGroup, createUser, FULL_POLICY, groupsOf, iamClient, READ_ONLY_POLICY } from '../support/iam-fixtures.js';
import { freePort, resetMoto } from '../support/moto.js';
import { buildBlockAction, buildCommand } from '../support/slack-payloads.js';
import { postToBot } from '../support/slack-signing.js';

const TABLE = 'billing-access-test';
const employee = PEOPLE.employee.id;
const { admin1, admin2 } = PEOPLE;

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, explain: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}\n${explain()}`);
}

describe('crash between the APPROVED write and the IAM call', () => {
  const awsEndpoint = inject('awsEndpoint');
  let slack: FakeSlack;
  let proxy: AwsProxy;
  let iam: IAMClient;
  let dynamo: DynamoDBClient;
  let store: DynamoRequestStore;
  const bots: BotProcess[] = [];

  beforeEach(async () => {
    await resetMoto(awsEndpoint);
    iam = iamClient(awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    await createUser(iam, { name: 'jane.doe', mfa: true });
    dynamo = new DynamoDBClient({});
    await ensureTable(dynamo, TABLE);
    store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), TABLE);
    slack = await FakeSlack.start({
      botToken: BOT_TOKEN,
      teamId: TEAM,
      channels: [
        {
          id: ADMIN_CHANNEL,
          name: 'billing-admins',
          members: ['UBOT', PEOPLE.admin1.id, PEOPLE.admin2.id, PEOPLE.admin3.id, PEOPLE.outsider.id, PEOPLE.employee.id],
        },
        { id: 'C0GENERAL', name: 'general' },
      ],
      users: Object.values(PEOPLE),
    });
    proxy = await AwsProxy.start(awsEndpoint);
  });

  afterEach(async () => {
    for (const bot of bots.splice(0)) await bot.kill();
    await BotProcess.killAll();
    await proxy?.stop();
    await slack?.stop();
    iam?.destroy();
    dynamo?.destroy();
  });

  afterAll(async () => {
    await BotProcess.killAll();
  });

  it('SIGKILL while AddUserToGroup is held: the restarted bot finishes the grant once, DMs once, and a replayed Approve changes nothing', async () => {
    const port = await freePort();
    const env: Record<string, string> = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id},${PEOPLE.admin3.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: TABLE,
      SWEEP_INTERVAL_SECONDS: '5',
      LOG_LEVEL: 'info',
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ENDPOINT_URL_IAM: proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const adminPosts = () => slack.messages(ADMIN_CHANNEL).filter((m) => !m.ephemeralTo && !m.threadTs);
    const dms = () => slack.messages(`D${employee}`);

    proxy.hold('AddUserToGroup');
    const first = await BotProcess.start(env);
    bots.push(first);
    const logs = () => `first bot:\n${first.logTail}`;

    const command = await postToBot(
      first.url(),
      SIGNING_SECRET,
      buildCommand({ user_id: employee, team_id: TEAM, text: 'read-only 7d month-end close for October', response_url: slack.responseUrl('request') }),
    );
    expect(command.status).toBe(200);
    await slack.waitFor(() => adminPosts().length === 1, 10_000);
    const request = await eventually(
      'the request with its admin message in the table',
      async () => (await store.listByRequester(employee)).find((r) => r.adminMessage !== undefined),
      10_000,
      logs,
    );
    expect(request.status).toBe('PENDING');

    const click = await postToBot(
      first.url(),
      SIGNING_SECRET,
      buildBlockAction({ userId: admin1.id, channelId: ADMIN_CHANNEL, actionId: ACTION.approve, value: request.id, responseUrl: slack.responseUrl('approve') }),
    );
    expect(click.status).toBe(200);
    await eventually('AddUserToGroup to reach the proxy', async () => proxy.held('AddUserToGroup') >= 1, 10_000, logs);
    const approved = await store.get(request.id);
    expect(approved?.status).toBe('APPROVED');
    expect(approved?.decidedBy).toBe(admin1.id);

    await first.kill('SIGKILL');
    expect(first.alive).toBe(false);
    bots.splice(bots.indexOf(first), 1);
    proxy.release('AddUserToGroup');
    expect((await store.get(request.id))?.status).toBe('APPROVED');
    expect(dms()).toHaveLength(0);

    const second = await BotProcess.start(env);
    bots.push(second);
    const logs2 = () => `second bot:\n${second.logTail}`;
    const active = await eventually(
      'the restarted bot to finish the grant',
      async () => {
        const current = await store.get(request.id);
        return current?.status === 'ACTIVE' ? current : undefined;
      },
      20_000,
      logs2,
    );
    expect(active.expiresAt).toBeTruthy();
    expect(await groupsOf(iam, 'jane.doe')).toContain('BillingReadOnly');

    // Every notice of the grant is delivered, and one more sweep has run after that.
    const delivered = await eventually(
      'the grant notices to be delivered',
      async () => {
        const current = await store.get(request.id);
        return current?.status === 'ACTIVE' && current.noticeDue === undefined ? current : undefined;
      },
      15_000,
      logs2,
    );
    const deliveredSeenAt = new Date().toISOString();
    await eventually(
      'a sweep after the delivery',
      async () => {
        const health = await second.healthz();
        return health.status === 200 && (health.body.lastSweep ?? '') > deliveredSeenAt;
      },
      15_000,
      logs2,
    );

    const events = await store.auditEvents(request.id);
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
    const addsBefore = proxy.count('AddUserToGroup');
    const again = await postToBot(
      second.url(),
      SIGNING_SECRET,
      buildBlockAction({ userId: admin2.id, channelId: ADMIN_CHANNEL, actionId: ACTION.approve, value: request.id, responseUrl: slack.responseUrl('again') }),
    );
    expect(again.status).toBe(200);
    const told = await slack.waitFor(() => slack.messages(ADMIN_CHANNEL).find((m) => m.ephemeralTo === admin2.id), 10_000);
    expect(told.text).toMatch(/already decided/);
    const after: AccessRequest | undefined = await store.get(request.id);
    expect(after?.status).toBe('ACTIVE');
    expect(after?.version).toBe(delivered.version);
    expect(after?.expiresAt).toBe(active.expiresAt);
    expect(await store.auditEvents(request.id)).toHaveLength(events.length);
    expect(proxy.count('AddUserToGroup')).toBe(addsBefore);
    expect(dms()).toHaveLength(1);
    expect(await groupsOf(iam, 'jane.doe')).toContain('BillingReadOnly');

    await second.kill('SIGKILL');
    bots.splice(bots.indexOf(second), 1);
  }, 90_000);
});
