/**
 * `npm run playground`: the real bot, started exactly as `npm start` runs it (HTTP mode, its own
 * /slack/events, signature checks on), against a local Slack stand-in with a web page, on the
 * embedded store and IAM dry-run. Loopback only; no .env, tokens or network needed. Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOT_NODE_FLAGS } from '../src/node-flags.js';
import { SlackStandIn } from './slack-standin.js';
import { PlaygroundUi } from './ui.js';
import { ADMIN_CHANNEL, BOT_USER_ID, CHANNELS, generateSecrets, PEOPLE, TEAM_ID } from './workspace.js';

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
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the stand-in and the bot process; `port` 0 picks a free one. */
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
  const botPort = await freePort();
  ui.botUrl = `http://127.0.0.1:${botPort}/slack/events`;
  // Live IAM only when the AWS variables point at an endpoint (moto_server, LocalStack); else dry-run.
  const awsEndpoint = env.AWS_ENDPOINT_URL_IAM || env.AWS_ENDPOINT_URL;
  const iamMode = awsEndpoint ? 'live' : 'dry-run';
  const dataDir = options.dataDir ?? join(ROOT, 'data', 'playground');
  const hasAwsCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE);
  const child = spawn(process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    stdio: options.quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'],
    env: {
      PATH: env.PATH,
      HOME: env.HOME,
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('AWS_'))),
      // Without credentials the SDK would probe the EC2 metadata service for seconds on every IAM read.
      ...(hasAwsCredentials ? {} : { AWS_EC2_METADATA_DISABLED: 'true' }),
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
      BILLING_GROUPS: env.BILLING_GROUPS ?? 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'example.com',
      IAM_MODE: iamMode,
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
  };
  try {
    await waitForHealth(`http://127.0.0.1:${botPort}/healthz`, child, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${slack.baseUrl}/`, botPort, iamMode, dataDir, stop };
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
      `  IAM    ${playground.iamMode === 'live' ? 'live, against the AWS endpoint in AWS_ENDPOINT_URL' : 'dry-run: IAM is read where possible, never changed'}`,
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
