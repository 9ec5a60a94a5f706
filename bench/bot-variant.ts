/**
 * The bot exactly as `npm start` runs it (src/main.ts), with how it does its post-ack work
 * changed by BENCH_WORK_QUEUE: JSON over WORK_QUEUE_OPTIONS in src/post-ack/queue-options.ts, plus `thread`
 * (false: the post-ack work in the thread that answers Slack, with the work queue's acks-first
 * pause, as before the work thread). Only the benchmark runs this, to measure another setting
 * beside the shipped one under the same loads (extras.work_queue_variant in bench/results.json).
 */
import { POST_ACK_WORK } from '../src/bot.js';
import { WORK_QUEUE_OPTIONS } from '../src/post-ack/queue-options.js';

const { thread, ...queue } = JSON.parse(process.env.BENCH_WORK_QUEUE ?? '{}') as { thread?: boolean } & Record<string, unknown>;
if (thread === false) POST_ACK_WORK.thread = false;
Object.assign(WORK_QUEUE_OPTIONS, queue);
await import('../src/main.js');
