/**
 * What every phase is given: the run's settings, the shared rig (fake Slack, emulators, proxies)
 * and what follows the bot's Slack traffic, the people and request bodies the loads use, the
 * meter and clock that record each phase, and the background seeding a phase pauses before it
 * measures anything. Built once by setup.ts; phases read it and return their own results.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import type { BurstRequest } from '../bodies.js';
import type { BotBundle } from '../bundled.js';
import type { Employee } from '../fixtures.js';
import type { Log, Meter, PhaseClock } from '../measure.js';
import type { Rig, Stoppers } from '../rig.js';
import type { Settings } from '../settings.js';
import type { SlackTracker } from '../slack-tracker.js';

/** Work that may run only while nothing is timed: paused before each measurement, resumed while the run just waits. */
export interface IdleWork {
  pause(): Promise<void>;
  resume(): void;
}

export const NO_IDLE_WORK: IdleWork = { pause: async () => undefined, resume: () => undefined };

export interface PhaseContext {
  settings: Settings;
  rig: Rig;
  stoppers: Stoppers;
  /** The run's temp folder: process logs, load specs, bundles. */
  logDir: string;
  log: Log;
  meter: Meter;
  clock: PhaseClock;
  tracker: SlackTracker;
  /**
   * burst: the request and approve bursts; lifecycle: lifecycles end to end; steps: the
   * lifecycle's per-step breakdown; warmup: the lifecycles run before any is counted; load: the sustained and saturation phases (both levels each,
   * the same people on each bot they load, their memberships taken out in between).
   */
  people: { burst: Employee[]; lifecycle: Employee[]; steps: Employee[]; warmup: Employee[]; load: Employee[] };
  /** The real requests the baseline and the bot's bursts send, in this order. */
  burstRequests: BurstRequest[];
  /** Where outcomes live, read directly (not through the bot): IAM on moto, and the bot's table. */
  observers: { iam: IAMClient; requests: DynamoRequestStore };
  /** The period tables' seeding (none when the period phase does not run). */
  seeding: IdleWork;
  cpuProfiles: { bot?: string; bare?: string };
  /** What the bot processes run: the bundle built for this run, or nothing (from source: BENCH_FROM_SOURCE=1). */
  bundle: BotBundle | undefined;
}
