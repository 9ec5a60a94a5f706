/**
 * Everything the benchmark runs against, all on 127.0.0.1: the fake Slack Web API (in this
 * process), moto_server for IAM behind a counting proxy, dynalite servers in their own
 * processes (one for the bot's table behind a capacity-counting proxy, one for the period
 * tables), the bare Bolt baseline and the bot itself as separate processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as iamSdk from '@aws-sdk/client-iam';
import { SlackStandIn as FakeSlack } from '../playground/slack-standin.js';
import { BOT_NODE_FLAGS } from '../src/node-flags.js';
import { AwsProxy } from '../testkit/aws-proxy.js';
import { freePort, type MotoHandle, startMoto } from '../testkit/moto.js';
import { type BotBundle, bundledEntry } from './bundled.js';
import { DynamoProxy } from './dynamo-proxy.js';
import { ADMIN_CHANNEL, ADMINS, BILLING_GROUPS, BOT_TOKEN, type Employee, GENERAL_CHANNEL, SIGNING_SECRET, slackUsers, TEAM } from './fixtures.js';
import { childPids, firstJsonLine, memoryMb, type NodeChild, placement, setNice, spawnNode, waitForHttp200 } from './procs.js';
import { extraBotEnv } from './settings.js';

/** Every IAM action name the SDK knows, so the proxy's counts can be summed whatever the bot calls. */
const IAM_ACTIONS = Object.keys(iamSdk)
  .filter((k) => /^[A-Z]\w+Command$/.test(k))
  .map((k) => k.slice(0, -'Command'.length));

