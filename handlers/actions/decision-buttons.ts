import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AccessRequest } from '../../src/domain/request.js';
import { errorName } from '../../src/errors.js';
import type { Click, DecisionResult } from '../../src/services/decision-service.js';
import { mention } from '../../src/slack/escape.js';
import { statusLine } from '../../src/slack/messages.js';
import { denyModal } from '../../src/slack/views.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
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
export function tellClicker(deps: Pick<HandlerDeps, 'notifier' | 'config'>, click: Click, text: string): Promise<void> {
  if (click.from === 'home') return deps.notifier.directMessage(click.userId, text);
  return deps.notifier.clickRefused({ channel: click.channelId ?? deps.config.adminChannelId, userId: click.userId }, text);
}

export function alreadyDecided(request: AccessRequest): string {
  const who = request.decidedBy ? ` by ${mention(request.decidedBy)}` : '';
  return `This request was already decided${who}: ${statusLine(request)}`;
}

/**
 * Tells the clicker; when Slack refuses that, through the click's response_url (which needs no
 * channel access). Never throws: what could not be said is logged.
 */
async function tellOrRespond(
  deps: Pick<HandlerDeps, 'notifier' | 'config' | 'log'>,
  click: Click,
  responseUrl: string | undefined,
  respond: (url: string, message: object) => Promise<unknown>,
  text: string,
): Promise<void> {
  const context = { userId: click.userId, requestId: click.requestId };
  try {
    await tellClicker(deps, click, text);
  } catch (err) {
    deps.log.warn({ ...context, event: 'slack.ephemeral_failed', error: errorName(err) });
    if (!responseUrl) return;
    await respond(responseUrl, { response_type: 'ephemeral', replace_original: false, text }).catch((fallbackErr: unknown) => {
      deps.log.warn({ ...context, event: 'slack.response_url_failed', error: errorName(fallbackErr) });
    });
  }
}

/** The decisions an admin's click starts: each re-checked in full by the service. */
export type DecisionAction = 'approve' | 'retry' | 'revoke';

/** A decision's work, after the ack. */
export interface DecisionJob {
  kind: 'decision';
  action: DecisionAction;
  click: Click;
  responseUrl: string | undefined;
}

/**
 * Acks, then hands the decision to the post-ack work; refusals go to the clicker as an
 * ephemeral in the channel (a DM for a Home click), or through the click's response_url.
 */
function decide(deps: HandlerDeps, action: DecisionAction) {
  return async ({ ack, body, respond }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    deps.log.info({ event: `action.${action}`, userId: click.userId, requestId: click.requestId });
    const responseUrl = 'response_url' in body && typeof body.response_url === 'string' ? body.response_url : undefined;
    if (!deps.jobs.submit({ kind: 'decision', action, click, responseUrl })) {
      await tellOrRespond(deps, click, responseUrl, (_url, message) => respond(message), busyClickMessage(click.requestId));
    }
  };
}

async function decided(deps: JobDeps, action: DecisionAction, click: Click): Promise<DecisionResult> {
  switch (action) {
    case 'approve':
      return deps.decisions.approve(click);
    case 'retry':
      return deps.decisions.retry(click);
    case 'revoke': {
      // Revoke (admin message, summary or an admin's Home): the service re-checks admin and channel.
      const [ended] = await deps.lifecycle.revoke(click.userId, { requestId: click.requestId }, click.channelId, click.from);
      return { kind: 'completed', request: ended as AccessRequest };
    }
  }
}

/** Runs the decision; a Home click republishes the clicker's Home afterwards. */
export async function runDecisionJob(deps: JobDeps, job: DecisionJob): Promise<void> {
  const { click } = job;
  const context = { event: `action.${job.action}`, userId: click.userId, requestId: click.requestId };
  const tell = (text: string) => tellOrRespond(deps, click, job.responseUrl, deps.respond, text);
  try {
    const result = await decided(deps, job.action, click);
    if (result.kind === 'already-decided') await tell(alreadyDecided(result.request));
  } catch (err) {
    await tell(userMessage(err, deps.log, context));
  }
  if (click.from === 'home') await publishHome(deps, click.userId);
}

export const approveButton = (deps: HandlerDeps) => decide(deps, 'approve');
export const retryButton = (deps: HandlerDeps) => decide(deps, 'retry');
export const revokeButton = (deps: HandlerDeps) => decide(deps, 'revoke');

/** Deny's work, after the ack: checks the clicker first (so a refusal never opens a modal), then asks for a reason. */
export interface DenyClickJob {
  kind: 'deny-click';
  click: Click;
  triggerId: string;
  messageTs: string | undefined;
}

export function denyButton(deps: HandlerDeps) {
  return async ({ ack, body }: Args): Promise<void> => {
    await ack();
    const click = clickOf(body);
    deps.log.info({ event: 'action.deny', userId: click.userId, requestId: click.requestId });
    if (!deps.jobs.submit({ kind: 'deny-click', click, triggerId: body.trigger_id, messageTs: body.message?.ts })) {
      await tellClicker(deps, click, busyClickMessage(click.requestId)).catch(() => undefined);
    }
  };
}

export async function runDenyClickJob(deps: JobDeps, job: DenyClickJob): Promise<void> {
  const { click } = job;
  const context = { event: 'action.deny', userId: click.userId, requestId: click.requestId };
  try {
    const request = await deps.decisions.authorize(click);
    if (request.status !== 'PENDING') {
      await tellClicker(deps, click, alreadyDecided(request));
      if (click.from === 'home') await publishHome(deps, click.userId);
      return;
    }
    await deps.slack.views.open({ trigger_id: job.triggerId, view: denyModal(request.id, click.channelId ?? '', job.messageTs, click.from) });
  } catch (err) {
    await tellClicker(deps, click, userMessage(err, deps.log, context)).catch(() => undefined);
  }
}
