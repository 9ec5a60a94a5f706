import type { WebClient } from '@slack/web-api';
import type { CommandRateLimit } from '../src/command-rate.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/log.js';
import type { DecisionService } from '../src/services/decision-service.js';
import type { HomeService } from '../src/services/home-service.js';
import type { LifecycleService } from '../src/services/lifecycle.js';
import type { Notifier } from '../src/services/ports.js';
import type { RequestService } from '../src/services/request-service.js';
import type { SummaryService } from '../src/services/summary-service.js';
import type { PostAckJob } from './jobs.js';

/** Where the handlers hand post-ack work: false when the bot is too busy to take it (nothing was started). */
export interface JobQueue {
  submit(job: PostAckJob): boolean;
}

/**
 * What the Slack handlers need to answer a request (ack, refuse, hand the work on): the side
 * that answers Slack. Built in src/bot.ts.
 */
export interface HandlerDeps {
  config: Config;
  log: Logger;
  dryRun: boolean;
  /** COMMAND_RATE_PER_MINUTE, checked before a command is acked. */
  commandRate: CommandRateLimit;
  jobs: JobQueue;
  /** For what the answering side says itself: busy refusals. */
  notifier: Notifier;
}

/** A reply through a request's response_url (what Bolt's respond() sends). */
export type Respond = (responseUrl: string, message: object) => Promise<void>;

/** What the post-ack jobs need (handlers/jobs.ts): the services and the Slack client. Built in src/deps.ts. */
export interface JobDeps {
  config: Config;
  log: Logger;
  dryRun: boolean;
  requests: RequestService;
  decisions: DecisionService;
  lifecycle: LifecycleService;
  summaries: SummaryService;
  /** The App Home tab's data and its Done. */
  home: HomeService;
  notifier: Notifier;
  /** Web API calls a job makes itself: views.open, views.publish, chat.update. */
  slack: WebClient;
  respond: Respond;
}
