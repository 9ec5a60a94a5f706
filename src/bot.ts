/**
 * The bot as `npm start` runs it: this thread answers Slack (src/answering.ts) and a work thread
 * (src/work-thread.ts) holds the store, the services, the sweeps and the summary, at a lower
 * priority. The one-thread bot the integration tests drive is src/bot-one-thread.ts; this module
 * does not load it, nor the store and the AWS SDK: those are the work thread's.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Answering, handlerDepsOf, type StartOptions, slackIdentity, startAnswering } from './answering.js';
import { WORK_QUEUE_OPTIONS } from './post-ack/queue-options.js';
import { WorkThread } from './post-ack/thread.js';
import { SlackNotifier } from './slack-web/notifier.js';

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
  let answering: Answering;
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
      await answering.stop();
      await work.stop();
    },
  };
}
