import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { errorName } from '../../src/errors.js';
import type { Click } from '../../src/services/decision-service.js';
import { markKept } from '../../src/slack/summary-blocks.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { busyClickMessage, userMessage } from '../reply.js';
import { clickOf } from './decision-buttons.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** The review is stored but the summary message still shows the buttons: the admin is told which is true. */
export function keptNotShown(requestId: string): string {
  return `Your Keep of \`${requestId}\` is recorded (the next summary shows it), but this message could not be updated. Click Keep again to update it.`;
}

/** Keep's work, after the ack: the summary message it was clicked in, to show the Keep in place of the buttons. */
export interface KeepJob {
  kind: 'keep';
  click: Click;
  message: { ts: string; text: string; blocks: KnownBlock[] } | undefined;
}

const tellKeeper = (deps: Pick<HandlerDeps, 'notifier' | 'config'>, click: Click, text: string) =>
  deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, text).catch(() => undefined);

/** Keep (summary): records who reviewed the grant and when, and shows it in place of the buttons. */
export function keepButton(deps: HandlerDeps) {
  return async ({ ack, body }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    deps.log.info({ event: 'action.keep', userId: click.userId, requestId: click.requestId });
    const message = body.message?.ts
      ? { ts: body.message.ts, text: String(body.message.text ?? 'Billing access summary'), blocks: (body.message.blocks ?? []) as KnownBlock[] }
      : undefined;
    if (!deps.jobs.submit({ kind: 'keep', click, message })) await tellKeeper(deps, click, busyClickMessage(click.requestId));
  };
}

export async function runKeepJob(deps: JobDeps, job: KeepJob): Promise<void> {
  const { click, message } = job;
  const context = { event: 'action.keep', userId: click.userId, requestId: click.requestId };
  let kept: Awaited<ReturnType<typeof deps.summaries.keep>>;
  try {
    kept = await deps.summaries.keep(click);
  } catch (err) {
    await tellKeeper(deps, click, userMessage(err, deps.log, context));
    return;
  }
  if (!message || !click.channelId) return;
  const blocks = markKept(message.blocks, kept.id, click.userId, kept.reviewedAt ?? kept.updatedAt);
  try {
    await deps.slack.chat.update({ channel: click.channelId, ts: message.ts, text: message.text, blocks });
  } catch (err) {
    deps.log.warn({ ...context, event: 'slack.keep_update_failed', error: errorName(err) });
    await tellKeeper(deps, click, keptNotShown(kept.id));
  }
}
