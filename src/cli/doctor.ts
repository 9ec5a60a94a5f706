/**
 * `npm run doctor [-- --json] [--manifest <file>]`: checks what the bot needs where the
 * environment points (the Slack mode against the app manifest, Slack token, scopes and admin
 * channel, admins, the table and its indexes, the IAM groups and their policies, the bot's own
 * AWS permissions, the settings in effect) and prints one line per check: ✓, ✗ with the fix,
 * or ⚠ (could not check, and why). Exit code 1 only when a line is ✗.
 *
 * A composition root of its own: it builds the Slack clients it checks through, and the DynamoDB,
 * IAM and STS clients with the helpers of src/deps.ts, and closes them when done.
 */
import '../sdk-node-warning.js';
import 'dotenv/config';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LogLevel, WebClient } from '@slack/web-api';
import { AwsDoctorProbe } from '../aws/doctor-probe.js';
import { openDynamo, openIam } from '../aws-clients.js';
import { type Config, loadConfig, wantsColor } from '../config.js';
import { iamGateway } from '../deps.js';
import {
  type CheckResult,
  checkGroup,
  checkPermissions,
  checkRuntime,
  checkSettings,
  checkSlack,
  checkTable,
  couldNotCheck,
  manifestBotScopes,
  requiredScopes,
  type TableCheck,
} from '../doctor/checks.js';
import { formatJson, formatText } from '../doctor/report.js';
import { checkStrandedGrants } from '../doctor/stranded.js';
import { heldStoreHint } from '../environment-hints.js';
import { ConfigError, EmbeddedStoreInUseError } from '../errors.js';
import { boltLogger, createLogger } from '../log.js';
import { DocumentTable } from '../store/document-client.js';
import { DynamoRequestStore } from '../store/dynamo-store.js';
import { probeEmbeddedStore } from '../store/embedded-probe.js';
import { openSts } from '../sts-client.js';

const USAGE = 'usage: npm run doctor [-- --json] [--manifest <file>]\n';
/** The project's manifest.yml; `--manifest <file>` names another (the one the Slack app was made from). */
const MANIFEST = new URL('../../manifest.yml', import.meta.url);

/** The manifest's text; undefined when there is none (the built-in scopes are used, the mode is not checked). */
async function readManifest(file: URL | string): Promise<string | undefined> {
  return existsSync(file) ? readFile(file, 'utf8') : undefined;
}

/** The bot scopes the manifest asks for; undefined (the built-in list) without a manifest or when it is not YAML. */
function manifestScopes(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  try {
    return manifestBotScopes(text);
  } catch {
    return undefined;
  }
}

/** The embedded store is held by another process: the table cannot be checked, and the hint setup and audit give too. */
function heldStore(title: string, dataDir: string): CheckResult {
  const hint = heldStoreHint(dataDir);
  return couldNotCheck('Store', title, hint.problem, hint.fix);
}

async function storeChecks(config: Config): Promise<{ results: CheckResult[]; table?: TableCheck }> {
  const title = `DynamoDB table ${config.tableName} (STORE=${config.store})`;
  if (config.store === 'embedded') {
    const probe = await probeEmbeddedStore(config.dataDir);
    if (probe.state === 'absent') {
      return {
        results: [
          { section: 'Store', status: 'ok', title, detail: `no store in DATA_DIR ${config.dataDir} yet: the bot creates it and the table at its first start` },
        ],
      };
    }
    if (probe.state === 'in-use') return { results: [heldStore(title, config.dataDir)] };
    if (probe.state === 'unknown') {
      return {
        results: [
          couldNotCheck(
            'Store',
            title,
            `the embedded store in ${config.dataDir} did not open: ${probe.why}`,
            'stop the bot to check the table; while it runs, GET /healthz says whether its store answers',
          ),
        ],
      };
    }
  }
  let opened: Awaited<ReturnType<typeof openDynamo>>;
  try {
    opened = await openDynamo(config, config.aws);
  } catch (err) {
    // Taken by another process between the probe and the start.
    if (err instanceof EmbeddedStoreInUseError) return { results: [heldStore(title, config.dataDir)] };
    throw err;
  }
  try {
    const table = await checkTable(opened.client, { tableName: config.tableName, store: config.store, createdAtStart: config.store === 'embedded' });
    if (table.result.status !== 'ok' || table.indexNames.length === 0) return { results: [table.result], table };
    const store = new DynamoRequestStore(new DocumentTable(opened.client), config.tableName);
    const stranded = checkStrandedGrants(await store.listByStatus('ACTIVE'), config.levels);
    return { results: [table.result, stranded], table };
  } finally {
    opened.client.destroy();
    await opened.embedded?.close();
  }
}

