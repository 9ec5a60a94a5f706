import type { AllMiddlewareArgs, App, BlockButtonAction, SlackActionMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { ACTION, VIEW } from '../src/slack/ids.js';
import { approveButton, denyButton, retryButton, revokeButton } from './actions/decision-buttons.js';
import { homeDoneButton, homeRequestButton } from './actions/home-buttons.js';
import { keepButton } from './actions/keep-button.js';
import { requestBillingCommand } from './commands/request-billing.js';
import type { HandlerDeps } from './deps.js';
import { appHomeOpened } from './events/app-home.js';
import { denyModalSubmission } from './views/deny-modal.js';
import { requestModalSubmission } from './views/request-modal.js';

type ButtonListener = (args: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => Promise<void>;
type ViewListener = (args: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => Promise<void>;

/** Exactly one of `ids`, as Bolt matches an action_id or a callback_id. */
function oneOf(ids: readonly string[]): RegExp {
  return new RegExp(`^(?:${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
}

/**
 * The one place that registers Slack listeners: one per kind of request, each handing on to the
 * handler its id names. Bolt runs every listener's matchers on every request it gets, so one
 * listener per button and per modal would cost each ack eleven middleware chains instead of four.
 */
export function registerHandlers(app: App, deps: HandlerDeps): void {
  const buttons: Record<string, ButtonListener> = {
    [ACTION.approve]: approveButton(deps),
    [ACTION.deny]: denyButton(deps),
    [ACTION.retry]: retryButton(deps),
    [ACTION.revoke]: revokeButton(deps),
    [ACTION.keep]: keepButton(deps),
    [ACTION.homeDone]: homeDoneButton(deps),
    [ACTION.homeRequest]: homeRequestButton(deps),
  };
  const views: Record<string, ViewListener> = {
    [VIEW.request]: requestModalSubmission(deps),
    [VIEW.deny]: denyModalSubmission(deps),
  };
  app.command('/request-billing', requestBillingCommand(deps));
  app.action<BlockButtonAction>(oneOf(Object.keys(buttons)), (args) => (buttons[args.action.action_id] as ButtonListener)(args));
  app.view<ViewSubmitAction>(oneOf(Object.keys(views)), (args) => (views[args.view.callback_id] as ViewListener)(args));
  app.event('app_home_opened', appHomeOpened(deps));
}
