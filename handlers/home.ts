import { errorName } from '../src/errors.js';
import { homeView } from '../src/slack/home.js';
import type { JobDeps } from './deps.js';

type HomeDeps = Pick<JobDeps, 'home' | 'log' | 'slack'>;

/**
 * Publishes `userId`'s App Home as it stands now. Best-effort: a failed read or publish is
 * logged and never fails the action that asked for it (the next open publishes it again).
 */
export async function publishHome(deps: HomeDeps, userId: string): Promise<void> {
  try {
    const view = homeView(await deps.home.data(userId));
    await deps.slack.views.publish({ user_id: userId, view });
  } catch (err) {
    deps.log.warn({ event: 'home.publish_failed', userId, error: errorName(err) });
  }
}

/** After `userId`'s own command: their Home is published again when they have one open (see HomeService.opened). */
export async function refreshHome(deps: HomeDeps, userId: string): Promise<void> {
  if (deps.home.hasHome(userId)) await publishHome(deps, userId);
}
