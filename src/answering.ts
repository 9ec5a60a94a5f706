/**
 * The side of the bot that answers Slack, whoever does the post-ack work: the bot's identity in
 * Slack (auth.test, asked once), Bolt over HTTP or Socket Mode with the handlers, and
 * GET /healthz. It builds no store and no AWS client: in `npm start` this thread only verifies,
 * acks, rate-limits and hands jobs on (src/bot.ts), so it loads none of that code.
 */
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import type { HandlerDeps, JobQueue } from '../handlers/deps.js';
import { registerHandlers } from '../handlers/index.js';
import type { AwsOptions } from './aws-client-options.js';
import { CommandRateLimit } from './command-rate.js';
import type { Config } from './config.js';
import type { HealthAnswer } from './health.js';
import { closeHealthServer, type HealthResponder, startHealthServer } from './health-server.js';
import { guardedReceiver, HTTP_SERVER_OPTIONS, limitConnections } from './http-limits.js';
import { boltLogger, type Logger } from './log.js';
import type { Clock, Notifier } from './services/ports.js';
import { slackClients } from './slack-clients.js';

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
function healthResponder(answer: () => Promise<HealthAnswer> | undefined): HealthResponder {
  return (res) => {
    const respond = ({ status, body }: HealthAnswer) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const pending = answer();
    if (!pending) return respond({ status: 503, body: { ok: false, error: 'starting' } });
    void pending.then(respond);
  };
}

/** Who the bot is in Slack (auth.test), asked once: Bolt is given the ids, so it never asks again per request. */
export async function slackIdentity(config: Config, log: Logger, options: StartOptions) {
  const clients = slackClients(config, log, {
    ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
    ...(options.slackTimeoutMs !== undefined ? { timeoutMs: options.slackTimeoutMs } : {}),
  });
  const auth = await clients.slack.auth.test();
  return { ...clients, auth };
}

export type SlackIdentity = Awaited<ReturnType<typeof slackIdentity>>;

/** The side that answers Slack, started: the port actually bound, and how to stop it. */
export interface Answering {
  port: number;
  /** Stops taking Slack's requests (and /healthz); never throws. */
  stop(): Promise<void>;
}

/** The side that answers Slack: Bolt over HTTP or Socket Mode, the handlers, and /healthz on HOST and PORT. */
export async function startAnswering(
  config: Config,
  log: Logger,
  slack: SlackIdentity,
  handlerDeps: HandlerDeps,
  health: () => Promise<HealthAnswer> | undefined,
): Promise<Answering> {
  const logger = boltLogger(log);
  const respondHealth = healthResponder(health);
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
    // No custom routes for Bolt: its server for them would listen on every address, whatever HOST says.
    const app = new App({ ...appOptions, appToken: config.slack.appToken, socketMode: true });
    registerHandlers(app, handlerDeps);
    const server = await startHealthServer(respondHealth, { port: config.http.port, host: config.http.host });
    try {
      await app.start();
    } catch (err) {
      await closeHealthServer(server);
      throw err;
    }
    return {
      port: (server.address() as AddressInfo).port,
      async stop() {
        await app.stop().catch(() => undefined);
        await closeHealthServer(server);
      },
    };
  }
  const signingSecret = config.slack.signingSecret as string;
  const receiver = guardedReceiver({
    signingSecret,
    endpoints: '/slack/events',
    customRoutes: [{ path: '/healthz', method: ['GET'], handler: (_req, res) => respondHealth(res) }],
    logger,
    processBeforeResponse: false,
  });
  const app = new App({ ...appOptions, receiver });
  registerHandlers(app, handlerDeps);
  const server = limitConnections(await receiver.start({ port: config.http.port, host: config.http.host }, HTTP_SERVER_OPTIONS));
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      await app.stop().catch(() => undefined);
    },
  };
}

export function handlerDepsOf(config: Config, log: Logger, jobs: JobQueue, notifier: Notifier): HandlerDeps {
  return { config, log, dryRun: config.iamMode === 'dry-run', commandRate: new CommandRateLimit(config.commandRatePerMinute), jobs, notifier };
}
