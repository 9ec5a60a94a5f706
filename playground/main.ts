/**
 * `npm run playground`: the real bot, started exactly as `npm start` runs it (HTTP mode, its own
 * /slack/events, signature checks on), against a local Slack stand-in with a web page and a local
 * IAM stand-in, on the embedded store. IAM runs live against the stand-in (AWS_ENDPOINT_URL points
 * the bot's IAM and STS calls at it, with throwaway credentials): grants really add members,
 * expiry and revoke remove them, a person without MFA is refused, a member added by hand shows
 * in the access review, and the page can widen a group so the group guard and Retry can be tried.
 * The stand-in's groups are kept beside the store in the data directory, so both survive a restart.
 * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_IAM) in the environment points the bot at that endpoint
 * instead (moto_server, LocalStack), with the environment's AWS variables; IAM_MODE=dry-run in
 * the environment runs dry-run. Loopback only; no .env, tokens or network needed. Ctrl-C stops all.
 */
import '../src/sdk-node-warning.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOT_NODE_FLAGS } from '../src/node-flags.js';
import { IamStandIn } from './iam-standin.js';
import { keepIamState, restoreIamState } from './iam-state-file.js';
import { SlackStandIn } from './slack-standin.js';
import { PlaygroundUi } from './ui.js';
import { ADMIN_CHANNEL, BOT_IAM_USER, BOT_USER_ID, billingGroups, CHANNELS, generateSecrets, PEOPLE, seedIamAccount, TEAM_ID } from './workspace.js';

const DEFAULT_BILLING_GROUPS = 'read-only=BillingReadOnly,full=BillingFull';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the bot exited with code ${child.exitCode} during start-up (its output is above)`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the bot did not answer ${url} within ${timeoutMs / 1000} s`);
}

export interface Playground {
  url: string;
  botPort: number;
  iamMode: 'live' | 'dry-run';
  /** The IAM stand-in the bot runs against; undefined when AWS_ENDPOINT_URL named another endpoint. */
  iam: IamStandIn | undefined;
  /** Where the bot's IAM calls go. */
  awsEndpoint: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** The environment's AWS variables, as the bot should see them there. */
function environmentAws(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const hasAwsCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE);
  return {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('AWS_'))),
    // Without credentials the SDK would probe the EC2 metadata service for seconds on every IAM read.
    ...(hasAwsCredentials ? {} : { AWS_EC2_METADATA_DISABLED: 'true' }),
  };
}

/**
 * The bot's AWS variables for the IAM stand-in: its endpoint for every service (IAM and STS; the
 * embedded store names its own), throwaway static credentials the SDK signs with, and none of the
 * environment's (a profile or session token of a real account has no business here).
 */
function standInAws(endpoint: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'playground',
    AWS_SECRET_ACCESS_KEY: 'playground',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
      ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED }
      : {}),
  };
}

/** Starts the stand-ins and the bot process; `port` 0 picks a free one. */
export async function startPlayground(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<Playground> {
  const secrets = generateSecrets();
  const env = options.env ?? process.env;
  let slack: SlackStandIn | undefined;
  const ui = new PlaygroundUi(() => slack as SlackStandIn, secrets);
  slack = await SlackStandIn.start({
    botToken: secrets.botToken,
    teamId: TEAM_ID,
    botUserId: BOT_USER_ID,
    channels: CHANNELS,
    users: PEOPLE,
    routes: ui.route,
    ...(options.port ? { port: options.port } : {}),
  });
  const billingGroupsSpec = env.BILLING_GROUPS ?? DEFAULT_BILLING_GROUPS;
  const dataDir = options.dataDir ?? join(ROOT, 'data', 'playground');
  // The environment's endpoint when it names one (moto_server, LocalStack); else the IAM stand-in.
  const externalEndpoint = env.AWS_ENDPOINT_URL_IAM || env.AWS_ENDPOINT_URL;
  let iam: IamStandIn | undefined;
  let stopKeepingIam = () => {};
  try {
    if (!externalEndpoint) {
      const account = seedIamAccount(billingGroups(billingGroupsSpec));
      const problem = restoreIamState(account, dataDir);
      if (problem && !options.quiet) process.stderr.write(`playground: ${problem}\n`);
      stopKeepingIam = keepIamState(account, dataDir);
      iam = await IamStandIn.start({ account, callerUserName: BOT_IAM_USER });
    }
  } catch (err) {
    stopKeepingIam();
    await slack.stop();
    throw err;
  }
  ui.iam = iam;
  const awsEndpoint = externalEndpoint ?? iam?.endpoint ?? '';
  const iamMode = env.IAM_MODE === 'dry-run' ? 'dry-run' : 'live';
  const botPort = await freePort();
  ui.botUrl = `http://127.0.0.1:${botPort}/slack/events`;
  const child = spawn(process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    stdio: options.quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'],
    env: {
      PATH: env.PATH,
      HOME: env.HOME,
      ...(iam ? standInAws(iam.endpoint, env) : environmentAws(env)),
      DOTENV_CONFIG_PATH: '/dev/null',
      SLACK_BOT_TOKEN: secrets.botToken,
      SLACK_SIGNING_SECRET: secrets.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(botPort),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: PEOPLE.filter((p) => p.role === 'admin')
        .map((p) => p.id)
        .join(','),
      BILLING_GROUPS: billingGroupsSpec,
      ALLOWED_EMAIL_DOMAINS: 'example.com',
      IAM_MODE: iamMode,
      REQUIRE_MFA: 'block',
      STORE: 'embedded',
      DATA_DIR: dataDir,
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      SWEEP_INTERVAL_SECONDS: '60',
    },
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise<void>((r) => {
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          r();
        });
      });
    }
    await slack?.stop();
    await iam?.stop();
    stopKeepingIam();
  };
  try {
    await waitForHealth(`http://127.0.0.1:${botPort}/healthz`, child, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${slack.baseUrl}/`, botPort, iamMode, iam, awsEndpoint, dataDir, stop };
}

function iamLine(playground: Playground): string {
  const where = playground.iam
    ? `a local IAM stand-in on ${playground.awsEndpoint} (account ${playground.iam.account.accountId}; seeded people and billing groups)`
    : `the AWS endpoint ${playground.awsEndpoint} from AWS_ENDPOINT_URL`;
  return playground.iamMode === 'live' ? `live, against ${where}` : `dry-run (IAM_MODE=dry-run): ${where} is read, never changed`;
}

async function main(): Promise<void> {
  const playground = await startPlayground({ port: Number(process.env.PLAYGROUND_PORT ?? 0) || 0 });
  process.stdout.write(
    [
      '',
      'billing-access bot playground',
      `  open   ${playground.url}`,
      `  Slack  a local stand-in on 127.0.0.1 (no workspace, tokens generated for this run)`,
      `  store  embedded, in ${playground.dataDir}`,
      `  IAM    ${iamLine(playground)}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const shutdown = () => {
    void playground.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`playground: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
