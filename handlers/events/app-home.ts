import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';
import { publishHome } from '../home.js';

type Args = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

/**
 * app_home_opened (Socket Mode and HTTP alike; Bolt acks events before listeners run):
 * publishes the viewer's Home tab through the work queue, so a burst of opens stays bounded.
 * The Messages tab needs nothing.
 */
export function appHomeOpened(deps: HandlerDeps) {
  return async ({ event, client }: Args): Promise<void> => {
    if (event.tab !== 'home') return;
    const userId = event.user;
    deps.log.info({ event: 'event.app_home_opened', userId });
    deps.home.opened(userId);
    const accepted = deps.work.tryRun('event.app_home_opened', () => publishHome(deps, client, userId));
    if (!accepted) deps.log.warn({ event: 'home.busy', userId });
  };
}
