import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { requestModal } from '../../src/slack/views.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { publishHome } from '../home.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** Marks a request modal opened from the Home: its submission republishes the Home. */
export const HOME_MODAL_METADATA = JSON.stringify({ from: 'home' });

/** Home's Done, after the ack: ends the viewer's own grant as `/request-billing done <level>` does, then republishes the Home. */
export interface HomeDoneJob {
  kind: 'home-done';
  userId: string;
  requestId: string;
}

export function homeDoneButton(deps: HandlerDeps) {
  return async ({ ack, body }: Args): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const requestId = body.actions[0]?.value ?? '';
    deps.log.info({ event: 'action.home_done', userId, requestId });
    if (!deps.jobs.submit({ kind: 'home-done', userId, requestId })) await deps.notifier.directMessage(userId, BUSY_MESSAGE).catch(() => undefined);
  };
}

export async function runHomeDoneJob(deps: JobDeps, job: HomeDoneJob): Promise<void> {
  const { userId, requestId } = job;
  try {
    await deps.home.done(userId, requestId);
  } catch (err) {
    const reason = userMessage(err, deps.log, { event: 'action.home_done', userId, requestId });
    await deps.notifier.directMessage(userId, `Your billing access was not ended: ${reason}`).catch(() => undefined);
  }
  await publishHome(deps, userId);
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
