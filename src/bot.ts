/**
 * Starts the whole bot for a Config: Bolt (HTTP or Socket Mode) and GET /healthz on the side
 * that answers Slack, and the post-ack work (store, services, sweeps, the summary) either in the
 * same thread (startBot: the integration tests, which drive the bot's clock and read its store)
 * or in a work thread of its own at a lower priority (startThreadedBot: `npm start`).
 *
 * With src/deps.ts, the composition root: this file builds the Slack WebClients, the Bolt app
 * and its receiver; deps.ts builds the store and the services, src/schedules.ts what fires.
 */
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CustomRoute, HTTPReceiver } from '@slack/bolt';
import type { HandlerDeps, JobQueue } from '../handlers/deps.js';
import { registerHandlers } from '../handlers/index.js';
import type { AwsOptions } from './aws-clients.js';
import { CommandRateLimit } from './command-rate.js';
import type { Config } from './config.js';
import { type BuiltDeps, buildDeps, WORK_QUEUE_OPTIONS } from './deps.js';
import { type HealthAnswer, healthOf } from './health.js';
import { guardRequests, HTTP_SERVER_OPTIONS, limitConnections, MAX_BODY_BYTES } from './http-limits.js';
import { boltLogger, type Logger } from './log.js';
import { inlineJobs } from './post-ack/inline.js';
import { WorkThread } from './post-ack/thread.js';
import { startSchedules } from './schedules.js';
import type { Clock, Notifier } from './services/ports.js';
import { slackClients } from './slack-clients.js';
import { SlackNotifier } from './slack-web/notifier.js';

export interface RunningBot {
  deps: BuiltDeps;
  /** The HTTP port actually bound (PORT=0 picks a free one). */
  port: number;
  teamId: string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  log: Logger;
  aws: AwsOptions;
  clock?: Clock;
  /** Test rigs turn off Slack Web API retries so a refused call fails at once. */
  slackRetries?: number;
  /** How long one Slack Web API attempt may take before it is abandoned (default 10 s). */
  slackTimeoutMs?: number;
  /** false: no periodic sweeps (tests drive `deps.sweeper.sweep()` with their own clock). */
  scheduleSweeps?: boolean;
}

/** GET /healthz, answered by whoever holds the store (undefined: still starting). */
function healthRoute(answer: () => Promise<HealthAnswer> | undefined): CustomRoute {
  return {
    path: '/healthz',
    method: ['GET'],
    handler: (_req, res) => {
      const respond = ({ status, body }: HealthAnswer) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const pending = answer();
      if (!pending) return respond({ status: 503, body: { ok: false, error: 'starting' } });
      void pending.then(respond);
    },
  };
}

/** Who the bot is in Slack (auth.test), asked once: Bolt is given the ids, so it never asks again per request. */
async function slackIdentity(config: Config, log: Logger, options: StartOptions) {
  const clients = slackClients(config, log, {
    ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
    ...(options.slackTimeoutMs !== undefined ? { timeoutMs: options.slackTimeoutMs } : {}),
  });
  const auth = await clients.slack.auth.test();
  return { ...clients, auth };
}

type SlackIdentity = Awaited<ReturnType<typeof slackIdentity>>;

/** The side that answers Slack: Bolt over HTTP or Socket Mode, the handlers, and /healthz. */
async function startAnswering(
  config: Config,
  log: Logger,
  slack: SlackIdentity,
  handlerDeps: HandlerDeps,
  health: () => Promise<HealthAnswer> | undefined,
): Promise<{ app: App; port: number }> {
  const logger = boltLogger(log);
  const customRoutes = [healthRoute(health)];
  const appOptions = {
    token: config.slack.botToken,
    clientOptions: slack.clientOptions,
    logger,
    tokenVerificationEnabled: false,
    // No conversation state is used; Bolt's default in-memory store would cost a lookup on every request.
    convoStore: false as const,
    ...(slack.auth.bot_id ? { botId: slack.auth.bot_id } : {}),
    ...(slack.auth.user_id ? { botUserId: slack.auth.user_id } : {}),
  };
  if (config.slack.mode === 'socket') {
    const app = new App({ ...appOptions, appToken: config.slack.appToken, socketMode: true, customRoutes, installerOptions: { port: config.http.port } });
    registerHandlers(app, handlerDeps);
    await app.start();
    return { app, port: config.http.port };
  }
  const signingSecret = config.slack.signingSecret as string;
  const receiver = new HTTPReceiver({
    signingSecret,
    endpoints: '/slack/events',
    customRoutes,
    logger,
    processBeforeResponse: false,
    bodyLimit: MAX_BODY_BYTES,
  });
  guardRequests(receiver, signingSecret);
  const app = new App({ ...appOptions, receiver });
  registerHandlers(app, handlerDeps);
  const server = limitConnections(await receiver.start({ port: config.http.port, host: config.http.host }, HTTP_SERVER_OPTIONS));
  return { app, port: (server.address() as AddressInfo).port };
}

