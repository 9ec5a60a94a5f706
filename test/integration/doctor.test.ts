/**
 * `npm run doctor` as a child process against moto_server (IAM, DynamoDB) and the fake Slack:
 * what a healthy install prints, and what each broken piece turns into.
 */

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AttachGroupPolicyCommand,
  CreatePolicyVersionCommand,
  DeleteGroupCommand,
  DetachGroupPolicyCommand,
  type IAMClient,
  PutGroupPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUILT_IN_SCOPES, type CheckResult, checkRuntime, manifestBotScopes } from '../../src/doctor/checks.js';
import { heldStoreHint } from '../../src/environment-hints.js';
import { nodeSupportNote } from '../../src/node-support.js';
import { startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import {
  BILLING_ONLY_DOCUMENT,
  createCustomerPolicy,
  createGroup,
  EVERYTHING_DOCUMENT,
  FULL_POLICY,
  iamClient,
  READ_ONLY_POLICY,
} from '../../testkit/iam-fixtures.js';
import { resetMoto } from '../../testkit/moto.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { type DoctorRun, runDoctor } from '../support/doctor-run.js';
import { FakeSlack } from '../support/fake-slack.js';
import { ADMIN_CHANNEL, BOT_TOKEN, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';

const TABLE = 'billing-access-doctor';
const RUN_TIMEOUT_MS = 60_000;
const PROJECT_MANIFEST = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');

/**
 * The rig runs the bot in HTTP mode (a signing secret, no app token), so doctor reads the
 * manifest an HTTP-mode app is made from: manifest.yml with Socket Mode off and its two request
 * URLs set, as the README says. Against manifest.yml as shipped, the Slack mode line is ✗ (its own test).
 */
let manifestDir: string;
const manifestArgs = () => ['--manifest', join(manifestDir, 'manifest.yml')];

beforeAll(async () => {
  manifestDir = await mkdtemp(join(tmpdir(), 'doctor-manifest-'));
  const http = PROJECT_MANIFEST.replace('socket_mode_enabled: true', 'socket_mode_enabled: false').replace(
    /^(\s*)#\s*((?:url|request_url): )https:\/\/<host>\/slack\/events$/gm,
    '$1$2https://billing-bot.corp.example/slack/events',
  );
  await writeFile(join(manifestDir, 'manifest.yml'), http);
});

afterAll(async () => {
  await rm(manifestDir, { recursive: true, force: true });
});

interface DoctorJson {
  ok: boolean;
  counts: { ok: number; warn: number; fail: number };
  checks: CheckResult[];
}

async function doctorJson(env: Record<string, string>, manifest: string[] = manifestArgs()): Promise<{ run: DoctorRun; report: DoctorJson }> {
  const run = await runDoctor(env, ['--json', ...manifest], RUN_TIMEOUT_MS);
  let report: DoctorJson;
  try {
    report = JSON.parse(run.stdout) as DoctorJson;
  } catch {
    throw new Error(`doctor --json printed no JSON (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
  return { run, report };
}

const explain = (run: DoctorRun) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;

function find(report: DoctorJson, title: string | RegExp): CheckResult {
  const found = report.checks.filter((c) => (typeof title === 'string' ? c.title === title : title.test(c.title)));
  expect(found, `exactly one check titled ${String(title)} in ${JSON.stringify(report.checks.map((c) => c.title))}`).toHaveLength(1);
  return found[0] as CheckResult;
}

const ROOT_TOGGLE = /IAM user and role access to Billing information/;

function expectRootToggle(report: DoctorJson): void {
  const line = find(report, ROOT_TOGGLE);
  expect(line.status).toBe('warn');
  expect(line.detail).toMatch(/^could not check: /);
  expect(line.fix).toMatch(/root user/);
  expect(line.fix).toMatch(/Account settings/);
}

function expectSimulationCouldNotCheck(report: DoctorJson): void {
  const line = find(report, 'the bot’s AWS permissions');
  expect(line.status).toBe('warn');
  expect(line.detail).toMatch(/^could not check: .*SimulatePrincipalPolicy/);
  expect(line.detail).toMatch(/HTTP 500/);
}

/** A pass-through in front of the fake Slack that adds the `x-oauth-scopes` header Slack sends on every answer. */
async function scopeHeaderProxy(target: string, scopes: string[]): Promise<{ apiUrl: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-oauth-scopes': scopes.join(',') });
      answer.pipe(res);
    });
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every scope the app could be asked for here: the built-in list, whatever manifest.yml asks, and channels:read for conversations.info. */
function allScopes(): string[] {
  const manifest = new URL('../../manifest.yml', import.meta.url);
  const fromManifest = existsSync(manifest) ? (manifestBotScopes(readFileSync(manifest, 'utf8')) ?? []) : [];
  return [...new Set([...BUILT_IN_SCOPES, ...fromManifest, 'channels:read', 'groups:read'])];
}

// Each test starts doctor as a process once or twice (about 3 s each on an idle machine, far more on a loaded one).
describe('npm run doctor', { timeout: 120_000 }, () => {
  const awsEndpoint = workerAwsEndpoint();
  let slack: FakeSlack | undefined;
  let iam: IAMClient;
  let dynamo: DynamoDBClient;
  const closers: (() => Promise<void>)[] = [];

  async function startSlack(botInAdminChannel = true): Promise<FakeSlack> {
    const admins = [PEOPLE.admin1.id, PEOPLE.admin2.id];
    slack = await FakeSlack.start({
      botToken: BOT_TOKEN,
      teamId: TEAM,
      channels: [
        { id: ADMIN_CHANNEL, name: 'billing-admins', members: botInAdminChannel ? ['UBOT', ...admins] : admins },
        { id: 'C0GENERAL', name: 'general' },
      ],
      users: Object.values(PEOPLE),
    });
    return slack;
  }

  function env(fake: FakeSlack, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: TABLE,
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...overrides,
    };
  }

  beforeEach(async () => {
    await resetMoto(awsEndpoint);
    iam = iamClient(awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    dynamo = new DynamoDBClient({ endpoint: awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, TABLE);
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await slack?.stop();
    slack = undefined;
    iam.destroy();
    dynamo.destroy();
  });

  it('a healthy install: every line ✓ except the ⚠ lines that cannot be checked here, exit 0', async () => {
    const fake = await startSlack();
    const [run, { run: jsonRun, report }] = await Promise.all([runDoctor(env(fake), manifestArgs()), doctorJson(env(fake))]);
    expect(run.code, explain(run)).toBe(0);

    const lines = run.stdout.split('\n').filter((l) => /^\s+[✓✗⚠] /.test(l));
    expect(lines.length, explain(run)).toBeGreaterThanOrEqual(10);
    expect(
      lines.filter((l) => l.trim().startsWith('✗')),
      explain(run),
    ).toEqual([]);
    // The Node line is ⚠ below Node 22 (past its end of life: src/node-support.ts), ✓ from 22 on.
    const nodeNote = nodeSupportNote(process.versions.node);
    const nodeLine = lines.filter((l) => /[✓✗⚠] Node runtime: /.test(l));
    expect(nodeLine, explain(run)).toEqual([
      nodeNote ? `  ⚠ Node runtime: ${nodeNote} → ${checkRuntime(process.versions.node).fix}` : expect.stringMatching(/✓ Node runtime: /),
    ]);
    const warnings = lines.filter((l) => l.trim().startsWith('⚠') && !nodeLine.includes(l));
    // Moto cannot simulate policies and no API reads the root toggle; the fake Slack sends no x-oauth-scopes header
    // (if it ever does, the scopes line must be ✓).
    const scopes = lines.filter((l) => /[✓✗⚠] bot scopes: /.test(l));
    expect(scopes, explain(run)).toHaveLength(1);
    const scopesUnchecked = /⚠ bot scopes: could not check: .*x-oauth-scopes/.test(scopes[0] ?? '');
    if (!scopesUnchecked) expect(scopes[0]).toMatch(/✓ bot scopes: /);
    expect(warnings, explain(run)).toHaveLength(scopesUnchecked ? 3 : 2);
    for (const line of warnings) expect(line).toMatch(/: could not check: /);
    expect(warnings.some((l) => /the bot’s AWS permissions: could not check: .*SimulatePrincipalPolicy/.test(l))).toBe(true);
    expect(warnings.some((l) => ROOT_TOGGLE.test(l) && /root user/.test(l) && /Account settings/.test(l))).toBe(true);
    for (const expected of [
      /✓ bot token: auth\.test OK/,
      new RegExp(`✓ bot in the admin channel ${ADMIN_CHANNEL}: the bot is a member of #billing-admins`),
      new RegExp(`✓ ADMIN_USER_IDS resolve: ${PEOPLE.admin1.id} \\(@alice\\), ${PEOPLE.admin2.id} \\(@bob\\)`),
      new RegExp(`✓ DynamoDB table ${TABLE} \\(STORE=dynamodb\\): ACTIVE with all 7 indexes`),
      new RegExp(`✓ IAM group BillingReadOnly \\(level read-only\\): exists and holds exactly ${READ_ONLY_POLICY.replace(/[/]/g, '\\/')}`),
      new RegExp(`✓ IAM group BillingFull \\(level full\\): exists and holds exactly ${FULL_POLICY.replace(/[/]/g, '\\/')}`),
      /✓ IAM_MODE: live/,
      /✓ STORE: dynamodb/,
      /✓ ALLOWED_EMAIL_DOMAINS: corp\.com/,
    ]) {
      expect(
        lines.some((l) => expected.test(l)),
        `${expected} in\n${run.stdout}`,
      ).toBe(true);
    }
    expect(run.stdout).toMatch(/0 ✗/);

    expect(jsonRun.code, explain(jsonRun)).toBe(0);
    expect(report.ok).toBe(true);
    const nodeWarns = nodeNote ? 1 : 0;
    expect(report.counts).toEqual({ ok: lines.length - warnings.length - nodeWarns, warn: warnings.length + nodeWarns, fail: 0 });
    expectRootToggle(report);
    expectSimulationCouldNotCheck(report);
  });

  it('HTTP mode against manifest.yml as shipped (Socket Mode): ✗ on the Slack mode, naming both ways out, exit 1', async () => {
    const fake = await startSlack();
    const { run, report } = await doctorJson(env(fake), []);
    expect(run.code, explain(run)).toBe(1);
    const mode = find(report, 'Slack mode matches manifest.yml');
    expect(mode.status).toBe('fail');
    expect(mode.detail).toMatch(/only SLACK_SIGNING_SECRET is set, so the bot runs in HTTP mode .* socket_mode_enabled: true/);
    expect(mode.fix).toMatch(/set SLACK_APP_TOKEN/);
    expect(mode.fix).toMatch(/socket_mode_enabled: false/);
    expect(report.checks.filter((c) => c.status === 'fail')).toHaveLength(1);
    // With the HTTP-mode manifest the same install is ✓ there.
    expect(find((await doctorJson(env(fake))).report, /^Slack mode matches /).status).toBe('ok');
  });

  it('a configured group that is missing: ✗ naming it and npm run setup -- --groups, exit 1', async () => {
    await iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingFull', PolicyArn: FULL_POLICY }));
    await iam.send(new DeleteGroupCommand({ GroupName: 'BillingFull' }));
    const fake = await startSlack();

    const [run, { run: jsonRun, report }] = await Promise.all([runDoctor(env(fake), manifestArgs()), doctorJson(env(fake))]);
    expect(run.code, explain(run)).toBe(1);
    const failed = run.stdout.split('\n').filter((l) => l.trim().startsWith('✗'));
    expect(failed, explain(run)).toHaveLength(1);
    expect(failed[0]).toMatch(/✗ IAM group BillingFull \(level full\): .*does not exist → run npm run setup -- --groups/);
    expect(run.stdout).toMatch(/✓ IAM group BillingReadOnly/);

    expect(jsonRun.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.counts.fail).toBe(1);
    expectRootToggle(report);
    expectSimulationCouldNotCheck(report);
  });

  it('the bot is not in the admin channel, or the channel does not exist: ✗ telling to invite the bot, exit 1', async () => {
    const fake = await startSlack(false);
    const [{ run, report }, missing] = await Promise.all([doctorJson(env(fake)), doctorJson(env(fake, { ADMIN_CHANNEL_ID: 'C0NOSUCH' }))]);
    expect(run.code, explain(run)).toBe(1);
    const channel = find(report, `bot in the admin channel ${ADMIN_CHANNEL}`);
    expect(channel.status).toBe('fail');
    expect(channel.detail).toMatch(/not a member of #billing-admins/);
    expect(channel.fix).toMatch(/\/invite @/);
    expect(report.checks.filter((c) => c.status === 'fail')).toHaveLength(1);
    expectRootToggle(report);

    expect(missing.run.code, explain(missing.run)).toBe(1);
    const gone = find(missing.report, 'bot in the admin channel C0NOSUCH');
    expect(gone.status).toBe('fail');
    expect(gone.fix).toMatch(/invite the bot/);
    expectRootToggle(missing.report);
  });

  it('a group that holds more than its expected policy (another managed policy, an inline policy): ✗ naming what was found, exit 1', async () => {
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'BillingReadOnly',
        PolicyName: 'sneaky',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }),
      }),
    );
    const fake = await startSlack();
    const { run, report } = await doctorJson(env(fake));
    expect(run.code, explain(run)).toBe(1);
    const group = find(report, 'IAM group BillingReadOnly (level read-only)');
    expect(group.status).toBe('fail');
    expect(group.detail).toContain('arn:aws:iam::aws:policy/AdministratorAccess');
    expect(group.detail).toMatch(/inline policy sneaky/);
    expect(group.fix).toContain('detach-group-policy --group-name BillingReadOnly --policy-arn arn:aws:iam::aws:policy/AdministratorAccess');
    expect(group.fix).toContain('delete-group-policy --group-name BillingReadOnly --policy-name sneaky');
    expect(find(report, 'IAM group BillingFull (level full)').status).toBe('ok');
    expect(report.counts.fail).toBe(1);
    expectRootToggle(report);
  });

  it('a customer-managed policy: ✓ while its default version allows billing only, ✗ naming the statement once it allows "*", exit 1', async () => {
    const custom = await createCustomerPolicy(iam, 'BillingCustomReadOnly', BILLING_ONLY_DOCUMENT);
    await iam.send(new DetachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: READ_ONLY_POLICY }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'BillingReadOnly', PolicyArn: custom }));
    const fake = await startSlack();
    const customEnv = env(fake, { BILLING_GROUP_POLICIES: `read-only=${custom}` });

    const untouched = await doctorJson(customEnv);
    expect(untouched.run.code, explain(untouched.run)).toBe(0);
    const good = find(untouched.report, 'IAM group BillingReadOnly (level read-only)');
    expect(good.status).toBe('ok');
    expect(good.detail).toBe(`exists and holds exactly ${custom} (default version v1: billing actions only)`);

    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: custom, PolicyDocument: JSON.stringify(EVERYTHING_DOCUMENT), SetAsDefault: true }));
    const edited = await doctorJson(customEnv);
    expect(edited.run.code, explain(edited.run)).toBe(1);
    const bad = find(edited.report, 'IAM group BillingReadOnly (level read-only)');
    expect(bad.status).toBe('fail');
    expect(bad.detail).toContain(`${custom} (default version v2) statement 1 allows * (outside the billing namespaces)`);
    expect(bad.fix).toContain(`aws iam set-default-policy-version --policy-arn ${custom}`);
    expect(find(edited.report, 'IAM group BillingFull (level full)').status).toBe('ok');
    expect(edited.report.counts.fail).toBe(1);
    expectSimulationCouldNotCheck(edited.report);
  });

  it('policy simulation that moto does not support is ⚠ could not check, never ✓ or ✗, in dry-run too', async () => {
    const fake = await startSlack();
    const { run, report } = await doctorJson(env(fake, { IAM_MODE: 'dry-run', ALLOWED_EMAIL_DOMAINS: '' }));
    expect(run.code, explain(run)).toBe(0);
    expectSimulationCouldNotCheck(report);
    const mode = find(report, 'IAM_MODE');
    expect(mode.status).toBe('warn');
    expect(mode.detail).toMatch(/^dry-run: nothing is changed in IAM/);
    const domains = find(report, 'ALLOWED_EMAIL_DOMAINS');
    expect(domains.status).toBe('warn');
    expect(domains.detail).toMatch(/unset/);
    expect(report.counts.fail).toBe(0);
    expectRootToggle(report);
  });

  it('granted scopes from the x-oauth-scopes header: ✓ when they cover what the app needs, ✗ naming the missing one', async () => {
    const fake = await startSlack();
    const full = await scopeHeaderProxy(fake.apiUrl, allScopes());
    closers.push(full.close);
    const lacking = await scopeHeaderProxy(
      fake.apiUrl,
      allScopes().filter((s) => s !== 'chat:write'),
    );
    closers.push(lacking.close);
    const [good, bad] = await Promise.all([doctorJson(env(fake, { SLACK_API_URL: full.apiUrl })), doctorJson(env(fake, { SLACK_API_URL: lacking.apiUrl }))]);
    expect(good.run.code, explain(good.run)).toBe(0);
    const granted = find(good.report, 'bot scopes');
    expect(granted.status).toBe('ok');
    expect(granted.detail).toContain('chat:write');

    expect(bad.run.code, explain(bad.run)).toBe(1);
    const missing = find(bad.report, 'bot scopes');
    expect(missing.status).toBe('fail');
    expect(missing.detail).toMatch(/lacks chat:write/);
    expect(missing.fix).toMatch(/reinstall/);
    expectRootToggle(bad.report);
  });

  it('a token Slack refuses: ✗ on the token, the Slack checks that depend on it are ⚠ could not check, exit 1', async () => {
    const fake = await startSlack();
    const { run, report } = await doctorJson(env(fake, { SLACK_BOT_TOKEN: 'xoxb-revoked-0000' }));
    expect(run.code, explain(run)).toBe(1);
    const token = find(report, 'bot token');
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/invalid_auth/);
    for (const title of ['bot scopes', `bot in the admin channel ${ADMIN_CHANNEL}`, 'admins resolve']) {
      const line = find(report, title);
      expect(line.status).toBe('warn');
      expect(line.detail).toMatch(/^could not check: /);
    }
    expect(report.counts.fail).toBe(1);
    // The AWS side is still checked.
    expect(find(report, 'IAM group BillingReadOnly (level read-only)').status).toBe('ok');
    expectRootToggle(report);
  });

  it('STORE=embedded while another process holds DATA_DIR: the table line is ⚠ could not check, not ✗ and no crash', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'doctor-embedded-'));
    const holder = await startEmbeddedDynamo(dataDir);
    const client = new DynamoDBClient({ endpoint: holder.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await ensureTable(client, TABLE);
      const fake = await startSlack();
      const { run, report } = await doctorJson(env(fake, { STORE: 'embedded', DATA_DIR: dataDir }));
      expect(run.code, explain(run)).toBe(0);
      const table = find(report, `DynamoDB table ${TABLE} (STORE=embedded)`);
      expect(table.status).toBe('warn');
      // The words setup and audit use too (src/environment-hints.ts).
      expect(table.detail).toBe(`could not check: ${heldStoreHint(dataDir).problem}`);
      expect(table.fix).toBe(heldStoreHint(dataDir).fix);
      expectRootToggle(report);
    } finally {
      client.destroy();
      await holder.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a missing table: ✗ with npm run setup; invalid configuration: the message naming the variable, exit 1', async () => {
    const fake = await startSlack();
    const [{ run, report }, bad] = await Promise.all([doctorJson(env(fake, { TABLE_NAME: 'no-such-table' })), runDoctor(env(fake, { IAM_MODE: 'sometimes' }))]);
    expect(run.code, explain(run)).toBe(1);
    const table = find(report, 'DynamoDB table no-such-table (STORE=dynamodb)');
    expect(table.status).toBe('fail');
    expect(table.fix).toMatch(/npm run setup/);
    expectRootToggle(report);

    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/IAM_MODE: must be one of live, dry-run/);
  });
});
