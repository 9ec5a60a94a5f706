import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { markKept } from '../../src/slack/summary-blocks.js';
import type { HandlerDeps } from '../deps.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';
import { clickOf } from './decision-buttons.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

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
      try {
        const kept = await deps.summaries.keep(click);
        const message = body.message;
        if (message?.ts && click.channelId) {
          const blocks = markKept((message.blocks ?? []) as KnownBlock[], kept.id, click.userId, kept.reviewedAt ?? kept.updatedAt);
          await client.chat.update({ channel: click.channelId, ts: message.ts, text: String(message.text ?? 'Billing access summary'), blocks });
        }
      } catch (err) {
        await tell(userMessage(err, deps.log, context));
      }
    });
    if (!accepted) await tell(BUSY_MESSAGE);
  };
}
