import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { requestModal } from '../../src/slack/views.js';
import type { HandlerDeps } from '../deps.js';
import { publishHome } from '../home.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** Marks a request modal opened from the Home: its submission republishes the Home. */
export const HOME_MODAL_METADATA = JSON.stringify({ from: 'home' });

/** Home's Done: ends the viewer's own grant as `/request-billing done <level>` does, then republishes the Home. */
export function homeDoneButton(deps: HandlerDeps) {
  return async ({ ack, body, client }: Args): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const requestId = body.actions[0]?.value ?? '';
    const context = { event: 'action.home_done', userId, requestId };
    deps.log.info(context);
    const dm = (text: string) => deps.notifier.directMessage(userId, text).catch(() => undefined);
    const accepted = deps.work.tryRun('home.done', async () => {
      try {
        await deps.home.done(userId, requestId);
      } catch (err) {
        await dm(`Your billing access was not ended: ${userMessage(err, deps.log, context)}`);
      }
      await publishHome(deps, client, userId);
    });
    if (!accepted) await dm(BUSY_MESSAGE);
  };
}

/** Home's Request: the same modal as `/request-billing`, on the click's trigger. */
export function homeRequestButton(deps: HandlerDeps) {
  return async ({ ack, body, client }: Args): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const context = { event: 'action.home_request', userId };
    deps.log.info(context);
    try {
      const modal = requestModal(deps.config.levels, deps.config.maxDurationDays, deps.config.defaultDurationDays);
      await client.views.open({ trigger_id: body.trigger_id, view: { ...modal, private_metadata: HOME_MODAL_METADATA } });
    } catch (err) {
      await deps.notifier.directMessage(userId, userMessage(err, deps.log, context)).catch(() => undefined);
    }
  };
}
