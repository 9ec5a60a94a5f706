/**
 * The composition root, with src/bot.ts: builds the AWS SDK clients, the IAM gateway, the store,
 * the Slack notifier and directory, the summary schedule and the services; bot.ts adds the Slack
 * client, Bolt and the firing schedulers. The CLIs (src/cli/) compose their own from the helpers here.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { WebClient } from '@slack/web-api';
import { Cron } from 'croner';
import type { JobDeps } from '../handlers/deps.js';
import { AccessAdvisorReader } from './aws/access-advisor.js';
import { DryRunIamGateway } from './aws/dry-run.js';
import { AwsIamGateway } from './aws/iam.js';
import type { AwsOptions } from './aws-client-options.js';
import { openDynamo, openIam } from './aws-clients.js';
import type { Config } from './config.js';
import { MissingTableError } from './errors.js';
import type { Logger } from './log.js';
import { WORK_QUEUE_OPTIONS } from './post-ack/queue-options.js';
import { AdminPolicy } from './services/admins.js';
import { Announcer } from './services/announcer.js';
import { DecisionService } from './services/decision-service.js';
import { GrantExecutor } from './services/grant.js';
import { HomeService } from './services/home-service.js';
import { IdentityResolver } from './services/identity.js';
import { LifecycleService } from './services/lifecycle.js';
import { GroupMembership } from './services/membership.js';
import {
  type Clock,
  type IamGateway,
  type Notifier,
  type RequestStore,
  type SlackDirectory,
  type SummaryStore,
  systemClock,
  type UsageReader,
} from './services/ports.js';
import { RequestService } from './services/request-service.js';
import { type FiringSchedule, type SummaryPoster, SummaryService } from './services/summary-service.js';
import { Sweeper } from './services/sweeper.js';
import { SlackWebDirectory } from './slack-web/directory.js';
import { SlackNotifier } from './slack-web/notifier.js';
import { respondViaUrl } from './slack-web/respond.js';
import { DocumentTable } from './store/document-client.js';
import { DynamoRequestStore } from './store/dynamo-store.js';
import { describeTable, ensureTable } from './store/table.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

export interface BuiltDeps extends JobDeps {
  /** The bounded queue the post-ack jobs run on. */
  work: WorkQueue;
  sweeper: Sweeper;
  clock: Clock;
  store: DynamoRequestStore;
  iam: IamGateway;
  dynamo: DynamoDBClient;
  close(): Promise<void>;
}

/** The bot's IAM gateway: only the configured groups, and only BILLING_GROUP_POLICIES' documents. */
export function iamGateway(config: Pick<Config, 'levels'>, iam: IAMClient): AwsIamGateway {
  return new AwsIamGateway({ client: iam, groups: config.levels.map((l) => l.groupName), policyArns: config.levels.map((l) => l.policyArn) });
}

/** IAM access advisor over the bot's IAM client, for usage evidence: reads only, so the same in dry-run. */
export function accessAdvisor(config: Pick<Config, 'billingNamespaces'>, iam: IAMClient): AccessAdvisorReader {
  return new AccessAdvisorReader({ client: iam, namespaces: config.billingNamespaces });
}

/** The summary's schedule, for arithmetic only: paused, it never fires (src/bot.ts runs the firing one). */
export function summarySchedule(config: Pick<Config, 'summaryCron' | 'summaryTimezone'>): FiringSchedule {
  return new Cron(config.summaryCron, { timezone: config.summaryTimezone, paused: true });
}

/** The outside world the services talk to, built by buildDeps (or by a test from fakes). */
export interface ServiceParts {
  config: Config;
  log: Logger;
  clock: Clock;
  store: RequestStore & SummaryStore;
  iam: IamGateway;
  /** IAM access advisor: without it, the review and the end notices carry no usage evidence. */
  usage?: UsageReader;
  directory: SlackDirectory;
  notifier: Notifier & SummaryPoster;
  /** The bot's own workspace (auth.test team_id). */
  teamId: () => string | undefined;
  /** Names this replica in summary period claims. */
  replicaId: string;
}

export interface Services {
  admins: AdminPolicy;
  identity: IdentityResolver;
  grants: GrantExecutor;
  requests: RequestService;
  decisions: DecisionService;
  lifecycle: LifecycleService;
  sweeper: Sweeper;
  summaries: SummaryService;
  home: HomeService;
}

