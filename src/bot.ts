/**
 * Starts the whole bot for a Config: store, services, Bolt (HTTP or Socket Mode), and
 * GET /healthz. Used by main.ts and by the integration tests, so both run the same code.
 *
 * With src/deps.ts, the composition root: this file builds the Slack WebClient, the Bolt app
 * and its receiver, and the schedulers that fire (sweeps and the summary's Cron); deps.ts
 * builds the AWS clients, the store and the services.
 */
import type { AddressInfo } from 'node:net';
import { App, type CustomRoute, HTTPReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Cron } from 'croner';
import { registerHandlers } from '../handlers/index.js';
import type { AwsOptions } from './aws-clients.js';
import type { Config } from './config.js';
import { type BuiltDeps, buildDeps } from './deps.js';
import { guardRequests, HTTP_SERVER_OPTIONS, limitConnections, MAX_BODY_BYTES } from './http-limits.js';
import { boltLogger, type Logger } from './log.js';
import type { Clock } from './services/ports.js';
import { SweepScheduler } from './services/sweeper.js';

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

/**
 * 200 with the last sweep's time while the store answers; 503 when it does not, or when a
 * grant is overdue by more than two sweep intervals (a stopped sweeper must be noticed).
 */
function healthRoute(getDeps: () => BuiltDeps | undefined, sweepIntervalMs: number): CustomRoute {
  return {
    path: '/healthz',
    method: ['GET'],
    handler: (_req, res) => {
      const deps = getDeps();
      const respond = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!deps) return respond(503, { ok: false, error: 'starting' });
      const overdueBefore = new Date(deps.clock.now().getTime() - 2 * sweepIntervalMs).toISOString();
      const lastSweep = deps.sweeper.lastSweep?.at ?? null;
      deps.store
        .listExpiring('ACTIVE', overdueBefore, 1)
        .then((overdue) => {
          if (overdue.length > 0) respond(503, { ok: false, error: 'grant overdue for expiry: is the sweeper running?', requestId: overdue[0]?.id, lastSweep });
          else respond(200, { ok: true, lastSweep });
        })
        .catch((err: unknown) => respond(503, { ok: false, error: `store unreachable: ${err instanceof Error ? err.name : 'error'}`, lastSweep }));
    },
  };
}

/** p-retry's hook: a call whose attempt timed out is not tried again (thrown here, it ends the retries). */
function notAfterTimeout(error: Error & { original?: unknown }): void {
  if (error.original instanceof Error && error.original.name === 'TimeoutError') throw error;
}

export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config, log } = options;
  const logger = boltLogger(log);
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    // A few retries with backoff, not the client's default of ten over half an hour: an unreachable
    // Slack must not hang start-up or hold post-ack work without bound. A 429 is retried on the same
    // budget, each after waiting its Retry-After (rejectRateLimitedCalls stays false).
    retryConfig: { retries: options.slackRetries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    // The client's default is no timeout at all: a Slack that accepts the connection and never
    // answers would hold the call, and its queue slot, for ever. Ten seconds per attempt (as doctor
    // uses) is far above a healthy Slack's answer; a timed-out attempt is retried like a 5xx.
    timeout: options.slackTimeoutMs ?? 10_000,
  };
  // The services' client logs warnings and errors only: its debug lines dump request bodies.
  const serviceLogging = { logger: boltLogger(log, LogLevel.WARN), logLevel: LogLevel.WARN };
  const slack = new WebClient(config.slack.botToken, { ...clientOptions, ...serviceLogging });
  // Posts are not idempotent: one whose answer timed out may have landed, and is not sent again
  // (the client hands its retry options to p-retry, whose onFailedAttempt hook ends the retries).
  const postRetries = { ...clientOptions.retryConfig, onFailedAttempt: notAfterTimeout };
  const slackPosts = new WebClient(config.slack.botToken, { ...clientOptions, ...serviceLogging, retryConfig: postRetries });
  const auth = await slack.auth.test();
  const teamId = auth.team_id;
  // Given the bot's ids, Bolt does not call auth.test again on every incoming request.
  const identity = { ...(auth.bot_id ? { botId: auth.bot_id } : {}), ...(auth.user_id ? { botUserId: auth.user_id } : {}) };

  let deps: BuiltDeps | undefined;
  const customRoutes = [healthRoute(() => deps, config.sweepIntervalSeconds * 1000)];
  deps = await buildDeps({
    config,
    log,
    aws: options.aws,
    slack,
    slackPosts,
    teamId: () => teamId,
    teamUrl: () => auth.url,
    ...(options.clock ? { clock: options.clock } : {}),
  });

  const appOptions = {
    token: config.slack.botToken,
    clientOptions,
    logger,
    tokenVerificationEnabled: false,
    // No conversation state is used; Bolt's default in-memory store would cost a lookup on every request.
    convoStore: false as const,
    ...identity,
  };
  let app: App;
  let receiver: HTTPReceiver | undefined;
  if (config.slack.mode === 'socket') {
    app = new App({ ...appOptions, appToken: config.slack.appToken, socketMode: true, customRoutes, installerOptions: { port: config.http.port } });
  } else {
    const signingSecret = config.slack.signingSecret as string;
    receiver = new HTTPReceiver({
      signingSecret,
      endpoints: '/slack/events',
      customRoutes,
      logger,
      processBeforeResponse: false,
      bodyLimit: MAX_BODY_BYTES,
    });
    guardRequests(receiver, signingSecret);
    app = new App({ ...appOptions, receiver });
  }
  registerHandlers(app, deps);

  let port = config.http.port;
  try {
    if (receiver) {
      const server = limitConnections(await receiver.start({ port: config.http.port, host: config.http.host }, HTTP_SERVER_OPTIONS));
      port = (server.address() as AddressInfo).port;
    } else {
      await app.start();
    }
  } catch (err) {
    await deps.close();
    throw err;
  }
  const built = deps;
  const scheduler = new SweepScheduler(
    [
      { name: 'sweep', run: () => built.sweeper.sweep() },
      // Also catches a period a crashed replica claimed but never posted, and firings missed while down.
      { name: 'summary', run: () => built.summaries.runDue() },
    ],
    config.sweepIntervalSeconds * 1000,
    log,
  );
  // The summary's own schedule, in SUMMARY_TIMEZONE; every replica fires and one claim wins.
  const summaryJob =
    options.scheduleSweeps === false
      ? undefined
      : new Cron(config.summaryCron, { timezone: config.summaryTimezone, protect: true }, () => {
          void built.summaries.runDue().catch((err: unknown) => log.error({ event: 'summary.failed', error: err instanceof Error ? err.name : 'Error' }));
        });
  if (options.scheduleSweeps !== false) scheduler.start();
  return {
    deps: built,
    port,
    teamId,
    async stop() {
      // Stop taking work first, then let a running sweep and the queued work finish.
      summaryJob?.stop();
      const sweeping = scheduler.stop();
      await app.stop().catch(() => undefined);
      await sweeping;
      await built.work.onIdle();
      await built.close();
    },
  };
}
