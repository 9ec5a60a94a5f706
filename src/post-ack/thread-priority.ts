import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The nice value of the bot's work thread: below the thread that answers Slack, which is enough
 * for an ack to go first (measured at 5 and 10 alike), and mild enough that on a host shared
 * without CPU limits the work is not starved by every busy neighbour.
 */
export const WORK_THREAD_NICE = 5;

/**
 * Lowers the calling thread's scheduling priority (Linux: setpriority on the thread's own id,
 * read from /proc/thread-self). When the machine is busy, the thread that answers Slack then
 * runs as soon as a request comes in instead of waiting out the work thread's time slice.
 * Returns false where threads cannot be told apart this way (other systems): nothing changes.
 */
export function lowerThisThreadPriority(nice: number = WORK_THREAD_NICE): boolean {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(threadId) || threadId <= 0) return false;
    setPriority(threadId, nice);
    return true;
  } catch {
    return false;
  }
}