export class Stoppers {
  private readonly stops: { name: string; stop: () => Promise<unknown> }[] = [];
  add(name: string, stop: () => Promise<unknown>): void {
    this.stops.push({ name, stop });
  }
  /** Stops everything in reverse order of starting; each at most once. */
  async stopAll(log: (line: string) => void): Promise<void> {
    while (this.stops.length) {
      const { name, stop } = this.stops.pop() as { name: string; stop: () => Promise<unknown> };
      try {
        await Promise.race([stop(), new Promise((r) => setTimeout(r, 15_000))]);
      } catch (err) {
        log(`  stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

export async function startDynalite(stoppers: Stoppers, name: string): Promise<{ endpoint: string; process: NodeChild }> {
  const child = spawnNode('bench/dynalite-server.ts', { env: {} });
  stoppers.add(name, () => child.stop());
  const { endpoint } = await firstJsonLine<{ endpoint: string }>(child.child);
  return { endpoint, process: child };
}

export interface Rig {
  slack: FakeSlack;
  moto: MotoHandle;
  iamProxy: AwsProxy;
  dynamo: { endpoint: string; process: NodeChild };
  dynamoProxy: DynamoProxy;
  iamCalls(): number;
  iamCallsByAction(): Record<string, number>;
}

export async function startRig(stoppers: Stoppers, people: Employee[]): Promise<Rig> {
  const slack = await FakeSlack.start({
    botToken: BOT_TOKEN,
    teamId: TEAM,
    channels: [
      { id: ADMIN_CHANNEL, name: 'billing-admins', members: ['UBOT', ...ADMINS] },
      { id: GENERAL_CHANNEL, name: 'general' },
    ],
    users: slackUsers(people),
  });
  stoppers.add('fake Slack', () => slack.stop());
  const [moto, dynamo] = await Promise.all([startMoto(), startDynalite(stoppers, 'dynalite (bot table)')]);
  stoppers.add('moto_server', () => moto.stop());
  // The emulators stand in for remote services: on this machine they must not take the CPU from the
  // bot or the load generator first, so they run at a lower priority (BENCH_NICE=0 turns this off).
  if (process.env.BENCH_NICE !== '0') {
    for (const pid of [...childPids('moto_server'), dynamo.process.pid]) setNice(pid);
  }
  const iamProxy = await AwsProxy.start(moto.endpoint);
  stoppers.add('IAM proxy', () => iamProxy.stop());
  const dynamoProxy = await DynamoProxy.start(dynamo.endpoint);
  stoppers.add('DynamoDB proxy', () => dynamoProxy.stop());
  const iamCallsByAction = () => {
    const out: Record<string, number> = {};
    for (const action of [...IAM_ACTIONS, 'unknown']) {
      const n = iamProxy.count(action);
      if (n) out[action] = n;
    }
    return out;
  };
  return {
    slack,
    moto,
    iamProxy,
    dynamo,
    dynamoProxy,
    iamCallsByAction,
    iamCalls: () => Object.values(iamCallsByAction()).reduce((a, b) => a + b, 0),
  };
}

export interface StartedServer {
  process: NodeChild;
  port: number;
  url: string;
  /** Spawn to the first 200 from GET /healthz. */
  startupMs: number;
  rssAfterStartMb: number;
  logFile: string;
}

export async function startBare(stoppers: Stoppers, rig: Rig, logDir: string, cpuProfileDir?: string): Promise<StartedServer> {
  const port = await freePort();
  const logFile = join(logDir, 'bare-bolt.log');
  const child = spawnNode('bench/bare-bolt.ts', {
    ...(placement.underTest ? { cpus: placement.underTest } : {}),
    env: { PORT: String(port), SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: rig.slack.apiUrl },
    logFile,
    ...(cpuProfileDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] } : {}),
  });
  stoppers.add('bare Bolt app', () => child.stop());
  return whenListening(child, port, logFile);
}

/** Waits for the server's /healthz to answer 200; what it took and how much memory it holds then. */
async function whenListening(child: NodeChild, port: number, logFile: string): Promise<StartedServer> {
  const ready = await waitForHttp200(`http://127.0.0.1:${port}/healthz`, 30_000, () => child.child.exitCode === null);
  return {
    process: child,
    port,
    url: `http://127.0.0.1:${port}/slack/events`,
    startupMs: ready - child.spawnedAt,
    rssAfterStartMb: memoryMb(child.pid).rss,
    logFile,
  };
}

export interface Endpoints {
  slackApiUrl: string;
  dynamoUrl: string;
  iamUrl: string;
}

export function botEnv(endpoints: Endpoints, port: number, table: string): Record<string, string> {
  return {
    DOTENV_CONFIG_PATH: '/dev/null',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: endpoints.slackApiUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
    ADMIN_USER_IDS: ADMINS.join(','),
    BILLING_GROUPS,
    ALLOWED_EMAIL_DOMAINS: 'corp.com',
    IAM_MODE: 'live',
    STORE: 'dynamodb',
    TABLE_NAME: table,
    LOG_LEVEL: 'info',
    // Load phases send many commands from a few people.
    COMMAND_RATE_PER_MINUTE: '0',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The SDK reads these itself: every DynamoDB and IAM call of the bot passes a counting proxy.
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoUrl,
    AWS_ENDPOINT_URL_IAM: endpoints.iamUrl,
  };
}

export async function startBotProcess(
  stoppers: Stoppers,
  rig: Rig,
  logDir: string,
  table: string,
  cpuProfileDir: string | undefined,
  /**
   * Variables over botEnv's (e.g. STORE=embedded), the log file's name, the script to run instead
   * of src/main.ts (e.g. bench/bot-variant.ts), and the bundle to run it from (none: from source under tsx).
   */
  variant: { env?: Record<string, string>; logName?: string; script?: string; bundle?: BotBundle | undefined } = {},
): Promise<StartedServer & { ownStartupMs: number | undefined }> {
  const port = await freePort();
  const logFile = join(logDir, variant.logName ?? 'bot.log');
  const script = variant.script ?? 'src/main.ts';
  const { bundle } = variant;
  const child = spawnNode(bundle ? bundledEntry(bundle, script) : script, {
    tsx: !bundle,
    ...(placement.underTest ? { cpus: placement.underTest } : {}),
    // The bot asks STS who it is at start (live mode stops without an answer): moto answers, past the counting IAM proxy.
    env: {
      ...botEnv({ slackApiUrl: rig.slack.apiUrl, dynamoUrl: rig.dynamoProxy.url, iamUrl: rig.iamProxy.url }, port, table),
      AWS_ENDPOINT_URL_STS: rig.moto.endpoint,
      ...variant.env,
      // A trial's variables (BENCH_BOT_ENV), last: they win.
      ...extraBotEnv(process.env),
    },
    logFile,
    nodeArgs: [
      ...BOT_NODE_FLAGS,
      ...(cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : []),
      // For diagnosis only (e.g. --trace-gc: the bot's log then carries V8's lines).
      ...(process.env.BENCH_BOT_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
    ],
  });
  // SIGTERM: the bot stops taking work, finishes what it has, and exits (writing a CPU profile if asked).
  stoppers.add('bot', () => child.stop('SIGTERM', 20_000));
  const started = await whenListening(child, port, logFile);
  return { ...started, ownStartupMs: startupLogged(logFile) };
}

/** The bot's own `startupMs` from its `started` log line (config loaded → listening; module loading not included). */
function startupLogged(logFile: string): number | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"event":"started"')) continue;
    try {
      return (JSON.parse(line) as { startupMs?: number }).startupMs;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Log lines at warn or above, and the bot's own error events, counted by event. */
export function logProblems(logFile: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) {
      if (
        line.trim() &&
        !/NodeVersionSupportWarning|versions published after|will require node|continue receiving|security updates|a\.co\/|trace-warnings|^\s*$/.test(line)
      )
        out['non-JSON output'] = (out['non-JSON output'] ?? 0) + 1;
      continue;
    }
    try {
      const entry = JSON.parse(line) as { level?: number; event?: string; msg?: string };
      if ((entry.level ?? 0) >= 40) {
        const key = entry.event ?? entry.msg?.slice(0, 60) ?? 'warn';
        out[key] = (out[key] ?? 0) + 1;
      }
    } catch {
      // a partial line at the end
    }
  }
  return out;
}
