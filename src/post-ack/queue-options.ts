import type { WorkQueueOptions } from '../work-queue.js';

/**
 * The post-ack work queue: 16 jobs at a time, 1,000 waiting per lane (past that the busy
 * message). Admin decisions (buttons and the deny modal) have a lane of their own. Acks first,
 * when acks and work share a thread (src/bot-one-thread.ts): during a burst of clicks, post-ack work starts
 * 5 ms after the last one (at most 250 ms later). The work thread of `npm start` starts jobs at
 * once and leaves the counting to the thread that answers Slack (src/post-ack/thread.ts).
 */
export const WORK_QUEUE_OPTIONS: WorkQueueOptions = {
  concurrency: 16,
  maxWaiting: 1000,
  quietMs: 5,
  maxDeferMs: 250,
  isAdminJob: (label) => label.startsWith('action.') || label === 'view.deny',
};
