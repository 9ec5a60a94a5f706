import { Cron } from 'croner';
import type { Config } from './config.js';
import type { BuiltDeps } from './deps.js';
import type { Logger } from './log.js';
import { SweepScheduler } from './services/sweeper.js';

/**
 * What fires on its own: the sweeps (expiries, reminders, due notices, and the summary's
 * catch-up) every SWEEP_INTERVAL_SECONDS, and the summary's own schedule in SUMMARY_TIMEZONE
 * (every replica fires and one claim wins). `enabled: false` starts neither (tests drive them).
 */
export function startSchedules(deps: BuiltDeps, config: Config, log: Logger, enabled: boolean): { stop(): Promise<void> } {
  const scheduler = new SweepScheduler(
    [
      { name: 'sweep', run: () => deps.sweeper.sweep() },
      // Also catches a period a crashed replica claimed but never posted, and firings missed while down.
      { name: 'summary', run: () => deps.summaries.runDue() },
    ],
    config.sweepIntervalSeconds * 1000,
    log,
  );
  const summaryJob = enabled
    ? new Cron(config.summaryCron, { timezone: config.summaryTimezone, protect: true }, () => {
        void deps.summaries.runDue().catch((err: unknown) => log.error({ event: 'summary.failed', error: err instanceof Error ? err.name : 'Error' }));
      })
    : undefined;
  if (enabled) scheduler.start();
  return {
    /** Stops both; resolves once a running sweep has finished. */
    stop: () => {
      summaryJob?.stop();
      return scheduler.stop();
    },
  };
}
