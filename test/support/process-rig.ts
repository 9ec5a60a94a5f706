/**
 * What the process-level tests (crash, SIGTERM) share: moto with the billing groups and
 * jane.doe, a table, the Slack stand-in, an AWS proxy in front of IAM, and the environment
 * that starts the real bot as a process against them. On request also an AWS proxy in front of
 * DynamoDB (to hold a write) and a gate in front of the Slack stand-in (to hang a Web API call
 * while the bot is killed).
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { ensureTable } from '../../src/store/table.js';
import { AwsProxy, forward } from '../../testkit/aws-proxy.js';
import { createGroup, createUser, FULL_POLICY, iamClient, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import { freePort, resetMoto } from '../../testkit/moto.js';
import { FakeSlack } from './fake-slack.js';
import { ADMIN_CHANNEL, BOT_TOKEN, PEOPLE, SIGNING_SECRET, TEAM } from './harness.js';

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  explain: () => string = () => '',
): Promise<T> {
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

/** One Web API call as the bot sent it: the method and its arguments (JSON fields parsed). */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
}

/**
 * A loopback proxy in front of the Slack stand-in. Calls matching a `hang` rule are held (the
 * bot waits for an answer that does not come) until `release` sends them on to the stand-in (as
 * if they reached Slack just as the bot died) or `drop` cuts them off (they never reached
 * Slack). Everything else passes straight through.
 */
export class SlackGate {
  private readonly rules: { match: (call: SlackCall) => boolean; left: number }[] = [];
  private waiting: { call: SlackCall; go: (verdict: 'forward' | 'drop') => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(standInUrl: string): Promise<SlackGate> {
    let gate: SlackGate | undefined;
    const upstream = new URL(standInUrl);
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        (gate as SlackGate).arrive(slackCallOf(req, body.toString('utf8')), (verdict) => {
          if (verdict === 'drop') req.socket.destroy();
          else forward(upstream, req, req.headers, body, res);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gate = new SlackGate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return gate;
  }

  /** The SLACK_API_URL that sends the bot through the gate. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** From now on the next `times` calls (default: every one) that `match` are held. */
  hang(match: (call: SlackCall) => boolean, options: { times?: number } = {}): void {
    this.rules.push({ match, left: options.times ?? Number.POSITIVE_INFINITY });
  }

  /** The calls held now. */
  hung(): SlackCall[] {
    return this.waiting.map((w) => w.call);
  }

  /** Sends every held call on to the stand-in and lifts every rule. */
  release(): void {
    this.settle('forward');
  }

  /** Cuts every held call off (the stand-in never sees it) and lifts every rule. */
  drop(): void {
    this.settle('drop');
  }

  private arrive(call: SlackCall, go: (verdict: 'forward' | 'drop') => void): void {
    const rule = this.rules.find((r) => r.left > 0 && r.match(call));
    if (!rule) {
      go('forward');
      return;
    }
    rule.left -= 1;
    this.waiting.push({ call, go });
  }

  private settle(verdict: 'forward' | 'drop'): void {
    this.rules.length = 0;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.go(verdict);
  }

  async stop(): Promise<void> {
    this.drop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The Web API method and arguments of a request to the gate (form-encoded or JSON, as the WebClient sends them). */
function slackCallOf(req: IncomingMessage, body: string): SlackCall {
  const path = new URL(req.url ?? '/', 'http://gate').pathname;
  const method = decodeURIComponent(path.replace(/^\/api\//, ''));
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return { method, args: JSON.parse(body) as Record<string, unknown> };
    } catch {
      return { method, args: {} };
    }
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (key === 'blocks' || key === 'attachments') {
      try {
        args[key] = JSON.parse(value);
        continue;
      } catch {
        // kept as the raw string
      }
    }
    args[key] = value;
  }
  return { method, args };
}

export interface ProcessRigOptions {
  /** Send the bot's DynamoDB calls through a second AwsProxy (`rig.dynamoProxy`), so a write can be held. */
  dynamoProxy?: boolean;
  /** Send the bot's Slack Web API calls through a SlackGate (`rig.slackGate`), so a call can hang. */
  slackGate?: boolean;
}

export class ProcessRig {
  private constructor(
    readonly awsEndpoint: string,
    readonly table: string,
    readonly slack: FakeSlack,
    readonly proxy: AwsProxy,
    readonly iam: IAMClient,
    readonly dynamo: DynamoDBClient,
    readonly store: DynamoRequestStore,
    readonly dynamoProxy: AwsProxy | undefined,
    readonly slackGate: SlackGate | undefined,
  ) {}

  static async start(awsEndpoint: string, table: string, options: ProcessRigOptions = {}): Promise<ProcessRig> {
    await resetMoto(awsEndpoint);
    const iam = iamClient(awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    await createUser(iam, { name: 'jane.doe', mfa: true });
    const dynamo = new DynamoDBClient({ endpoint: awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, table);
    const store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), table);
    const slack = await FakeSlack.start({
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
    const proxy = await AwsProxy.start(awsEndpoint);
    const dynamoProxy = options.dynamoProxy ? await AwsProxy.start(awsEndpoint) : undefined;
    const slackGate = options.slackGate ? await SlackGate.start(slack.baseUrl) : undefined;
    return new ProcessRig(awsEndpoint, table, slack, proxy, iam, dynamo, store, dynamoProxy, slackGate);
  }

  /** The environment of a bot process on this rig: HTTP on a free port, live IAM through the proxy. */
  async botEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.slackGate?.apiUrl ?? this.slack.apiUrl,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id},${PEOPLE.admin3.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: this.table,
      LOG_LEVEL: 'info',
      // Tests send many commands from one person; the limit has tests of its own.
      COMMAND_RATE_PER_MINUTE: '0',
      AWS_ENDPOINT_URL: this.awsEndpoint,
      AWS_ENDPOINT_URL_IAM: this.proxy.url,
      ...(this.dynamoProxy ? { AWS_ENDPOINT_URL_DYNAMODB: this.dynamoProxy.url } : {}),
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...overrides,
    };
  }

  async stop(): Promise<void> {
    await this.slackGate?.stop();
    await this.dynamoProxy?.stop();
    await this.proxy.stop();
    await this.slack.stop();
    this.iam.destroy();
    this.dynamo.destroy();
  }
}
