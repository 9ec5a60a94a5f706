/**
 * The post-ack work queue: bounded, and acks first (jobs wait for a pause in incoming work, but
 * never longer than maxDeferMs). Fake timers: nothing here waits on real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/work-queue.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A queue whose jobs record when they started (ms of fake time) and finish at once. */
function recordingQueue(options: ConstructorParameters<typeof WorkQueue>[0]) {
  const started: { label: string; at: number }[] = [];
  const errors: string[] = [];
  const queue = new WorkQueue(
    options,
    (label) => errors.push(label),
    () => Date.now(),
  );
  const t0 = Date.now();
  const submit = (label: string) =>
    queue.tryRun(label, async () => {
      started.push({ label, at: Date.now() - t0 });
    });
  return { queue, started, errors, submit, t0 };
}

describe('WorkQueue', () => {
  it('with no quiet period, starts a job at once', async () => {
    const { started, submit } = recordingQueue({ concurrency: 2, maxWaiting: 10 });
    expect(submit('a')).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual([{ label: 'a', at: 0 }]);
  });

  it('holds the jobs of a burst until no job has come in for quietMs', async () => {
    const { started, submit } = recordingQueue({ concurrency: 4, maxWaiting: 100, quietMs: 5, maxDeferMs: 250 });
    for (let i = 0; i < 10; i += 1) {
      submit(`job-${i}`);
      await vi.advanceTimersByTimeAsync(2);
    }
    // The last came in at 18 ms; nothing started while they kept coming.
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(5);
    expect(started.map((s) => s.label)).toEqual(Array.from({ length: 10 }, (_, i) => `job-${i}`));
    expect(Math.min(...started.map((s) => s.at))).toBeGreaterThanOrEqual(23);
  });

  it('under traffic that never pauses, starts jobs after maxDeferMs and then lets them run freely for as long', async () => {
    const { started, submit } = recordingQueue({ concurrency: 4, maxWaiting: 1000, quietMs: 5, maxDeferMs: 50 });
    for (let t = 0; t < 200; t += 1) {
      submit(`job-${t}`);
      await vi.advanceTimersByTimeAsync(1);
    }
    const first = started[0];
    expect(first?.at).toBeGreaterThanOrEqual(50);
    expect(first?.at).toBeLessThan(60);
    // In the free window that follows, a job that comes in starts at once.
    const inWindow = started.filter((s) => s.at >= 70 && s.at < 100);
    expect(inWindow.length).toBeGreaterThan(20);
    for (const s of inWindow) expect(s.at - Number(s.label.slice(4))).toBeLessThanOrEqual(1);
    // Every job submitted started by the end of the next window.
    await vi.advanceTimersByTimeAsync(60);
    expect(started).toHaveLength(200);
  });

  it('refuses a job when maxWaiting are already waiting', () => {
    const { submit, queue } = recordingQueue({ concurrency: 1, maxWaiting: 3, quietMs: 5, maxDeferMs: 250 });
    expect([submit('a'), submit('b'), submit('c')]).toEqual([true, true, true]);
    expect(queue.waiting).toBe(3);
    expect(submit('d')).toBe(false);
    expect(queue.waiting).toBe(3);
  });

  it('onIdle starts deferred jobs at once and resolves when they are done', async () => {
    const { queue, started, submit } = recordingQueue({ concurrency: 2, maxWaiting: 10, quietMs: 1000, maxDeferMs: 5000 });
    submit('a');
    submit('b');
    const idle = queue.onIdle();
    await vi.advanceTimersByTimeAsync(0);
    await idle;
    expect(started.map((s) => s.label)).toEqual(['a', 'b']);
    expect(queue.running + queue.waiting).toBe(0);
  });

  it('reports a failing job to onError and goes on with the next', async () => {
    const { queue, errors, started, submit } = recordingQueue({ concurrency: 1, maxWaiting: 10 });
    queue.tryRun('boom', async () => {
      throw new Error('no');
    });
    submit('after');
    await queue.onIdle();
    expect(errors).toEqual(['boom']);
    expect(started.map((s) => s.label)).toEqual(['after']);
  });
});
