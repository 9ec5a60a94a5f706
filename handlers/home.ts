import type { WebClient } from '@slack/web-api';
import { errorName } from '../src/errors.js';
import { homeView } from '../src/slack/home.js';
import type { HandlerDeps } from './deps.js';

/**
 * Publishes `userId`'s App Home as it stands now. Best-effort: a failed read or publish is
 * logged and never fails the action that asked for it (the next open publishes it again).
 */
export async function publishHome(deps: Pick<HandlerDeps, 'home' | 'log'>, client: WebClient, userId: string): Promise<void> {
  try {
    const view = homeView(await deps.home.data(userId));
    await client.views.publish({ user_id: userId, view });
  } catch (err) {
    deps.log.warn({ event: 'home.publish_failed', userId, error: errorName(err) });
  }
}

/** After `userId`'s own command: their Home is published again when they have one open (see HomeService.opened). */
export async function refreshHome(deps: Pick<HandlerDeps, 'home' | 'log'>, client: WebClient, userId: string): Promise<void> {
  if (deps.home.hasHome(userId)) await publishHome(deps, client, userId);
}
