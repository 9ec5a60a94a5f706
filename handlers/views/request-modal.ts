import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { parseDuration, validateJustification } from '../../src/domain/command.js';
import { levelNamed } from '../../src/domain/levels.js';
import { ValidationError } from '../../src/errors.js';
import { FIELD } from '../../src/slack/ids.js';
import { requestConfirmation } from '../../src/slack/messages.js';
import { fieldValue } from '../../src/slack/views.js';
import { HOME_MODAL_METADATA } from '../actions/home-buttons.js';
import type { HandlerDeps } from '../deps.js';
import { publishHome, refreshHome } from '../home.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The request modal: field problems go back onto the fields; later refusals come as a DM. */
export function requestModalSubmission(deps: HandlerDeps) {
  return async ({ ack, body, view, client }: Args): Promise<void> => {
    const userId = body.user.id;
    const values = view.state.values;
    const errors: Record<string, string> = {};
    const level = fieldValue(values, FIELD.level) ?? '';
    if (!levelNamed(deps.config.levels, level)) errors[FIELD.level.block] = 'Choose one of the listed levels.';
    let durationDays = deps.config.defaultDurationDays;
    try {
      durationDays = parseDuration(`${fieldValue(values, FIELD.duration) ?? ''}d`, deps.config.maxDurationDays);
    } catch (err) {
      errors[FIELD.duration.block] = err instanceof ValidationError ? err.message : 'Choose a duration.';
    }
    let justification = '';
    try {
      justification = validateJustification(fieldValue(values, FIELD.justification) ?? '');
    } catch (err) {
      errors[FIELD.justification.block] = err instanceof ValidationError ? err.message : 'Give a justification.';
    }
    if (Object.keys(errors).length > 0) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const context = { event: 'view.request', userId };
    const dm = (text: string) => deps.notifier.directMessage(userId, text);
    const accepted = deps.work.tryRun('view.request', async () => {
      try {
        const result = await deps.requests.submit({
          userId,
          teamId: body.user.team_id ?? body.team?.id ?? '',
          level,
          durationDays,
          justification,
          breakGlass: false,
        });
        const extension = result.extends?.expiresAt ? { currentExpiresAt: result.extends.expiresAt } : undefined;
        await dm(requestConfirmation(result.request, extension));
      } catch (err) {
        await dm(`Your billing access request was not sent: ${userMessage(err, deps.log, context)}`);
      }
      // Filed from the Home: that Home is shown now; from the command: a Home opened earlier is brought up to date.
      if (view.private_metadata === HOME_MODAL_METADATA) await publishHome(deps, client, userId);
      else await refreshHome(deps, client, userId);
    });
    if (!accepted) await dm(BUSY_MESSAGE);
  };
}
