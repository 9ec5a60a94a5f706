import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { parseDuration, validateJustification } from '../../src/domain/command.js';
import { levelNamed } from '../../src/domain/levels.js';
import { ValidationError } from '../../src/errors.js';
import { FIELD } from '../../src/slack/ids.js';
import { requestConfirmation } from '../../src/slack/messages.js';
import { fieldValue } from '../../src/slack/views.js';
import { HOME_MODAL_METADATA } from '../actions/home-buttons.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { publishHome, refreshHome } from '../home.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The request modal: field problems go back onto the fields; later refusals come as a DM. */
export function requestModalSubmission(deps: HandlerDeps) {
  return async ({ ack, body, view }: Args): Promise<void> => {
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
    const job: RequestFormJob = {
      kind: 'request-form',
      userId,
      teamId: body.user.team_id ?? body.team?.id ?? '',
      level,
      durationDays,
      justification,
      fromHome: view.private_metadata === HOME_MODAL_METADATA,
    };
    if (!deps.jobs.submit(job)) await deps.notifier.directMessage(userId, BUSY_MESSAGE);
  };
}

/** A request form's work, after the ack: the request, confirmed by DM. */
export interface RequestFormJob {
  kind: 'request-form';
  userId: string;
  teamId: string;
  level: string;
  durationDays: number;
  justification: string;
  /** Filed from the Home (the form's private_metadata says so). */
  fromHome: boolean;
}

export async function runRequestFormJob(deps: JobDeps, job: RequestFormJob): Promise<void> {
  const { userId } = job;
  const dm = (text: string) => deps.notifier.directMessage(userId, text);
  try {
    const result = await deps.requests.submit({
      userId,
      teamId: job.teamId,
      level: job.level,
      durationDays: job.durationDays,
      justification: job.justification,
      breakGlass: false,
    });
    const extension = result.extends?.expiresAt ? { currentExpiresAt: result.extends.expiresAt } : undefined;
    await dm(requestConfirmation(result.request, extension));
  } catch (err) {
    await dm(`Your billing access request was not sent: ${userMessage(err, deps.log, { event: 'view.request', userId })}`);
  }
  // Filed from the Home: that Home is shown now; from the command: a Home opened earlier is brought up to date.
  if (job.fromHome) await publishHome(deps, userId);
  else await refreshHome(deps, userId);
}
