import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { publishHome } from '../home.js';

type Args = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

/** Publishing a Home that was opened: the post-ack work of app_home_opened. */
export interface HomeOpenedJob {
  kind: 'home-opened';
  userId: string;
}

/**
 * app_home_opened (Socket Mode and HTTP alike; Bolt acks events before listeners run):
 * publishes the viewer's Home tab through the post-ack work, so a burst of opens stays bounded.
 * The Messages tab needs nothing.
 */
export function appHomeOpened(deps: HandlerDeps) {
  return async ({ event }: Args): Promise<void> => {
    if (event.tab !== 'home') return;
    const userId = event.user;
    deps.log.info({ event: 'event.app_home_opened', userId });
    if (!deps.jobs.submit({ kind: 'home-opened', userId })) deps.log.warn({ event: 'home.busy', userId });
  };
}

/** Notes that this person has a Home open (their own commands republish it), then publishes it. */
export async function runHomeOpenedJob(deps: JobDeps, job: HomeOpenedJob): Promise<void> {
  deps.home.opened(job.userId);
  await publishHome(deps, job.userId);
}
