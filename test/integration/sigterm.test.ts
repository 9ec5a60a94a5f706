/**
 * Graceful shutdown of the real bot process: SIGTERM while a grant is in flight (its
 * AddUserToGroup held at the AWS proxy) stops new work at once, finishes the grant, and exits 0.
 */
import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
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

const TABLE = 'billing-access-sigterm';
const employee = PEOPLE.employee.id;
const { admin1 } = PEOPLE;

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
    await new Promise((r) => setTimeout(r, 50));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}\n${explain()}`);
}

/** The exit code of the process BotProcess spawned (tsx, which exits with its child's code). */
function exitCodeOf(bot: BotProcess): number | null {
  const child = (bot as unknown as { child?: ChildProcess }).child;
  if (!child || typeof child.exitCode === 'undefined') throw new Error('BotProcess no longer exposes its child process: read the exit code another way');
  return child.exitCode;
}

/** true when nothing accepts a connection on the bot's port any more. */
async function refusesConnections(bot: BotProcess): Promise<boolean> {
  try {
    await fetch(bot.url('/healthz'), { signal: AbortSignal.timeout(1_000) });
    return false;
  } catch {
    return true;
  }
}

describe('SIGTERM with a grant in flight', () => {
  const awsEndpoint = inject('awsEndpoint');
  let slack: FakeSlack;
  let proxy: AwsProxy;
  let iam: IAMClient;
  let dynamo: DynamoDBClient;
  let store: DynamoRequestStore;
  let bot: BotProcess | undefined;

  beforeEach(async () => {
    await resetMoto(awsEndpoint);
    iam = iamClient(awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    await createUser(iam, { name: 'jane.doe', mfa: true });
    dynamo = new DynamoDBClient({ endpoint: awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, TABLE);
    store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), TABLE);
    slack = await FakeSlack.start({
      botToken: BOT_TOKEN,
      teamId: TEAM,
      channels: [
        { id: ADMIN_CHANNEL, name: 'billing-admins', members: ['UBOT', admin1.id, PEOPLE.admin2.id, employee] },
        { id: 'C0GENERAL', name: 'general' },
      ],
      users: Object.values(PEOPLE),
    });
    proxy = await AwsProxy.start(awsEndpoint);
  });

  afterEach(async () => {
    proxy?.release('AddUserToGroup');
    await bot?.kill();
    bot = undefined;
    await BotProcess.killAll();
    await proxy?.stop();
    await slack?.stop();
    iam?.destroy();
    dynamo?.destroy();
  });

  it('stops taking requests at once, finishes the held AddUserToGroup, and exits 0 on its own with the grant ACTIVE', async () => {
    const port = await freePort();
    proxy.hold('AddUserToGroup');
    const started = await BotProcess.start({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${admin1.id},${PEOPLE.admin2.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: TABLE,
      // Long enough that no sweep recovers the APPROVED request: only the in-flight work can finish it.
      SWEEP_INTERVAL_SECONDS: '600',
      LOG_LEVEL: 'info',
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ENDPOINT_URL_IAM: proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    bot = started;
    const logs = () => `bot output:\n${started.logTail}`;

    const command = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildCommand({ user_id: employee, team_id: TEAM, text: 'read-only 7d month-end close for October', response_url: slack.responseUrl('request') }),
    );
    expect(command.status).toBe(200);
    const request = await eventually(
      'the request with its admin message in the table',
      async () => (await store.listByRequester(employee)).find((r) => r.adminMessage !== undefined),
      10_000,
      logs,
    );
    const click = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildBlockAction({ userId: admin1.id, channelId: ADMIN_CHANNEL, actionId: ACTION.approve, value: request.id, responseUrl: slack.responseUrl('approve') }),
    );
    expect(click.status).toBe(200);
    await eventually('AddUserToGroup to reach the proxy', async () => proxy.held('AddUserToGroup') >= 1, 10_000, logs);
    expect((await store.get(request.id))?.status).toBe('APPROVED');

    // SIGTERM to the tsx process only, as a container runtime sends it to PID 1: tsx relays it to the node process running main.ts.
    const pid = started.pid;
    if (pid === undefined) throw new Error('the bot has no pid');
    process.kill(pid, 'SIGTERM');
    await eventually('the bot to log that it is stopping', async () => started.logTail.includes('"event":"stopping"'), 10_000, logs);
    await eventually('the bot to stop accepting connections', () => refusesConnections(started), 10_000, logs);

    // Stopped taking work: a new signed request is not accepted while the grant is still in flight.
    const late = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildCommand({ user_id: employee, team_id: TEAM, text: 'full 1d quarterly forecast review', response_url: slack.responseUrl('late') }),
    ).then(
      (res) => `HTTP ${res.status}`,
      (err: unknown) => `refused: ${err instanceof Error ? err.message : String(err)}`,
    );
    expect(late).not.toBe('HTTP 200');
    expect(started.alive, `the bot exited before its in-flight grant finished\n${logs()}`).toBe(true);
    expect((await store.get(request.id))?.status).toBe('APPROVED');

    proxy.release('AddUserToGroup');
    await eventually('the bot to exit on its own', async () => !started.alive, 20_000, logs);
    expect(exitCodeOf(started), logs()).toBe(0);
    expect(started.logTail).toContain('"event":"stopped"');

    // Nothing in flight was lost: the grant is ACTIVE, in IAM, audited, and the requester was told.
    const active = await store.get(request.id);
    expect(active?.status).toBe('ACTIVE');
    expect(active?.expiresAt).toBeTruthy();
    expect(await groupsOf(iam, 'jane.doe')).toContain('BillingReadOnly');
    const events = await store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    expect(events.at(-1)?.actor).toBe(admin1.id);
    expect(slack.messages(`D${employee}`).some((m) => /approved by/i.test(m.text))).toBe(true);
    expect(proxy.count('AddUserToGroup')).toBe(1);

    // The request sent after SIGTERM left nothing behind.
    const mine = await store.listByRequester(employee);
    expect(mine.map((r) => r.id)).toEqual([request.id]);
    expect(slack.responses('late')).toEqual([]);
  }, 90_000);
});
