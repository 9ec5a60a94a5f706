/**
 * The bot exactly as `npm start` runs it (src/main.ts), except that its work queue starts
 * post-ack work at once: the acks-first pause (WORK_QUEUE_OPTIONS.quietMs and maxDeferMs in
 * src/deps.ts) is off. Only the benchmark runs this, to measure what the pause gains the acks and
 * costs the post-ack work (extras.acks_first in bench/results.json); nothing else reads it.
 */
import { WORK_QUEUE_OPTIONS } from '../src/deps.js';

WORK_QUEUE_OPTIONS.quietMs = 0;
WORK_QUEUE_OPTIONS.maxDeferMs = 0;
await import('../src/main.js');
