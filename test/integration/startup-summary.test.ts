/**
 * What `npm start` says about itself, from the real bot process: the start-up block on stderr
 * (Slack endpoint, store, IAM mode, the AWS identity STS gives, levels, admins, schedules) and
 * the JSON `started` line; and live mode refusing to start, with the fix, when AWS gives it no
 * identity (no credentials, an endpoint nobody answers on, credentials STS turns down).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOT_NODE_FLAGS } from '../../src/node-flags.js';
import { nodeSupportNote } from '../../src/node-support.js';
import { ensureTable } from '../../src/store/table.js';
import { ACCOUNT_ID } from '../../testkit/iam-fixtures.js';
import { freePort, resetMoto } from '../../testkit/moto.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { BotProcess } from '../support/bot-process.js';
import { type CliRun, runProcess } from '../support/cli-run.js';
import { FakeSlack } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, BOT_TOKEN, PEOPLE, SIGNING_SECRET } from '../support/harness.js';

const TABLE = 'billing-access-startup';

/** No AWS credentials from anywhere: no variables, no shared files, no metadata service. */
const NO_AWS = {
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_CONFIG_FILE: '/dev/null',
};

/** The start-up block out of the process's output: from its heading to the first line that is not part of it. */
function startupBlock(output: string): string {
  const lines = output.split('\n');
  const start = lines.indexOf('billing-access bot started');
  if (start < 0) throw new Error(`no start-up block in the output:\n${output}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => !l.startsWith('  '));
  return ['billing-access bot started', ...rest.slice(0, end < 0 ? undefined : end)].join('\n');
}

/** The `started` JSON log line. */
function startedLine(output: string): Record<string, unknown> {
  const line = output.split('\n').find((l) => l.includes('"event":"started"'));
  if (!line) throw new Error(`no started log line in:\n${output}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** `npm start` with exactly `env` (no .env file), run until it exits on its own; one that wrongly starts is killed after 30 s and its exit code then fails the test. */
function runToExit(env: Record<string, string>): Promise<CliRun> {
  return runProcess('npm start', process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], env, 30_000, 'resolve');
}

describe('npm start: the start-up summary', { timeout: 60_000 }, () => {
  const awsEndpoint = workerAwsEndpoint();
  let slack: FakeSlack;
  let bot: BotProcess | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    await resetMoto(awsEndpoint);
    slack = await FakeSlack.start({ botToken: BOT_TOKEN, channels: [{ id: ADMIN_CHANNEL, name: 'billing-admins' }], users: Object.values(PEOPLE) });
  });

  afterEach(async () => {
    await bot?.kill('SIGTERM');
    bot = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await slack.stop();
  });

  function slackEnv(port: number): Record<string, string> {
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      APPROVALS_REQUIRED: 'full=2',
      LOG_LEVEL: 'info',
    };
  }

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'startup-summary-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it('live on DynamoDB: the endpoint Slack posts to, the table, and the account and identity STS names', async () => {
    const dynamo = new DynamoDBClient({ endpoint: awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, TABLE);
    dynamo.destroy();
    const port = await freePort();
    bot = await BotProcess.start({
      ...slackEnv(port),
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: TABLE,
      SWEEP_INTERVAL_SECONDS: '120',
      SUMMARY_CRON: '0 8 * * 5',
      SUMMARY_TIMEZONE: 'Europe/Paris',
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const block = startupBlock(bot.logTail);
    expect(block).toMatch(new RegExp(`^ {2}Slack +HTTP mode: Slack posts slash commands and clicks to http://127\\.0\\.0\\.1:${port}/slack/events$`, 'm'));
    expect(block).toMatch(new RegExp(`^ {2}Health +GET http://127\\.0\\.0\\.1:${port}/healthz$`, 'm'));
    expect(block).toMatch(new RegExp(`^ {2}Store +DynamoDB table ${TABLE} \\(STORE=dynamodb\\)$`, 'm'));
    expect(block).toMatch(/^ {2}IAM +IAM_MODE=live: /m);
    // moto's STS answers for its fixed account, as the user moto.
    expect(block).toMatch(new RegExp(`^ {2}AWS +account ${ACCOUNT_ID} as arn:aws:sts::${ACCOUNT_ID}:user/moto$`, 'm'));
    expect(block).toMatch(new RegExp(`^ {2}Node +${process.version.replace(/\./g, '\\.')}`, 'm'));
    // Below Node 22 the line carries doctor's note (src/node-support.ts); from 22 on, the version alone.
    const note = nodeSupportNote(process.version);
    expect(block).toContain(note ? `${process.version} (${note})` : `${process.version}\n`);
    expect(block).toMatch(/^ {2}Levels +read-only → IAM group BillingReadOnly \(default\), full → IAM group BillingFull \(2 approvals\)$/m);
    expect(block).toMatch(new RegExp(`^ {2}Admins +channel ${ADMIN_CHANNEL}; users ${PEOPLE.admin1.id}, ${PEOPLE.admin2.id}$`, 'm'));
    expect(block).toMatch(/^ {2}Schedules +sweep every 120 s; summary "0 8 \* \* 5" in Europe\/Paris \(next \d{4}-\d\d-\d\dT/m);
    expect(block).not.toContain(SIGNING_SECRET);
    expect(block).not.toContain(BOT_TOKEN);

    expect(startedLine(bot.logTail)).toMatchObject({
      event: 'started',
      mode: 'http',
      port,
      endpoint: `http://127.0.0.1:${port}/slack/events`,
      store: 'dynamodb',
      table: TABLE,
      iamMode: 'live',
      awsAccount: ACCOUNT_ID,
      awsIdentity: `arn:aws:sts::${ACCOUNT_ID}:user/moto`,
    });
  });

  it('dry-run with no AWS credentials at all: starts on the embedded store and says IAM checks are skipped', async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    bot = await BotProcess.start({ ...slackEnv(port), ...NO_AWS, IAM_MODE: 'dry-run', STORE: 'embedded', DATA_DIR: dataDir });
    const block = startupBlock(bot.logTail);
    expect(block).toMatch(new RegExp(`^ {2}Store +embedded store in ${dataDir} \\(STORE=embedded, table billing-access\\): one process only`, 'm'));
    expect(block).toMatch(/^ {2}IAM +IAM_MODE=dry-run: IAM is read but never changed/m);
    expect(block).toMatch(/^ {2}AWS +no AWS credentials: IAM checks are skipped in dry-run; live mode refuses to start$/m);
    expect(block).toMatch(/^ {13}to use AWS: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/m);
    expect(startedLine(bot.logTail)).toMatchObject({ iamMode: 'dry-run', store: 'embedded', dataDir, awsProblem: 'no AWS credentials' });
    expect((await bot.healthz()).status).toBe(200);
  });

  it('live with no AWS credentials: refuses to start, exit 1, naming the fix and dry-run', async () => {
    const run = await runToExit({ ...slackEnv(await freePort()), ...NO_AWS, IAM_MODE: 'live', DATA_DIR: await tempDir() });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('billing-access bot cannot start: IAM_MODE=live changes IAM, and it has no usable AWS identity: no AWS credentials.');
    expect(run.stderr).toMatch(/Fix: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(run.stderr).toContain('Or set IAM_MODE=dry-run to try the bot without AWS');
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    // It stopped before Slack: no call reached the stand-in, and no start-up block was printed.
    expect(slack.calls()).toEqual([]);
    expect(run.stderr).not.toContain('billing-access bot started');
  });

  it('live with an AWS endpoint nobody answers on: refuses to start, exit 1, naming the address and AWS_ENDPOINT_URL', async () => {
    const deadPort = await freePort();
    const run = await runToExit({
      ...slackEnv(await freePort()),
      IAM_MODE: 'live',
      DATA_DIR: await tempDir(),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${deadPort}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`no usable AWS identity: the STS endpoint did not answer (connect ECONNREFUSED 127.0.0.1:${deadPort}).`);
    expect(run.stderr).toMatch(/Fix: check AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_STS/);
    expect(run.stderr).toContain('IAM_MODE=dry-run');
    expect(slack.calls()).toEqual([]);
  });

  it('live with credentials STS turns down: refuses to start, exit 1, naming the error', async () => {
    // An STS that refuses every caller, as AWS answers a deleted or mistyped access key.
    const refusing: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>' +
            '<Message>The security token included in the request is invalid.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
    const run = await runToExit({
      ...slackEnv(await freePort()),
      IAM_MODE: 'live',
      DATA_DIR: await tempDir(),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`,
      AWS_ACCESS_KEY_ID: 'AKIADELETEDKEY',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      'no usable AWS identity: AWS refused the credentials (InvalidClientTokenId (HTTP 403): The security token included in the request is invalid.)',
    );
    expect(run.stderr).toMatch(/Fix: check the AWS credentials/);
    expect(run.stderr).toContain('IAM_MODE=dry-run');
  });
});
