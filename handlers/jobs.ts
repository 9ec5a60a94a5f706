/**
 * The post-ack work, as plain data: each handler acks, then hands one of these on (JobQueue);
 * runJob does it. Being plain data (structured-clonable, no Bolt objects), a job runs in the
 * thread that answers Slack or in the bot's work thread alike (src/post-ack/).
 */
import { type DecisionJob, type DenyClickJob, runDecisionJob, runDenyClickJob } from './actions/decision-buttons.js';
import { type HomeDoneJob, runHomeDoneJob } from './actions/home-buttons.js';
import { type KeepJob, runKeepJob } from './actions/keep-button.js';
import { type CommandJob, runCommandJob } from './commands/request-billing.js';
import type { JobDeps } from './deps.js';
import { type HomeOpenedJob, runHomeOpenedJob } from './events/app-home.js';
import { type DenyFormJob, runDenyFormJob } from './views/deny-modal.js';
import { type RequestFormJob, runRequestFormJob } from './views/request-modal.js';

export type PostAckJob = CommandJob | DecisionJob | DenyClickJob | KeepJob | HomeDoneJob | HomeOpenedJob | RequestFormJob | DenyFormJob;

/** The job's name in logs and in the work queue (whose lanes go by it: see WORK_QUEUE_OPTIONS). */
export function jobLabel(job: PostAckJob): string {
  switch (job.kind) {
    case 'command':
      return `command.${job.command.kind}`;
    case 'decision':
      return `action.${job.action}`;
    case 'deny-click':
      return 'action.deny';
    case 'keep':
      return 'action.keep';
    case 'home-done':
      return 'home.done';
    case 'home-opened':
      return 'event.app_home_opened';
    case 'request-form':
      return 'view.request';
    case 'deny-form':
      return 'view.deny';
  }
}

export function runJob(deps: JobDeps, job: PostAckJob): Promise<void> {
  switch (job.kind) {
    case 'command':
      return runCommandJob(deps, job);
    case 'decision':
      return runDecisionJob(deps, job);
    case 'deny-click':
      return runDenyClickJob(deps, job);
    case 'keep':
      return runKeepJob(deps, job);
    case 'home-done':
      return runHomeDoneJob(deps, job);
    case 'home-opened':
      return runHomeOpenedJob(deps, job);
    case 'request-form':
      return runRequestFormJob(deps, job);
    case 'deny-form':
      return runDenyFormJob(deps, job);
  }
}
