/**
 * The post-ack work queue: bounded, jobs started as soon as a slot is free. Fake timers: nothing
 * here waits on real time.
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
  const queue = new WorkQueue(options, (label) => errors.push(label));
  const t0 = Date.now();
  const submit = (label: string) =>
    queue.tryRun(label, async () => {
      started.push({ label, at: Date.now() - t0 });
    });
  return { queue, started, errors, submit, t0 };
}

describe('WorkQueue', () => {
  it('starts a job at once', async () => {
    const { started, submit } = recordingQueue({ concurrency: 2, maxWaiting: 10 });
    expect(submit('a')).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual([{ label: 'a', at: 0 }]);
  });

  it('refuses a job when maxWaiting are already waiting', async () => {
    const { submit, queue } = recordingQueue({ concurrency: 1, maxWaiting: 3 });
    let release: () => void = () => undefined;
    queue.tryRun(
      'running',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.running).toBe(1);
    expect([submit('a'), submit('b'), submit('c')]).toEqual([true, true, true]);
    expect(queue.waiting).toBe(3);
    expect(submit('d')).toBe(false);
    expect(queue.waiting).toBe(3);
    release();
    await queue.onIdle();
  });

  it('onIdle resolves when every job is done', async () => {
    const { queue, started, submit } = recordingQueue({ concurrency: 2, maxWaiting: 10 });
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