async function iamChecks(config: Config, table: TableCheck | undefined): Promise<CheckResult[]> {
  const iam = openIam(config.aws);
  const sts = openSts(config.aws);
  try {
    const gateway = iamGateway(config, iam);
    const groups = [];
    for (const level of config.levels) groups.push(await checkGroup(gateway, level, config.billingNamespaces));
    const permissions = await checkPermissions({
      probe: new AwsDoctorProbe(iam, sts),
      groups: groups.map((g) => ({ groupName: g.level.groupName, ...(g.arn ? { arn: g.arn } : {}) })),
      policyArns: config.levels.map((l) => l.policyArn),
      iamMode: config.iamMode,
      iamUserMapping: config.iamUserMapping,
      ...(config.store === 'dynamodb' && table?.tableArn ? { table: { arn: table.tableArn, indexNames: table.indexNames } } : {}),
    });
    return [...groups.map((g) => g.result), permissions];
  } finally {
    iam.destroy();
    sts.destroy();
  }
}

/** A section that fails in a way no check foresaw still prints a line: it could not be checked, and why. */
async function guarded(section: CheckResult['section'], title: string, run: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return [{ section, status: 'warn', title, detail: `could not check: ${why}` }];
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const manifestAt = args.indexOf('--manifest');
  const manifestFile = manifestAt >= 0 ? args[manifestAt + 1] : undefined;
  if (manifestAt >= 0 && (manifestFile === undefined || manifestFile.startsWith('--'))) {
    process.stderr.write(`doctor: --manifest needs a file\n${USAGE}`);
    return 2;
  }
  const unknown = args.filter((a, i) => a !== '--json' && (manifestAt < 0 || (i !== manifestAt && i !== manifestAt + 1)));
  if (unknown.length > 0) {
    process.stderr.write(`doctor: unknown argument ${unknown.join(' ')}\n${USAGE}`);
    return 2;
  }
  const manifestText = await readManifest(manifestFile ?? MANIFEST);
  if (manifestFile !== undefined && manifestText === undefined) {
    process.stderr.write(`doctor: no manifest at ${manifestFile}\n${USAGE}`);
    return 2;
  }
  const manifest = manifestText === undefined ? undefined : { source: manifestFile ?? 'manifest.yml', text: manifestText };
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  // Logs (the Web API client's warnings) go to stderr: stdout carries only the report.
  const log = createLogger(config.logLevel === 'silent' ? 'silent' : 'error', process.stderr);
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 1 },
    timeout: 10_000,
    logger: boltLogger(log, LogLevel.ERROR),
    logLevel: LogLevel.ERROR,
  };
  const slack = new WebClient(config.slack.botToken, clientOptions);
  const app = config.slack.mode === 'socket' && config.slack.appToken ? new WebClient(config.slack.appToken, clientOptions) : undefined;

  const required = requiredScopes(manifestScopes(manifestText), config.adminUsergroupId);
  const [slackResults, awsResults] = await Promise.all([
    guarded('Slack', 'Slack checks', () => checkSlack({ config, slack, ...(app ? { app } : {}), required, ...(manifest ? { manifest } : {}) })),
    guarded('IAM', 'AWS checks', async () => {
      const store = await storeChecks(config);
      return [...store.results, ...(await iamChecks(config, store.table))];
    }),
  ]);
  const results = [...slackResults, ...awsResults, ...checkSettings(config), checkRuntime(process.versions.node)];

  if (json) process.stdout.write(formatJson(results));
  else {
    const color = wantsColor(process.stdout);
    const heading = `billing-access bot doctor: STORE=${config.store}, TABLE_NAME=${config.tableName}, IAM_MODE=${config.iamMode}, Slack ${config.slack.mode === 'socket' ? 'Socket Mode' : 'HTTP mode'}`;
    process.stdout.write(formatText(results, { color, heading }));
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

main().then(
  // Exits once stdout has taken the report: keep-alive sockets of the clients would hold the process open.
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`doctor failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    process.exit(1);
  },
);
