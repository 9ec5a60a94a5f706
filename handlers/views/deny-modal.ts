import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { validateDenyReason } from '../../src/domain/command.js';
import { ValidationError } from '../../src/errors.js';
import type { Click } from '../../src/services/decision-service.js';
import { FIELD } from '../../src/slack/ids.js';
import { fieldValue } from '../../src/slack/views.js';
import { alreadyDecided } from '../actions/decision-buttons.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { publishHome } from '../home.js';
import { BUSY_MESSAGE, userMessage } from '../reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** Set by denyModal: where Deny was clicked (the admin channel, or the admin's Home: `from: 'home'`). */
interface DenyMetadata {
  requestId: string;
  channelId: string;
  from?: 'home';
}

function readMetadata(raw: string): DenyMetadata | undefined {
  try {
    const parsed = JSON.parse(raw) as Partial<DenyMetadata>;
    if (typeof parsed.requestId === 'string' && typeof parsed.channelId === 'string') {
      return { requestId: parsed.requestId, channelId: parsed.channelId, ...(parsed.from === 'home' ? { from: 'home' as const } : {}) };
    }
  } catch {
    // fall through: treated as a bad submission
  }
  return undefined;
}

/** A deny form's work, after the ack: the decision, re-checked by the service. */
export interface DenyFormJob {
  kind: 'deny-form';
  click: Click;
  reason: string | undefined;
}

/** The deny modal: the reason is checked on the field; the decision itself is re-checked by the service. */
export function denyModalSubmission(deps: HandlerDeps) {
  return async ({ ack, body, view }: Args): Promise<void> => {
    const userId = body.user.id;
    let reason: string | undefined;
    try {
      reason = validateDenyReason(fieldValue(view.state.values, FIELD.reason));
    } catch (err) {
      await ack({ response_action: 'errors', errors: { [FIELD.reason.block]: err instanceof ValidationError ? err.message : 'Invalid reason.' } });
      return;
    }
    const meta = readMetadata(view.private_metadata);
    await ack();
    const dm = (text: string) => deps.notifier.directMessage(userId, text);
    if (!meta) {
      await dm('That deny form could not be read; nothing was changed. Click Deny again.');
      return;
    }
    deps.log.info({ event: 'view.deny', userId, requestId: meta.requestId });
    const click: Click =
      meta.from === 'home'
        ? { userId, channelId: undefined, requestId: meta.requestId, from: 'home' }
        : { userId, channelId: meta.channelId, requestId: meta.requestId };
    if (!deps.jobs.submit({ kind: 'deny-form', click, reason })) await dm(BUSY_MESSAGE);
  };
}

export async function runDenyFormJob(deps: JobDeps, job: DenyFormJob): Promise<void> {
  const { click } = job;
  const dm = (text: string) => deps.notifier.directMessage(click.userId, text);
  try {
    const result = await deps.decisions.deny(click, job.reason);
    if (result.kind === 'already-decided') await dm(alreadyDecided(result.request));
  } catch (err) {
    await dm(`Your deny was not recorded: ${userMessage(err, deps.log, { event: 'view.deny', userId: click.userId, requestId: click.requestId })}`);
  }
  if (click.from === 'home') await publishHome(deps, click.userId);
}
