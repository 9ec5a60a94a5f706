import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { errorName } from '../../src/errors.js';
import { markKept } from '../../src/slack/summary-blocks.js';
import type { HandlerDeps } from '../deps.js';
import { busyClickMessage, userMessage } from '../reply.js';
import { clickOf } from './decision-buttons.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** The review is stored but the summary message still shows the buttons: the admin is told which is true. */
export function keptNotShown(requestId: string): string {
  return `Your Keep of \`${requestId}\` is recorded (the next summary shows it), but this message could not be updated. Click Keep again to update it.`;
}

/** Keep (summary): records who reviewed the grant and when, and shows it in place of the buttons. */
export function keepButton(deps: HandlerDeps) {
  return async ({ ack, body, client }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    const context = { event: 'action.keep', userId: click.userId, requestId: click.requestId };
    deps.log.info(context);
    const tell = (text: string) =>
      deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, text).catch(() => undefined);
    const accepted = deps.work.tryRun('action.keep', async () => {
      let kept: Awaited<ReturnType<typeof deps.summaries.keep>>;
      try {
        kept = await deps.summaries.keep(click);
      } catch (err) {
        await tell(userMessage(err, deps.log, context));
        return;
      }
      const message = body.message;
      if (!message?.ts || !click.channelId) return;
      const blocks = markKept((message.blocks ?? []) as KnownBlock[], kept.id, click.userId, kept.reviewedAt ?? kept.updatedAt);
      try {
        await client.chat.update({ channel: click.channelId, ts: message.ts, text: String(message.text ?? 'Billing access summary'), blocks });
      } catch (err) {
        deps.log.warn({ ...context, event: 'slack.keep_update_failed', error: errorName(err) });
        await tell(keptNotShown(kept.id));
      }
    });
    if (!accepted) await tell(busyClickMessage(click.requestId));
  };
}
