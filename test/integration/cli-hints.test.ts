/**
 * `npm run setup`, `npm run audit` and `npm run doctor` as child processes, meeting what stops
 * an operator on day two: no AWS credentials, an AWS endpoint that does not answer, the embedded
 * store held by a running bot. Each says it with the same hint (src/environment-hints.ts), never
 * a bare SDK error or a stack; audit and setup name the store they used; and the AWS SDK's
 * nine-line Node-version warning is not printed.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedStoreLabel } from '../../src/cli/store-label.js';
import type { CheckResult } from '../../src/doctor/checks.js';
import { formatHint, heldStoreHint, noCredentialsHint, unreachableEndpointHint } from '../../src/environment-hints.js';
import { nodeSupportNote } from '../../src/node-support.js';
import { startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { freePort, resetMoto } from '../../testkit/moto.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { type CliRun, explain, runCli } from '../support/cli-run.js';

const TABLE = 'billing-access-hints';
/** Lines only the AWS SDK's Node-version warning prints. */
const SDK_NODE_WARNING = /NodeVersionSupportWarning|versions published after the first week of January 2027/;
const NODE_MAJOR = Number.parseInt(process.versions.node, 10);
/** What a stack trace or a bare SDK error looks like on stderr. */
const RAW_ERROR = /CredentialsProviderError|^\s+at |Error: connect ECONNREFUSED/m;

/** A loopback port that refuses connections: listened on, then closed. */
const refusedPort = freePort;

function doctorChecks(run: CliRun): CheckResult[] {
  try {
    return (JSON.parse(run.stdout) as { checks: CheckResult[] }).checks;
  } catch {
    throw new Error(`doctor --json printed no JSON\n${explain(run)}`);
  }
}

function check(checks: CheckResult[], title: string | RegExp): CheckResult {
  const found = checks.filter((c) => (typeof title === 'string' ? c.title === title : title.test(c.title)));
  expect(found, `one check titled ${String(title)} in ${JSON.stringify(checks.map((c) => c.title))}`).toHaveLength(1);
  return found[0] as CheckResult;
}

function expectNoRawErrorNorSdkWarning(...runs: CliRun[]): void {
  for (const run of runs) {
    expect(run.stderr, explain(run)).not.toMatch(RAW_ERROR);
    expect(run.stderr, explain(run)).not.toMatch(SDK_NODE_WARNING);
  }
}

