import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AccessRequest } from '../../src/domain/request.js';
import { errorName } from '../../src/errors.js';
import type { Click, DecisionResult } from '../../src/services/decision-service.js';
import { mention } from '../../src/slack/escape.js';
import { statusLine } from '../../src/slack/messages.js';
import { denyModal } from '../../src/slack/views.js';
import type { HandlerDeps } from '../deps.js';
import { publishHome } from '../home.js';
import { busyClickMessage, userMessage } from '../reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * Who clicked which request where; the service re-checks all of it. A click on a Home tab
 * (container a view, the view a home) comes from the clicker's own Home and names no channel;
 * a click on any other view (a modal) names no channel either, so it is refused.
 */
export function clickOf(body: BlockButtonAction): Click {
  const userId = body.user.id;
  const requestId = body.actions[0]?.value ?? '';
  if (body.container?.type === 'view') {
    return body.view?.type === 'home' ? { userId, channelId: undefined, requestId, from: 'home' } : { userId, channelId: undefined, requestId };
  }
  return { userId, channelId: body.channel?.id ?? body.container?.channel_id, requestId, from: 'channel' };
}

/**
 * Tells the clicker privately why a click was refused: an ephemeral in the channel (the admin
 * channel for a click naming none), or a DM for a Home click (a Home has no channel).
 */
export function tellClicker(deps: HandlerDeps, click: Click, text: string): Promise<void> {
  if (click.from === 'home') return deps.notifier.directMessage(click.userId, text);
  return deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, text);
}

export function alreadyDecided(request: AccessRequest): string {
  const who = request.decidedBy ? ` by ${mention(request.decidedBy)}` : '';
  return `This request was already decided${who}: ${statusLine(request)}`;
}

/**
 * Runs a decision off the ack path; refusals go to the clicker as an ephemeral in the channel
 * (a DM for a Home click), or, when Slack refuses that, through the click's response_url (which
 * needs no channel access). A Home click republishes the clicker's Home afterwards.
 */
function decide(deps: HandlerDeps, label: string, action: (click: Click) => Promise<DecisionResult>) {
  return async ({ ack, body, respond, client }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    const context = { event: label, userId: click.userId, requestId: click.requestId };
    deps.log.info(context);
    // A click that names no channel is refused, and the clicker is told in the admin channel.
    const tell = async (text: string) => {
      try {
        await tellClicker(deps, click, text);
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
      if (click.from === 'home') await publishHome(deps, client, click.userId);
    });
    if (!accepted) await tell(busyClickMessage(click.requestId));
  };
}

export const approveButton = (deps: HandlerDeps) => decide(deps, 'action.approve', (c) => deps.decisions.approve(c));
export const retryButton = (deps: HandlerDeps) => decide(deps, 'action.retry', (c) => deps.decisions.retry(c));

/** Revoke (admin message, summary or an admin's Home): the service re-checks admin and channel. */
export const revokeButton = (deps: HandlerDeps) =>
  decide(deps, 'action.revoke', async (c) => {
    const [ended] = await deps.lifecycle.revoke(c.userId, { requestId: c.requestId }, c.channelId, c.from);
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
        await tellClicker(deps, click, alreadyDecided(request));
        if (click.from === 'home') await publishHome(deps, client, click.userId);
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal(request.id, click.channelId ?? '', body.message?.ts, click.from) });
    } catch (err) {
      await tellClicker(deps, click, userMessage(err, deps.log, context)).catch(() => undefined);
    }
  };
}
