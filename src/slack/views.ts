/** Modal views: pure builders, plus reading their submitted values back. */
import type { View } from '@slack/types';
import type { LevelConfig } from '../config.js';
import { DENY_REASON_MAX, JUSTIFICATION_MAX, JUSTIFICATION_MIN } from '../domain/command.js';
import { FIELD, VIEW } from './ids.js';

const DURATION_CHOICES = [1, 7, 30, 90];

function durationChoices(maxDays: number, defaultDays: number): number[] {
  const choices = DURATION_CHOICES.filter((d) => d <= maxDays);
  if (!choices.includes(defaultDays)) choices.push(defaultDays);
  return choices.sort((a, b) => a - b);
}

const option = (text: string, value: string) => ({ text: { type: 'plain_text' as const, text }, value });

/**
 * The request form. Its title stays plain in dry-run too: a modal is no message, and dry-run is
 * marked on every message the bot sends (the confirmation included).
 */
export function requestModal(levels: LevelConfig[], maxDays: number, defaultDays: number): View {
  const levelOptions = levels.map((l) => option(`${l.level} (${l.groupName})`, l.level));
  const durations = durationChoices(maxDays, defaultDays).map((d) => option(`${d} day${d === 1 ? '' : 's'}`, String(d)));
  const [firstLevel] = levelOptions;
  const initialDuration = durations.find((d) => d.value === String(defaultDays));
  return {
    type: 'modal',
    callback_id: VIEW.request,
    title: { type: 'plain_text', text: 'Billing access' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.level.block,
        label: { type: 'plain_text', text: 'Access level' },
        element: { type: 'static_select', action_id: FIELD.level.action, options: levelOptions, ...(firstLevel ? { initial_option: firstLevel } : {}) },
      },
      {
        type: 'input',
        block_id: FIELD.duration.block,
        label: { type: 'plain_text', text: 'Duration' },
        element: {
          type: 'static_select',
          action_id: FIELD.duration.action,
          options: durations,
          ...(initialDuration ? { initial_option: initialDuration } : {}),
        },
      },
      {
        type: 'input',
        block_id: FIELD.justification.block,
        label: { type: 'plain_text', text: 'Justification' },
        hint: { type: 'plain_text', text: `Why you need it, ${JUSTIFICATION_MIN} to ${JUSTIFICATION_MAX} characters.` },
        element: {
          type: 'plain_text_input',
          action_id: FIELD.justification.action,
          multiline: true,
          min_length: JUSTIFICATION_MIN,
          max_length: JUSTIFICATION_MAX,
        },
      },
    ],
  };
}

/** The deny form; `from: 'home'` when Deny was clicked on the admin's App Home (it has no channel). */
export function denyModal(requestId: string, channelId: string, messageTs: string | undefined, from?: 'channel' | 'home'): View {
  return {
    type: 'modal',
    callback_id: VIEW.deny,
    private_metadata: JSON.stringify({ requestId, channelId, messageTs, ...(from === 'home' ? { from } : {}) }),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.reason.block,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (sent to the requester)' },
        element: { type: 'plain_text_input', action_id: FIELD.reason.action, multiline: true, max_length: DENY_REASON_MAX },
      },
    ],
  };
}

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>;

/** Reads a field from a view_submission's state, whatever its element type. */
export function fieldValue(values: StateValues, field: { block: string; action: string }): string | undefined {
  const entry = values[field.block]?.[field.action];
  return entry?.selected_option?.value ?? entry?.value ?? undefined;
}
