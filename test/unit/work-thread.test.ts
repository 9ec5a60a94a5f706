import { describe, expect, it } from 'vitest';
import type { PostAckJob } from '../../handlers/jobs.js';
import { MissingTableError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { WorkThreadData } from '../../src/post-ack/messages.js';
import { WorkThread, type WorkThreadLimits } from '../../src/post-ack/thread.js';

const ENTRY = new URL('../support/fake-work-thread.mjs', import.meta.url);
const LIMITS: WorkThreadLimits = { isAdminJob: (label) => label.startsWith('action.'), maxOutstanding: 2 };
const log = createLogger('silent');
const data = (mode: string) => ({ mode }) as unknown as WorkThreadData;

const command = (n: number): PostAckJob => ({
  kind: 'command',
  command: { kind: 'status' },
  caller: { userId: `U${n}`, teamId: 'T1', channelId: 'C1' },
  responseUrl: 'http://127.0.0.1:9/r',
});
const approve: PostAckJob = {
  kind: 'decision',
  action: 'approve',
  click: { userId: 'UADMIN', channelId: 'CADMIN', requestId: 'R1', from: 'channel' },
  responseUrl: undefined,
};
/** Tells the stand-in to finish every job it holds (an admin job: the command lane is full by then). */
const finish: PostAckJob = { ...approve, action: 'retry', click: { ...approve.click, requestId: 'FINISH' } } as PostAckJob;

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe('the work thread, as the thread that answers Slack sees it', () => {
  it('takes jobs up to the limit per lane, refuses past it at once, and takes more once jobs are done', async () => {
    const work = await WorkThread.start(ENTRY, data('ready'), LIMITS, log, () => undefined);
    try {
      expect(work.nextSummaryAt?.toISOString()).toBe('2026-12-07T09:00:00.000Z');
      expect(work.submit(command(1))).toBe(true);
      expect(work.submit(command(2))).toBe(true);
      expect(work.submit(command(3))).toBe(false);
      // Admin decisions have a lane of their own: a command flood never refuses them.
      expect(work.submit(approve)).toBe(true);
      expect(work.inFlight).toBe(3);
      expect((await work.health()).body).toMatchObject({ ok: true, held: 3 });
      expect(work.submit(finish)).toBe(true);
      await until(() => work.inFlight === 0);
      expect(work.submit(command(4))).toBe(true);
    } finally {
      await work.stop();
    }
    // After stop, nothing is taken.
    expect(work.submit(command(5))).toBe(false);
  });

  it('a work thread that cannot start rejects with what failed (a missing table stays a MissingTableError)', async () => {
    const started = WorkThread.start(ENTRY, data('missing-table'), LIMITS, log, () => undefined);
    await expect(started).rejects.toBeInstanceOf(MissingTableError);
    await expect(started).rejects.toThrow('does not exist');
  });

  it('a work thread that ends on its own is reported, so the process can stop rather than take work it cannot do', async () => {
    let death: string | undefined;
    const work = await WorkThread.start(ENTRY, data('die'), LIMITS, log, (reason) => {
      death = reason;
    });
    work.submit(command(1));
    await until(() => death !== undefined);
    expect(death).toContain('exit code 3');
  });
});
