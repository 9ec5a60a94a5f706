import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AccessRequest } from '../../src/domain/request.js';
import { errorName } from '../../src/errors.js';
import type { Click, DecisionResult } from '../../src/services/decision-service.js';
import { mention } from '../../src/slack/escape.js';
import { statusLine } from '../../src/slack/messages.js';
import { denyModal } from '../../src/slack/views.js';
import type { HandlerDeps } from '../deps.js';
import { busyClickMessage, userMessage } from '../reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** Who clicked which request where; the service re-checks all of it. */
export function clickOf(body: BlockButtonAction): Click {
  return { userId: body.user.id, channelId: body.channel?.id ?? body.container?.channel_id, requestId: body.actions[0]?.value ?? '' };
}

export function alreadyDecided(request: AccessRequest): string {
  const who = request.decidedBy ? ` by ${mention(request.decidedBy)}` : '';
  return `This request was already decided${who}: ${statusLine(request)}`;
}

/**
 * Runs a decision off the ack path; refusals go to the clicker as an ephemeral in the channel,
 * or, when Slack refuses that, through the click's response_url (which needs no channel access).
 */
function decide(deps: HandlerDeps, label: string, action: (click: Click) => Promise<DecisionResult>) {
  return async ({ ack, body, respond }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    const context = { event: label, userId: click.userId, requestId: click.requestId };
    deps.log.info(context);
    // A click that names no channel is refused, and the clicker is told in the admin channel.
    const tell = async (text: string) => {
      try {
        await deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, text);
      } catch (err) {
        deps.log.warn({ ...context, event: 'slack.ephemeral_failed', error: errorName(err) });
        await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((fallbackErr: unknown) => {
          deps.log.warn({ ...context, event: 'slack.response_url_failed', error: errorName(fallbackErr) });
        });
      }
    };
    const accepted = deps.work.tryRun(label, async () => {
      try {
        const result = await action(click);
        if (result.kind === 'already-decided') await tell(alreadyDecided(result.request));
      } catch (err) {
        await tell(userMessage(err, deps.log, context));
      }
    });
    if (!accepted) await tell(busyClickMessage(click.requestId));
  };
}

export const approveButton = (deps: HandlerDeps) => decide(deps, 'action.approve', (c) => deps.decisions.approve(c));
export const retryButton = (deps: HandlerDeps) => decide(deps, 'action.retry', (c) => deps.decisions.retry(c));

/** Revoke (admin message or summary): the service re-checks admin and channel. */
export const revokeButton = (deps: HandlerDeps) =>
  decide(deps, 'action.revoke', async (c) => {
    const [ended] = await deps.lifecycle.revoke(c.userId, { requestId: c.requestId }, c.channelId);
    return { kind: 'completed', request: ended as AccessRequest };
  });
/** Deny: checks the clicker first (so a refusal never opens a modal), then asks for a reason. */
export function denyButton(deps: HandlerDeps) {
  return async ({ ack, body, client }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    const context = { event: 'action.deny', userId: click.userId, requestId: click.requestId };
    deps.log.info(context);
    try {
      const request = await deps.decisions.authorize(click);
      if (request.status !== 'PENDING') {
        await deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, alreadyDecided(request));
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal(request.id, click.channelId ?? '', body.message?.ts) });
    } catch (err) {
      await deps.notifier
        .clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, userMessage(err, deps.log, context))
        .catch(() => undefined);
    }
  };
}
