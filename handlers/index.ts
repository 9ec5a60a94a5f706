import type { App, BlockButtonAction } from '@slack/bolt';
import { ACTION, VIEW } from '../src/slack/ids.js';
import { approveButton, denyButton, retryButton, revokeButton } from './actions/decision-buttons.js';
import { homeDoneButton, homeRequestButton } from './actions/home-buttons.js';
import { keepButton } from './actions/keep-button.js';
import { requestBillingCommand } from './commands/request-billing.js';
import type { HandlerDeps } from './deps.js';
import { appHomeOpened } from './events/app-home.js';
import { denyModalSubmission } from './views/deny-modal.js';
import { requestModalSubmission } from './views/request-modal.js';

/** The one place that registers Slack listeners. */
export function registerHandlers(app: App, deps: HandlerDeps): void {
  app.command('/request-billing', requestBillingCommand(deps));
  app.action<BlockButtonAction>(ACTION.approve, approveButton(deps));
  app.action<BlockButtonAction>(ACTION.deny, denyButton(deps));
  app.action<BlockButtonAction>(ACTION.retry, retryButton(deps));
  app.action<BlockButtonAction>(ACTION.revoke, revokeButton(deps));
  app.action<BlockButtonAction>(ACTION.keep, keepButton(deps));
  app.action<BlockButtonAction>(ACTION.homeDone, homeDoneButton(deps));
  app.action<BlockButtonAction>(ACTION.homeRequest, homeRequestButton(deps));
  app.event('app_home_opened', appHomeOpened(deps));
  app.view(VIEW.request, requestModalSubmission(deps));
  app.view(VIEW.deny, denyModalSubmission(deps));
}
