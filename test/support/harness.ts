/**
 * Starts the real bot (HTTP mode) against the fake Slack Web API and moto_server (IAM, and
 * DynamoDB unless the embedded store is asked for), and drives it with signed requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import { pino } from 'pino';
import { type RunningBot, startBot } from '../../src/bot-one-thread.js';
import { loadConfig } from '../../src/config.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { createLogger } from '../../src/log.js';
import type { Clock } from '../../src/services/ports.js';
import { ACTION, FIELD, VIEW } from '../../src/slack/ids.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { AwsProxy } from '../../testkit/aws-proxy.js';
import { createGroup, createUser, FULL_POLICY, iamClient, READ_ONLY_POLICY, type UserFixture } from '../../testkit/iam-fixtures.js';
import { resetMoto } from '../../testkit/moto.js';
import { buildAppHomeOpened, buildBlockAction, buildCommand, buildHomeBlockAction, buildViewSubmission } from '../../testkit/slack-payloads.js';
import { type BotResponse, postToBot } from '../../testkit/slack-signing.js';
import { FakeSlack, type FakeUser } from './fake-slack.js';

export const BOT_TOKEN = 'xoxb-test-token-0000';
export const SIGNING_SECRET = 'test-signing-secret';
export const ADMIN_CHANNEL = 'CADMIN';
export const TEAM = 'T0001';

export const PEOPLE = {
  employee: { id: 'U0EMPLOYEE', name: 'jane', email: 'jane.doe@corp.com' },
  admin1: { id: 'U0ADMIN1', name: 'alice', email: 'alice.admin@corp.com' },
  admin2: { id: 'U0ADMIN2', name: 'bob', email: 'bob.admin@corp.com' },
  admin3: { id: 'U0ADMIN3', name: 'carol', email: 'carol.admin@corp.com' },
  outsider: { id: 'U0OUTSIDER', name: 'mallory', email: 'mallory@corp.com' },
  guest: { id: 'U0GUEST', name: 'gus', email: 'gus@corp.com', isRestricted: true },
  partner: { id: 'U0PARTNER', name: 'pat', email: 'jane.doe@partner.com' },
  external: { id: 'U0EXTERNAL', name: 'ext', email: 'ext@corp.com', teamId: 'T0OTHER' },
} satisfies Record<string, FakeUser>;

export interface HarnessOptions {
  awsEndpoint: string;
  /**
   * Where the bot's table lives (the bot always runs STORE=dynamodb except for 'embedded'):
   * 'dynalite' (default) a DynamoDB-compatible server the harness starts, shared by replicas;
   * 'moto' the moto_server endpoint (its conditional writes are not atomic under concurrent
   * requests, so races are tested on dynalite); 'embedded' STORE=embedded in a temp DATA_DIR.
   */
  store?: 'dynalite' | 'moto' | 'embedded';
  env?: Record<string, string>;
  users?: UserFixture[];
  clock?: Clock;
  /** Periodic sweeps on real time; off by default (tests call `sweep()` with their clock). */
  scheduleSweeps?: boolean;
  /** Where the bot's JSON log lines go (debug level); silent when unset. */
  logDestination?: NodeJS.WritableStream;
  /** Socket Mode: the bot gets this SLACK_APP_TOKEN and the Slack stand-in takes it for apps.connections.open. */
  slackAppToken?: string;
}

export class Harness {
  private constructor(
    readonly slack: FakeSlack,
    private running: RunningBot,
    readonly iam: IAMClient,
    /** Every IAM call the bot makes passes through this proxy: count or hold actions. */
    readonly iamProxy: AwsProxy,
    private readonly dataDir: string | undefined,
    private readonly dynalite: EmbeddedDynamo | undefined,
    private startOptions: Parameters<typeof startBot>[0],
    /** The variables the config was loaded from, so a restart can change some of them. */
    private readonly configEnv: Record<string, string>,
  ) {}

  private readonly replicas: RunningBot[] = [];

  /** The bot under test (a new one after `restartWith`). */
  get bot(): RunningBot {
    return this.running;
  }

  /**
   * Stops the bot and starts it again on the same table, Slack stand-in and IAM proxy with `env`
   * laid over the first start's variables: a redeploy with a changed configuration.
   */
  async restartWith(env: Record<string, string>): Promise<RunningBot> {
    await this.running.stop();
    this.startOptions = { ...this.startOptions, config: loadConfig({ ...this.configEnv, ...env }) };
    this.running = await startBot(this.startOptions);
    return this.running;
  }

