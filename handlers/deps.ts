import type { CommandRateLimit } from '../src/command-rate.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/log.js';
import type { DecisionService } from '../src/services/decision-service.js';
import type { HomeService } from '../src/services/home-service.js';
import type { LifecycleService } from '../src/services/lifecycle.js';
import type { Notifier } from '../src/services/ports.js';
import type { RequestService } from '../src/services/request-service.js';
import type { SummaryService } from '../src/services/summary-service.js';
import type { WorkQueue } from '../src/work-queue.js';

/** What the Slack handlers need; built in src/deps.ts. */
export interface HandlerDeps {
  config: Config;
  log: Logger;
  requests: RequestService;
  decisions: DecisionService;
  lifecycle: LifecycleService;
  summaries: SummaryService;
  /** The App Home tab's data and its Done. */
  home: HomeService;
  notifier: Notifier;
  work: WorkQueue;
  /** COMMAND_RATE_PER_MINUTE, checked before a command is acked. */
  commandRate: CommandRateLimit;
  dryRun: boolean;
}
