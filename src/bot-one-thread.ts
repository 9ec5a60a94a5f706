/**
 * The bot in one thread: Bolt and the post-ack work (store, services, sweeps, summary) share it,
 * the work queue's acks-first pause keeping acks ahead. The integration tests drive this one
 * (they move its clock and read its store); `npm start` runs src/bot.ts.
 *
 * With src/deps.ts, a composition root: deps.ts builds the store and the services,
 * src/schedules.ts what fires.
 */
import { type Answering, handlerDepsOf, type StartOptions, slackIdentity, startAnswering } from './answering.js';
import type { StartedBot } from './bot.js';
import { type BuiltDeps, buildDeps } from './deps.js';
import { healthOf } from './health.js';
import { inlineJobs } from './post-ack/inline.js';
import { startSchedules } from './schedules.js';

export interface RunningBot {
  deps: BuiltDeps;
  /** The HTTP port actually bound (PORT=0 picks a free one). */
  port: number;
  teamId: string | undefined;
  stop(): Promise<void>;
}

/** The bot in one thread: acks and post-ack work share it (the work queue's acks-first pause keeps acks ahead). */
export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config, log } = options;
  const slack = await slackIdentity(config, log, options);
  const teamId = slack.auth.team_id;
  const deps = await buildDeps({
    config,
    log,
    aws: options.aws,
    slack: slack.slack,
    slackPosts: slack.slackPosts,
    teamId: () => teamId,
    teamUrl: () => slack.auth.url,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let answering: Answering;
  try {
    const handlerDeps = handlerDepsOf(config, log, inlineJobs(deps), deps.notifier);
    answering = await startAnswering(config, log, slack, handlerDeps, () => healthOf(deps, config.sweepIntervalSeconds * 1000));
  } catch (err) {
    await deps.close();
    throw err;
  }
  const schedules = startSchedules(deps, config, log, options.scheduleSweeps !== false);
  return {
    deps,
    port: answering.port,
    teamId,
    async stop() {
      // Stop taking work first, then let a running sweep and the queued work finish.
      const sweeping = schedules.stop();
      await answering.stop();
      await sweeping;
      await deps.work.onIdle();
      await deps.close();
    },
  };
}

/** A one-thread bot (startBot) as `npm start` sees it. */
export function startedInOneThread(bot: RunningBot): StartedBot {
  return {
    port: bot.port,
    teamId: bot.teamId,
    nextSummaryAt: bot.deps.summaries.nextFiring(new Date()),
    inFlight: () => bot.deps.work.running + bot.deps.work.waiting,
    stop: () => bot.stop(),
  };
}
