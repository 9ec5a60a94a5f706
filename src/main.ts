/**
 * `npm start`: reads .env and the environment once, asks STS who the bot is in AWS (live mode
 * refuses to start without an identity), starts the bot (this thread answers Slack, a work thread
 * does the post-ack work: src/bot.ts), says how it runs (a readable block on stderr and the JSON
 * `started` line), and stops it cleanly on SIGTERM/SIGINT (stop taking work, finish what is in
 * flight, close the store). If the work thread ends on its own, the process exits 1.
 */
import './sdk-node-warning.js';
import 'dotenv/config';
import type { StartOptions } from './answering.js';
import { type CallerIdentity, lookupCallerIdentity } from './aws/caller-identity.js';
import type { StartedBot } from './bot.js';
import { type Config, loadConfig } from './config.js';
import { ConfigError, MissingTableError } from './errors.js';
import { createLogger } from './log.js';
import { liveModeRefusal, renderStartupSummary, type StartupFacts, startupLogFields } from './startup-summary.js';
import { openSts } from './sts-client.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function loadOrExplain(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const noSlack = err.problems.some((p) => p.startsWith('SLACK_BOT_TOKEN: required'));
    const hint = noSlack
      ? '\nSet SLACK_BOT_TOKEN; SLACK_APP_TOKEN for Socket Mode (the manifest’s default) or SLACK_SIGNING_SECRET for HTTP mode; ADMIN_CHANNEL_ID and ADMIN_USER_IDS in .env: copy .env.example to .env and fill them in (README: "Connect a real workspace").\nTo try the bot without a Slack workspace or an AWS account: npm run playground'
      : '';
    return fail(`billing-access bot cannot start.\n${err.message}${hint}`);
  }
}

/**
 * Starts asking STS who the bot is in AWS. The client is the composition root's; the lookup is
 * bounded in time and never throws.
 */
function askCallerIdentity(config: Config): Promise<CallerIdentity> {
  const sts = openSts(config.aws);
  return lookupCallerIdentity(sts).finally(() => sts.destroy());
}

/** The one-thread bot (only the benchmark's comparison runs it from here): loaded only then, with the store and the AWS SDK. */
async function startInOneThread(options: StartOptions): Promise<StartedBot> {
  const { startBot, startedInOneThread } = await import('./bot-one-thread.js');
  return startedInOneThread(await startBot(options));
}

/** The work thread ended on its own: without it nothing is granted or ended, so the process stops (and is restarted). */
function workThreadEnded(reason: string): never {
  return fail(`billing-access bot stopped: ${reason}`);
}

async function main(): Promise<void> {
  const config = loadOrExplain();
  const log = createLogger(config.logLevel);
  const asked = askCallerIdentity(config);
  // The bot's modules load while STS answers.
  const { POST_ACK_WORK, startThreadedBot } = await import('./bot.js');
  const startedAt = performance.now();
  // Live mode changes IAM: without an identity AWS accepts it stops here, before Slack and the store.
  if (config.iamMode === 'live') {
    const identity = await asked;
    if (!identity.found) fail(liveModeRefusal(identity));
  }
  let bot: StartedBot;
  try {
    const options = { config, log, aws: config.aws };
    bot = POST_ACK_WORK.thread ? await startThreadedBot(options, workThreadEnded) : await startInOneThread(options);
  } catch (err) {
    if (err instanceof MissingTableError) fail(err.message);
    if ((err as { code?: string }).code === 'slack_webapi_request_error') {
      fail(`Could not reach Slack at ${config.slack.apiUrl} (${err instanceof Error ? err.message : 'request failed'}). Check the network and SLACK_API_URL.`);
    }
    const data = (err as { data?: { error?: string } }).data;
    if (data?.error) fail(`Slack refused the bot token (auth.test: ${data.error}). Check SLACK_BOT_TOKEN and SLACK_API_URL.`);
    throw err;
  }
  const facts: StartupFacts = {
    config,
    port: bot.port,
    identity: await asked,
    nodeVersion: process.version,
    nextSummaryAt: bot.nextSummaryAt,
  };
  // The readable block goes to stderr: stdout carries only JSON log lines.
  process.stderr.write(renderStartupSummary(facts));
  log.info({ event: 'started', ...startupLogFields(facts), startupMs: Math.round(performance.now() - startedAt) });
  if (config.iamMode === 'dry-run')
    log.warn({ event: 'mode', iamMode: 'dry-run' }, 'IAM_MODE=dry-run: IAM is read but never changed; every Slack message is marked [dry-run]');
  if (config.store === 'embedded')
    log.warn({ event: 'mode', store: 'embedded', dataDir: config.dataDir }, 'STORE=embedded: one process only; use STORE=dynamodb for replicas');
  // Out now, not with the next batch of lines: whatever watches the log for the start sees it at once.
  log.flush();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal, inFlight: bot.inFlight() });
    await bot.stop();
    log.info({ event: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  fail(`billing-access bot stopped: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
});