describe('the CLIs give doctor’s hints and name their store', { timeout: 180_000 }, () => {
  const awsEndpoint = workerAwsEndpoint();
  let home: string;
  let work: string;
  let slackApiUrl: string;

  beforeAll(async () => {
    // An empty HOME: no ~/.aws of the machine's can lend the CLIs credentials.
    home = await mkdtemp(join(tmpdir(), 'cli-hints-home-'));
    work = await mkdtemp(join(tmpdir(), 'cli-hints-'));
    // doctor's Slack checks fail fast against nothing; only its AWS lines are read here.
    slackApiUrl = `http://127.0.0.1:${await refusedPort()}/api/`;
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  /** What every run gets: no credentials, no metadata service, and doctor's required Slack settings. */
  function baseEnv(overrides: Record<string, string>): Record<string, string> {
    return {
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      TABLE_NAME: TABLE,
      BILLING_GROUPS: 'read-only=BillingReadOnly',
      SLACK_BOT_TOKEN: 'xoxb-0000-hints',
      SLACK_SIGNING_SECRET: 'hints-secret',
      SLACK_API_URL: slackApiUrl,
      ADMIN_CHANNEL_ID: 'C0ADMINS',
      ADMIN_USER_IDS: 'U0ADMIN',
      ...overrides,
    };
  }

  it('no AWS credentials: setup --groups, audit and doctor all give the same hint, not CredentialsProviderError', async () => {
    const dataDir = join(work, 'no-credentials');
    const embedded = baseEnv({ DATA_DIR: dataDir });
    const [setup, audit, doctor] = await Promise.all([
      runCli('setup', embedded, ['--groups']),
      runCli('audit', { ...embedded, STORE: 'dynamodb' }, ['--since', '2024-01-01']),
      runCli('doctor', embedded, ['--json']),
    ]);
    const hint = noCredentialsHint();

    expect(setup.code, explain(setup)).toBe(1);
    // The embedded table needs no AWS; the groups do.
    expect(setup.stdout).toContain(`created ${embeddedStoreLabel(TABLE, dataDir)}`);
    expect(setup.stderr.trim()).toBe(`setup: could not create the IAM group BillingReadOnly: ${formatHint(hint)}`);

    expect(audit.code, explain(audit)).toBe(1);
    expect(audit.stdout).toBe('');
    expect(audit.stderr.trim()).toBe(`audit: could not read DynamoDB table ${TABLE} in us-east-1 (STORE=dynamodb): ${formatHint(hint)}`);

    expect(doctor.code, explain(doctor)).toBe(1);
    const checks = doctorChecks(doctor);
    const group = check(checks, 'IAM group BillingReadOnly (level read-only)');
    expect(group).toMatchObject({ status: 'fail', detail: `could not read IAM: ${hint.problem}`, fix: hint.fix });
    expect(check(checks, 'the bot’s AWS permissions')).toMatchObject({ status: 'fail', fix: hint.fix });
    expect(doctor.stdout).not.toMatch(/CredentialsProviderError/);

    expectNoRawErrorNorSdkWarning(setup, audit, doctor);
  });

  it('AWS_ENDPOINT_URL pointing at nothing: setup, audit and doctor name the address and give the same endpoint hint', async () => {
    const port = await refusedPort();
    const env = baseEnv({ STORE: 'dynamodb', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const [setup, audit, doctor] = await Promise.all([
      runCli('setup', env, ['--groups']),
      runCli('audit', env, ['--since', '2024-01-01']),
      runCli('doctor', env, ['--json']),
    ]);
    const why = `connect ECONNREFUSED 127.0.0.1:${port}`;
    const hint = unreachableEndpointHint('DynamoDB', why);
    const where = `DynamoDB table ${TABLE} in us-east-1 at http://127.0.0.1:${port} (STORE=dynamodb)`;

    expect(setup.code, explain(setup)).toBe(1);
    expect(setup.stdout).toBe('');
    expect(setup.stderr.trim()).toBe(`setup: could not set up ${where}: ${formatHint(hint)}`);

    expect(audit.code, explain(audit)).toBe(1);
    expect(audit.stdout).toBe('');
    expect(audit.stderr.trim()).toBe(`audit: could not read ${where}: ${formatHint(hint)}`);

    expect(doctor.code, explain(doctor)).toBe(1);
    const checks = doctorChecks(doctor);
    expect(check(checks, `DynamoDB table ${TABLE} (STORE=dynamodb)`)).toMatchObject({
      status: 'fail',
      detail: `could not read the table: ${hint.problem}`,
      fix: hint.fix,
    });
    expect(check(checks, 'IAM group BillingReadOnly (level read-only)')).toMatchObject({
      status: 'fail',
      detail: `could not read IAM: ${unreachableEndpointHint('IAM', why).problem}`,
      fix: unreachableEndpointHint('IAM', why).fix,
    });

    expectNoRawErrorNorSdkWarning(setup, audit, doctor);
  });

  it('the embedded store held by a running process: setup and audit refuse with the hint, doctor’s table line is ⚠ with it', async () => {
    const dataDir = join(work, 'held');
    const holder = await startEmbeddedDynamo(dataDir);
    const client = new DynamoDBClient({ endpoint: holder.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      // dynalite opens LevelDB at its first request: from here on this process holds DATA_DIR.
      await ensureTable(client, TABLE);
      const env = baseEnv({ DATA_DIR: dataDir });
      const [setup, audit, doctor] = await Promise.all([
        runCli('setup', env),
        runCli('audit', env, ['--since', '2024-01-01']),
        runCli('doctor', env, ['--json']),
      ]);
      const hint = heldStoreHint(dataDir);

      expect(setup.code, explain(setup)).toBe(1);
      expect(setup.stdout).toBe('');
      expect(setup.stderr.trim()).toBe(`setup: could not open the embedded store: ${formatHint(hint)}`);

      expect(audit.code, explain(audit)).toBe(1);
      expect(audit.stdout).toBe('');
      expect(audit.stderr.trim()).toBe(`audit: ${formatHint(hint)}`);

      const table = check(doctorChecks(doctor), `DynamoDB table ${TABLE} (STORE=embedded)`);
      expect(table).toMatchObject({ status: 'warn', detail: `could not check: ${hint.problem}`, fix: hint.fix });

      expectNoRawErrorNorSdkWarning(setup, audit, doctor);
    } finally {
      client.destroy();
      await holder.close();
    }
  });

  it('audit names the embedded store it read, and for an empty one shows how to read another (DATA_DIR, the playground’s store)', async () => {
    const dataDir = join(work, 'empty');
    const env = baseEnv({ DATA_DIR: dataDir });
    const absent = await runCli('audit', env, ['--since', '2024-01-01']);
    expect(absent.code, explain(absent)).toBe(1);
    expect(absent.stdout).toBe('');
    expect(absent.stderr).toContain(`audit: no embedded store in ${dataDir} (STORE=embedded, DATA_DIR): nothing has been recorded there`);
    expect(absent.stderr).toMatch(/DATA_DIR=(data\/playground|<directory>) npm run -s audit -- --since 2024-01-01/);

    const created = await runCli('setup', env);
    expect(created.code, explain(created)).toBe(0);
    expect(created.stdout.trim()).toBe(`created ${embeddedStoreLabel(TABLE, dataDir)}`);
    const again = await runCli('setup', env);
    expect(again.stdout.trim()).toBe(`exists: ${embeddedStoreLabel(TABLE, dataDir)}`);

    const empty = await runCli('audit', env, ['--since', '2024-01-01', '--format', 'csv']);
    expect(empty.code, explain(empty)).toBe(0);
    expect(empty.stdout).toBe('requestId,at,actor,from,to,detail\r\n');
    const lines = empty.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`audit: reading ${embeddedStoreLabel(TABLE, dataDir)}`);
    expect(lines[0]).toContain(dataDir);
    expect(lines[1]).toMatch(/^audit: 0 events from 2024-01-01T00:00:00\.000Z to /);
    expect(lines[2]).toMatch(/^audit: if you expected events: .*DATA_DIR=(data\/playground|<directory>) npm run -s audit -- --since 2024-01-01 --format csv$/);
    expect(lines[2]).toContain('data/playground');
    expectNoRawErrorNorSdkWarning(absent, created, again, empty);
  });

  it('the AWS SDK’s Node-version warning is off in every CLI, and back only when the environment asks for it', async () => {
    await resetMoto(awsEndpoint);
    const env = baseEnv({ STORE: 'dynamodb', AWS_ENDPOINT_URL: awsEndpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const setup = await runCli('setup', env);
    expect(setup.code, explain(setup)).toBe(0);
    expect(setup.stdout).toContain(`created DynamoDB table ${TABLE} in us-east-1 at ${awsEndpoint} (STORE=dynamodb)`);
    const [audit, doctor, asked] = await Promise.all([
      runCli('audit', env, ['--since', '2024-01-01']),
      runCli('doctor', env),
      runCli('audit', { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' }, ['--since', '2024-01-01']),
    ]);
    expect(audit.code, explain(audit)).toBe(0);
    expect(audit.stderr.split('\n')[0]).toBe(`audit: reading DynamoDB table ${TABLE} in us-east-1 at ${awsEndpoint} (STORE=dynamodb)`);
    for (const run of [setup, audit, doctor]) expect(run.stderr, explain(run)).not.toMatch(SDK_NODE_WARNING);
    // The control: the same CLI, told not to switch it off, does print it on a Node the SDK warns about.
    expect(asked.code, explain(asked)).toBe(0);
    expect(SDK_NODE_WARNING.test(asked.stderr), explain(asked)).toBe(NODE_MAJOR < 22);
    // What the bot says instead: one line of doctor's report.
    const note = nodeSupportNote(process.versions.node);
    if (note) expect(doctor.stdout).toContain(`⚠ Node runtime: ${note}`);
    else expect(doctor.stdout).toMatch(/✓ Node runtime: /);
  });
});