  /** Another bot process-equivalent on the same table and Slack (STORE=dynamodb only): for replica races. */
  async startReplica(clock?: Clock): Promise<RunningBot> {
    if (this.dataDir) throw new Error('replicas need the shared DynamoDB store, not the embedded one');
    const replica = await startBot({ ...this.startOptions, ...(clock ? { clock } : {}) });
    this.replicas.push(replica);
    return replica;
  }

  static async start(options: HarnessOptions): Promise<Harness> {
    await resetMoto(options.awsEndpoint);
    const iam = iamClient(options.awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    for (const user of options.users ?? [{ name: 'jane.doe' }]) await createUser(iam, user);

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
      ...(options.slackAppToken ? { appToken: options.slackAppToken } : {}),
    });
    const dataDir = options.store === 'embedded' ? await mkdtemp(join(tmpdir(), 'billing-bot-')) : undefined;
    const dynalite = (options.store ?? 'dynalite') === 'dynalite' ? await startEmbeddedDynamo(null) : undefined;
    // The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself, before AWS_ENDPOINT_URL.
    if (dynalite) process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    if (!dataDir) {
      const dynamo = new DynamoDBClient({});
      await ensureTable(dynamo, 'billing-access-test');
      dynamo.destroy();
    }
    const configEnv: Record<string, string> = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id},${PEOPLE.admin3.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: dataDir ? 'embedded' : 'dynamodb',
      DATA_DIR: dataDir ?? '',
      TABLE_NAME: 'billing-access-test',
      LOG_LEVEL: 'silent',
      // Tests send many commands from one person; the limit has tests of its own (command-rate.test.ts).
      COMMAND_RATE_PER_MINUTE: '0',
      ...(options.slackAppToken ? { SLACK_APP_TOKEN: options.slackAppToken } : {}),
      ...options.env,
    };
    const config = loadConfig(configEnv);
    const iamProxy = await AwsProxy.start(options.awsEndpoint);
    // The SDK reads AWS_ENDPOINT_URL_IAM itself; only the bot's IAM traffic goes through the proxy.
    process.env.AWS_ENDPOINT_URL_IAM = iamProxy.url;
    const startOptions = {
      config,
      log: options.logDestination ? createLogger('debug', options.logDestination) : pino({ level: 'silent' }),
      aws: { region: 'us-east-1' },
      slackRetries: 0,
      scheduleSweeps: options.scheduleSweeps ?? false,
      ...(options.clock ? { clock: options.clock } : {}),
    };
    const bot = await startBot(startOptions);
    return new Harness(slack, bot, iam, iamProxy, dataDir, dynalite, startOptions, configEnv);
  }

  get url(): string {
    return `http://127.0.0.1:${this.bot.port}/slack/events`;
  }

  post(body: string, opts: Parameters<typeof postToBot>[3] = {}): Promise<BotResponse> {
    return postToBot(this.url, SIGNING_SECRET, body, opts);
  }

  /** Sends a slash command; its response_url is the fake's, keyed by `key`. */
  command(userId: string, text: string, options: { channelId?: string; key?: string } = {}): Promise<BotResponse & { key: string }> {
    const key = options.key ?? `${userId}-${Date.now()}-${Math.random()}`;
    const body = buildCommand({
      user_id: userId,
      text,
      response_url: this.slack.responseUrl(key),
      team_id: TEAM,
      ...(options.channelId ? { channel_id: options.channelId } : {}),
    });
    return this.post(body).then((r) => ({ ...r, key }));
  }

  /** An admin command (revoke, link, summary), typed in the admin channel where they are accepted. */
  adminCommand(userId: string, text: string): Promise<BotResponse & { key: string }> {
    return this.command(userId, text, { channelId: ADMIN_CHANNEL });
  }

  click(userId: string, action: keyof typeof ACTION, requestId: string, channelId = ADMIN_CHANNEL): Promise<BotResponse> {
    return this.post(
      buildBlockAction({ userId, channelId, actionId: ACTION[action], value: requestId, responseUrl: this.slack.responseUrl(`click-${userId}`) }),
    );
  }

  /** The signed app_home_opened event: `userId` opened the bot's Home tab. */
  openHome(userId: string, tab: 'home' | 'messages' = 'home'): Promise<BotResponse> {
    return this.post(buildAppHomeOpened({ userId, tab }), { contentType: 'application/json' });
  }

  /** A button click on `userId`'s Home tab (no channel); `viewType` other than 'home' stands for a modal. */
  homeClick(userId: string, action: keyof typeof ACTION, value: string, options: { viewType?: string; triggerId?: string } = {}): Promise<BotResponse> {
    return this.post(buildHomeBlockAction({ userId, actionId: ACTION[action], value, ...options }));
  }

  /** Opens `userId`'s Home and waits until its view is published (a new one each time). */
  async publishedHome(userId: string): Promise<Record<string, unknown>> {
    const publishes = () => this.slack.calls('views.publish').filter((c) => c.args.user_id === userId).length;
    const before = publishes();
    const res = await this.openHome(userId);
    if (res.status !== 200) throw new Error(`app_home_opened answered ${res.status}: ${res.text}`);
    await this.slack.waitFor(() => publishes() > before);
    await this.idle();
    const home = this.slack.homeOf(userId);
    if (!home) throw new Error(`no Home was published for ${userId}`);
    return home.view;
  }

  submitRequestModal(userId: string, fields: { level?: string; duration?: string; justification?: string }): Promise<BotResponse> {
    return this.post(
      buildViewSubmission({
        userId,
        callbackId: VIEW.request,
        values: {
          [FIELD.level.block]: { [FIELD.level.action]: { type: 'static_select', ...(fields.level ? { selected_option: { value: fields.level } } : {}) } },
          [FIELD.duration.block]: {
            [FIELD.duration.action]: { type: 'static_select', ...(fields.duration ? { selected_option: { value: fields.duration } } : {}) },
          },
          [FIELD.justification.block]: {
            [FIELD.justification.action]: { type: 'plain_text_input', ...(fields.justification !== undefined ? { value: fields.justification } : {}) },
          },
        },
      }),
    );
  }

  submitDenyModal(userId: string, requestId: string, reason: string): Promise<BotResponse> {
    return this.post(
      buildViewSubmission({
        userId,
        callbackId: VIEW.deny,
        privateMetadata: JSON.stringify({ requestId, channelId: ADMIN_CHANNEL }),
        values: { [FIELD.reason.block]: { [FIELD.reason.action]: { type: 'plain_text_input', value: reason } } },
      }),
    );
  }

  /** The text of every reply sent to a response_url key. */
  replies(key: string): string[] {
    return this.slack.responses(key).map((r) => String(r.body.text ?? ''));
  }

  waitForReply(key: string): Promise<string> {
    return this.slack.waitFor(() => this.replies(key)[0]);
  }

  dms(userId: string) {
    return this.slack.messages(`D${userId}`);
  }

  adminMessages() {
    return this.slack.messages(ADMIN_CHANNEL).filter((m) => !m.ephemeralTo && !m.threadTs);
  }

  ephemeralsFor(userId: string) {
    return this.slack.messages(ADMIN_CHANNEL).filter((m) => m.ephemeralTo === userId);
  }

  async requestsOf(userId: string): Promise<AccessRequest[]> {
    return this.bot.deps.store.listByRequester(userId);
  }

  /** Requests a level by text and returns the stored request once the admin message is posted. */
  async requestByText(userId: string, text: string): Promise<AccessRequest> {
    const before = this.adminMessages().length;
    const res = await this.command(userId, text);
    if (res.status !== 200) throw new Error(`command answered ${res.status}: ${res.text}`);
    await this.slack.waitFor(() => this.adminMessages().length > before || this.replies(res.key).length > 0);
    // The submission finishes after the admin post (it links the message to the request): wait for it.
    await this.idle();
    const [latest] = await this.requestsOf(userId);
    if (!latest || this.adminMessages().length === before) throw new Error(`no request was stored: ${this.replies(res.key).join(' | ')}`);
    return latest;
  }

  async waitForStatus(id: string, status: AccessRequest['status']): Promise<AccessRequest> {
    let last: AccessRequest | undefined;
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      last = await this.bot.deps.store.get(id);
      if (last?.status === status) return last;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`request ${id} is ${last?.status ?? 'missing'}, not ${status}`);
  }

  sweep() {
    return this.bot.deps.sweeper.sweep();
  }

  /** Waits until the bot has no post-ack work left. */
  async idle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await this.bot.deps.work.onIdle();
  }

  async stop(): Promise<void> {
    for (const replica of this.replicas) await replica.stop();
    await this.running.stop();
    await this.slack.stop();
    await this.iamProxy.stop();
    delete process.env.AWS_ENDPOINT_URL_IAM;
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    await this.dynalite?.close();
    this.iam.destroy();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