/** Wires the use cases over their ports: no SDK client, no Slack client, nothing started. */
export function wireServices(parts: ServiceParts): Services {
  const { config, log, clock, store, iam, directory, notifier } = parts;
  const usage = parts.usage ? { usage: parts.usage } : {};
  const admins = new AdminPolicy(config.adminUserIds, config.adminUsergroupId, directory);
  const identity = new IdentityResolver({
    directory,
    store,
    iam,
    mapping: config.iamUserMapping,
    allowedEmailDomains: config.allowedEmailDomains,
    teamId: parts.teamId,
  });
  const announcer = new Announcer(notifier, store, log);
  const membership = new GroupMembership(store);
  const grants = new GrantExecutor({
    store,
    iam,
    announcer,
    membership,
    clock,
    levels: config.levels,
    billingNamespaces: config.billingNamespaces,
    maxDurationDays: config.maxDurationDays,
    log,
  });
  const requests = new RequestService({ config, store, iam, identity, admins, announcer, grants, clock });
  const decisions = new DecisionService({ config, store, iam, identity, admins, announcer, grants, clock });
  const lifecycle = new LifecycleService({ adminChannelId: config.adminChannelId, store, iam, ...usage, admins, identity, announcer, membership, clock, log });
  const sweeper = new Sweeper({
    pendingTimeoutHours: config.pendingTimeoutHours,
    graceMs: Math.min(60_000, config.sweepIntervalSeconds * 1000),
    store,
    lifecycle,
    grants,
    announcer,
    clock,
    log,
  });
  const summaries = new SummaryService({
    config,
    store,
    iam,
    ...usage,
    admins,
    membership,
    identity,
    poster: notifier,
    clock,
    log,
    replicaId: parts.replicaId,
    schedule: summarySchedule(config),
  });
  const home = new HomeService({ config, store, admins, lifecycle, log });
  return { admins, identity, grants, requests, decisions, lifecycle, sweeper, summaries, home };
}

export async function buildDeps(options: {
  config: Config;
  log: Logger;
  aws: AwsOptions;
  slack: WebClient;
  /** The client for new messages: not sent again after a timeout (see SlackNotifier). Default: `slack`. */
  slackPosts?: WebClient;
  teamId: () => string | undefined;
  teamUrl?: () => string | undefined;
  clock?: Clock;
  /** The post-ack work queue's options (default WORK_QUEUE_OPTIONS). */
  workQueue?: WorkQueueOptions;
}): Promise<BuiltDeps> {
  const { config, log, slack } = options;
  const clock = options.clock ?? systemClock;
  const { client: dynamo, embedded } = await openDynamo(config, options.aws);
  try {
    if (embedded) {
      await ensureTable(dynamo, config.tableName);
    } else {
      const table = await describeTable(dynamo, config.tableName);
      if (!table.exists)
        throw new MissingTableError(`DynamoDB table "${config.tableName}" does not exist: run \`npm run setup\` with the same environment first.`);
    }
  } catch (err) {
    await embedded?.close();
    throw err;
  }
  const store = new DynamoRequestStore(new DocumentTable(dynamo), config.tableName, log);

  const iamClient = openIam(options.aws);
  const awsIam = iamGateway(config, iamClient);
  const iam: IamGateway = config.iamMode === 'live' ? awsIam : new DryRunIamGateway(awsIam, new Set(config.levels.map((l) => l.groupName)));

  const directory = new SlackWebDirectory(slack);
  const notifier = new SlackNotifier({
    client: slack,
    ...(options.slackPosts ? { postClient: options.slackPosts } : {}),
    adminChannelId: config.adminChannelId,
    dryRun: iam.dryRun,
    ...(options.teamUrl ? { teamUrl: options.teamUrl } : {}),
  });
  const replicaId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const { requests, decisions, lifecycle, sweeper, summaries, home } = wireServices({
    config,
    log,
    clock,
    store,
    iam,
    usage: accessAdvisor(config, iamClient),
    directory,
    notifier,
    teamId: options.teamId,
    replicaId,
  });
  const work = new WorkQueue(options.workQueue ?? WORK_QUEUE_OPTIONS, (label, err) =>
    log.error({ event: 'work.failed', label, error: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) }),
  );

  return {
    config,
    log,
    requests,
    decisions,
    lifecycle,
    sweeper,
    summaries,
    home,
    clock,
    notifier,
    slack,
    respond: respondViaUrl,
    work,
    dryRun: iam.dryRun,
    store,
    iam,
    dynamo,
    async close() {
      dynamo.destroy();
      await embedded?.close();
    },
  };
}
