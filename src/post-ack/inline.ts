import type { JobQueue } from '../../handlers/deps.js';
import { jobLabel, runJob } from '../../handlers/jobs.js';
import type { BuiltDeps } from '../deps.js';

/**
 * Post-ack work in the thread that answers Slack: each job goes on the bot's work queue. The
 * integration tests run the bot so (their clock and store are the bot's own); `npm start` runs
 * the jobs in a work thread of their own (thread.ts).
 */
export function inlineJobs(deps: BuiltDeps): JobQueue {
  // deps.work is read at each job: a test may swap the queue for a smaller one.
  return { submit: (job) => deps.work.tryRun(jobLabel(job), () => runJob(deps, job)) };
}
