/**
 * The bot exactly as `npm start` runs it (src/main.ts), with its post-ack work queue's options
 * changed by BENCH_WORK_QUEUE (JSON over WORK_QUEUE_OPTIONS in src/deps.ts, e.g.
 * {"quietMs":0,"maxDeferMs":0}, the acks-first pause off). Only the benchmark runs this, to measure another setting of the queue beside
 * the shipped one under the same loads (extras.work_queue_variant in bench/results.json).
 */
import { WORK_QUEUE_OPTIONS } from '../src/deps.js';

Object.assign(WORK_QUEUE_OPTIONS, JSON.parse(process.env.BENCH_WORK_QUEUE ?? '{}'));
await import('../src/main.js');
