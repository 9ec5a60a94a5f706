/**
 * The bot's work thread (started by src/bot.ts under `npm start`; see src/post-ack/thread.ts):
 * builds the store and the services, runs the post-ack jobs the thread that answers Slack hands
 * it on the bounded work queue, fires the sweeps and the summary, and answers /healthz. It runs
 * at a lower priority than the thread that answers Slack.
 */
import './sdk-node-warning.js';
import { parentPort, workerData } from 'node:worker_threads';
import { jobLabel, runJob } from '../handlers/jobs.js';
import { type BuiltDeps, buildDeps } from './deps.js';
import { healthOf } from './health.js';
import { createLogger, flushLog } from './log.js';
import type { FromWorkThread, ToWorkThread, WorkThreadData } from './post-ack/messages.js';
import { WORK_QUEUE_OPTIONS } from './post-ack/queue-options.js';
import { lowerThisThreadPriority } from './post-ack/thread-priority.js';
import { startSchedules } from './schedules.js';
import { slackClients } from './slack-clients.js';

const port = parentPort;
if (!port) throw new Error('src/work-thread.ts runs as a worker thread only');
const data = workerData as WorkThreadData;
const { config } = data;
const log = createLogger(config.logLevel);
const tell = (message: FromWorkThread) => port.postMessage(message);

function take(deps: BuiltDeps, message: ToWorkThread, stop: () => Promise<void>): void {
  switch (message.type) {
    case 'job': {
      const label = jobLabel(message.job);
      const job = message.job;
      const taken = deps.work.tryRun(label, async () => {
        try {
          await runJob(deps, job);
        } finally {
          tell({ type: 'done', label });
        }
      });
      // The other side counts and refuses first, so this queue always has room; never drop a job silently.
      if (!taken) {
        log.error({ event: 'work.refused', label });
        tell({ type: 'done', label });
      }
      return;
    }
    case 'health':
      void healthOf(deps, config.sweepIntervalSeconds * 1000).then((answer) => tell({ type: 'health', id: message.id, answer }));
      return;
    case 'stop':
      void stop().then(() => tell({ type: 'stopped' }));
      return;
  }
}

try {
  lowerThisThreadPriority();
  const { slack, slackPosts } = slackClients(config, log, {
    ...(data.slackRetries !== undefined ? { retries: data.slackRetries } : {}),
    ...(data.slackTimeoutMs !== undefined ? { timeoutMs: data.slackTimeoutMs } : {}),
  });
  const deps = await buildDeps({
    config,
    log,
    aws: data.aws,
    slack,
    slackPosts,
    teamId: () => data.teamId,
    teamUrl: () => data.teamUrl,
    workQueue: { ...WORK_QUEUE_OPTIONS, ...data.queue },
  });
  const schedules = startSchedules(deps, config, log, data.scheduleSweeps);
  const stop = async () => {
    // Stop taking work first, then let a running sweep and the queued work finish.
    await schedules.stop();
    await deps.work.onIdle();
    await deps.close();
    // Lines wait to be written in batches; the thread ends once it has said it stopped.
    flushLog(log);
  };
  port.on('message', (message: ToWorkThread) => take(deps, message, stop));
  tell({ type: 'ready', nextSummaryAt: deps.summaries.nextFiring(new Date())?.toISOString() ?? null });
} catch (err) {
  flushLog(log);
  tell({ type: 'failed', name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) });
}
