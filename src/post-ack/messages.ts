import type { PostAckJob } from '../../handlers/jobs.js';
import type { AwsOptions } from '../aws-client-options.js';
import type { Config } from '../config.js';
import type { HealthAnswer } from '../health.js';
import type { WorkQueueOptions } from '../work-queue.js';

/** What the work thread is started with (structured-cloned: plain data only). */
export interface WorkThreadData {
  config: Config;
  aws: AwsOptions;
  teamId: string | undefined;
  teamUrl: string | undefined;
  queue: Omit<WorkQueueOptions, 'isAdminJob'>;
  slackRetries?: number;
  slackTimeoutMs?: number;
  scheduleSweeps: boolean;
}

/** From the thread that answers Slack to the work thread. */
export type ToWorkThread = { type: 'job'; job: PostAckJob } | { type: 'health'; id: number } | { type: 'stop' };

/** From the work thread back. */
export type FromWorkThread =
  | { type: 'ready'; nextSummaryAt: string | null }
  | { type: 'failed'; name: string; message: string }
  | { type: 'done'; label: string }
  | { type: 'health'; id: number; answer: HealthAnswer }
  | { type: 'stopped' };