function handlerDepsOf(config: Config, log: Logger, jobs: JobQueue, notifier: Notifier): HandlerDeps {
  return { config, log, dryRun: config.iamMode === 'dry-run', commandRate: new CommandRateLimit(config.commandRatePerMinute), jobs, notifier };
}

/** The bot in one thread: acks and post-ack work share it (the work queue's acks-first pause keeps acks ahead). */
export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config, log } = options;
  const slack = await slackIdentity(config, log, options);
  const teamId = slack.auth.team_id;
  const deps = await buildDeps({
    config,
    log,
    aws: options.aws,
    slack: slack.slack,
    slackPosts: slack.slackPosts,
    teamId: () => teamId,
    teamUrl: () => slack.auth.url,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let answering: Awaited<ReturnType<typeof startAnswering>>;
  try {
    const handlerDeps = handlerDepsOf(config, log, inlineJobs(deps), deps.notifier);
    answering = await startAnswering(config, log, slack, handlerDeps, () => healthOf(deps, config.sweepIntervalSeconds * 1000));
  } catch (err) {
    await deps.close();
    throw err;
  }
  const schedules = startSchedules(deps, config, log, options.scheduleSweeps !== false);
  return {
    deps,
    port: answering.port,
    teamId,
    async stop() {
      // Stop taking work first, then let a running sweep and the queued work finish.
      const sweeping = schedules.stop();
      await answering.app.stop().catch(() => undefined);
      await sweeping;
      await deps.work.onIdle();
      await deps.close();
    },
  };
}

/** How `npm start` runs the post-ack work: in a work thread (the benchmark also measures `thread: false`). */
export const POST_ACK_WORK = { thread: true };

/** What `npm start` needs of a running bot, however its post-ack work runs. */
export interface StartedBot {
  /** The HTTP port actually bound (PORT=0 picks a free one). */
  port: number;
  teamId: string | undefined;
  /** When the weekly summary fires next (null: never). */
  nextSummaryAt: Date | null;
  /** Post-ack jobs taken and not finished. */
  inFlight(): number;
  stop(): Promise<void>;
}

/** The work thread's entry: src/work-thread.ts under tsx, work-thread.js beside this module in the bundle. */
const WORK_THREAD_ENTRY = new URL(`./work-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * The bot as `npm start` runs it: this thread answers Slack (signature, ack, the rate limit, busy
 * refusals) and hands every post-ack job to the work thread, which holds the store and the
 * services and runs at a lower priority. `onDeath`: the work thread ended on its own.
 */
export async function startThreadedBot(options: StartOptions, onDeath: (reason: string) => void): Promise<StartedBot> {
  const { config, log } = options;
  const slack = await slackIdentity(config, log, options);
  const teamId = slack.auth.team_id;
  const { isAdminJob, concurrency, maxWaiting } = WORK_QUEUE_OPTIONS;
  const work = await WorkThread.start(
    WORK_THREAD_ENTRY,
    {
      config,
      aws: options.aws,
      teamId,
      teamUrl: slack.auth.url,
      // Acks no longer share the thread: the queue starts jobs at once (no acks-first pause).
      queue: { concurrency, maxWaiting: Number.MAX_SAFE_INTEGER, quietMs: 0, maxDeferMs: 0 },
      ...(options.slackRetries !== undefined ? { slackRetries: options.slackRetries } : {}),
      ...(options.slackTimeoutMs !== undefined ? { slackTimeoutMs: options.slackTimeoutMs } : {}),
      scheduleSweeps: options.scheduleSweeps !== false,
    },
    { isAdminJob: isAdminJob ?? (() => false), maxOutstanding: concurrency + maxWaiting },
    log,
    onDeath,
  );
  // Busy refusals are said from here: a notifier over this thread's own clients.
  const notifier = new SlackNotifier({
    client: slack.slack,
    postClient: slack.slackPosts,
    adminChannelId: config.adminChannelId,
    dryRun: config.iamMode === 'dry-run',
    teamUrl: () => slack.auth.url,
  });
  let answering: Awaited<ReturnType<typeof startAnswering>>;
  try {
    answering = await startAnswering(config, log, slack, handlerDepsOf(config, log, work, notifier), () => work.health());
  } catch (err) {
    await work.stop();
    throw err;
  }
  return {
    port: answering.port,
    teamId,
    nextSummaryAt: work.nextSummaryAt,
    inFlight: () => work.inFlight,
    async stop() {
      // Stop taking work first, then let the work thread finish what it holds.
      await answering.app.stop().catch(() => undefined);
      await work.stop();
    },
  };
}

/** A one-thread bot (startBot) as `npm start` sees it. */
export function startedInOneThread(bot: RunningBot): StartedBot {
  return {
    port: bot.port,
    teamId: bot.teamId,
    nextSummaryAt: bot.deps.summaries.nextFiring(new Date()),
    inFlight: () => bot.deps.work.running + bot.deps.work.waiting,
    stop: () => bot.stop(),
  };
}
