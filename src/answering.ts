/**
 * The side of the bot that answers Slack, whoever does the post-ack work: the bot's identity in
 * Slack (auth.test, asked once), Bolt over HTTP or Socket Mode with the handlers, and
 * GET /healthz. It builds no store and no AWS client: in `npm start` this thread only verifies,
 * acks, rate-limits and hands jobs on (src/bot.ts), so it loads none of that code.
 */
import type { AddressInfo } from 'node:net';
import { App, type CustomRoute, HTTPReceiver } from '@slack/bolt';
import type { HandlerDeps, JobQueue } from '../handlers/deps.js';
import { registerHandlers } from '../handlers/index.js';
import type { AwsOptions } from './aws-client-options.js';
import { CommandRateLimit } from './command-rate.js';
import type { Config } from './config.js';
import type { HealthAnswer } from './health.js';
import { guardRequests, HTTP_SERVER_OPTIONS, limitConnections, MAX_BODY_BYTES } from './http-limits.js';
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
export async function slackIdentity(config: Config, log: Logger, options: StartOptions) {
  const clients = slackClients(config, log, {
    ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
    ...(options.slackTimeoutMs !== undefined ? { timeoutMs: options.slackTimeoutMs } : {}),
  });
  const auth = await clients.slack.auth.test();
  return { ...clients, auth };
}

export type SlackIdentity = Awaited<ReturnType<typeof slackIdentity>>;

/** The side that answers Slack: Bolt over HTTP or Socket Mode, the handlers, and /healthz. */
export async function startAnswering(
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

export function handlerDepsOf(config: Config, log: Logger, jobs: JobQueue, notifier: Notifier): HandlerDeps {
  return { config, log, dryRun: config.iamMode === 'dry-run', commandRate: new CommandRateLimit(config.commandRatePerMinute), jobs, notifier };
}
