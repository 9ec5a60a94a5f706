import { randomBytes } from 'node:crypto';

/**
 * Builders for the request bodies Slack POSTs to the bot. Each returns the
 * `application/x-www-form-urlencoded` body string exactly as Slack sends it:
 * slash commands as plain form fields, interactions as a single `payload=<JSON>` field.
 */

/**
 * Default response_url: a local port that refuses connections, so a test that forgets to
 * point response_url at the fake fails fast instead of reaching anything real.
 */
export const UNSET_RESPONSE_URL = 'http://127.0.0.1:9/response/unset';

export const DEFAULT_TEAM_ID = 'T0001';
export const DEFAULT_TEAM_DOMAIN = 'fake-workspace';
export const DEFAULT_APP_ID = 'A0001';

export function randomTriggerId(): string {
  return `1234.5678.${randomBytes(16).toString('hex')}`;
}

function actionTs(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
}

function payloadBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

// ---------------------------------------------------------------------------
// Slash commands
// ---------------------------------------------------------------------------

export interface SlashCommandFields {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  api_app_id: string;
  is_enterprise_install: string;
  response_url: string;
  trigger_id: string;
}

export function buildCommand(overrides: Partial<SlashCommandFields> = {}): string {
  const fields: SlashCommandFields = {
    token: 'unused',
    team_id: DEFAULT_TEAM_ID,
    team_domain: DEFAULT_TEAM_DOMAIN,
    channel_id: 'C0GENERAL',
    channel_name: 'general',
    user_id: 'U0EMPLOYEE',
    user_name: 'employee',
    command: '/request-billing',
    text: '',
    api_app_id: DEFAULT_APP_ID,
    is_enterprise_install: 'false',
    response_url: UNSET_RESPONSE_URL,
    trigger_id: randomTriggerId(),
    ...overrides,
  };
  return new URLSearchParams({ ...fields }).toString();
}

// ---------------------------------------------------------------------------
// block_actions (button clicks on messages)
// ---------------------------------------------------------------------------

export interface BlockActionInput {
  userId: string;
  teamId?: string;
  channelId: string;
  actionId: string;
  value: string;
  messageTs?: string;
  responseUrl?: string;
  triggerId?: string;
  /** Default: userId lower-cased. */
  userName?: string;
  /** Default 'general'. */
  channelName?: string;
  /** Default 'b'. */
  blockId?: string;
}

export function buildBlockAction(input: BlockActionInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const messageTs = input.messageTs ?? '1700000000.000100';
  const username = input.userName ?? input.userId.toLowerCase();
  return payloadBody({
    type: 'block_actions',
    user: { id: input.userId, username, name: username, team_id: teamId },
    api_app_id: DEFAULT_APP_ID,
    token: 'unused',
    container: { type: 'message', message_ts: messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? randomTriggerId(),
    team: { id: teamId, domain: DEFAULT_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? 'general' },
    message: { type: 'message', ts: messageTs, text: '' },
    state: { values: {} },
    response_url: input.responseUrl ?? UNSET_RESPONSE_URL,
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: input.blockId ?? 'b',
        text: { type: 'plain_text', text: input.actionId, emoji: true },
        value: input.value,
        action_ts: actionTs(),
      },
    ],
  });
}

// ---------------------------------------------------------------------------
// view_submission (modal submit)
// ---------------------------------------------------------------------------

export interface ViewStateInput {
  type: string;
  value?: string;
  selected_option?: { value: string };
}

export interface ViewSubmissionInput {
  userId: string;
  teamId?: string;
  callbackId: string;
  privateMetadata?: string;
  /** blockId -> actionId -> state value, as in `view.state.values`. */
  values: Record<string, Record<string, ViewStateInput>>;
  viewId?: string;
  /** Default: userId lower-cased. */
  userName?: string;
  /** The modal's blocks, for handlers that read `view.blocks`. Default []. */
  blocks?: unknown[];
}

/**
 * Slack sends `value: null` for an empty text input and `selected_option: null` for an
 * unselected select, and every selected option carries its `text`.
 */
function stateValue(input: ViewStateInput): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  if (input.type.endsWith('_input') && input.value === undefined) out.value = null;
  if (input.type.endsWith('_select') && !input.type.startsWith('multi_') && input.selected_option === undefined) {
    out.selected_option = null;
  }
  if (input.selected_option) {
    out.selected_option = {
      text: { type: 'plain_text', text: input.selected_option.value, emoji: true },
      ...input.selected_option,
    };
  }
  return out;
}

export function buildViewSubmission(input: ViewSubmissionInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const viewId = input.viewId ?? 'V0000000001';
  const username = input.userName ?? input.userId.toLowerCase();
  const values = Object.fromEntries(
    Object.entries(input.values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(Object.entries(actions).map(([actionId, v]) => [actionId, stateValue(v)])),
    ]),
  );
  return payloadBody({
    type: 'view_submission',
    team: { id: teamId, domain: DEFAULT_TEAM_DOMAIN },
    user: { id: input.userId, username, name: username, team_id: teamId },
    api_app_id: DEFAULT_APP_ID,
    token: 'unused',
    trigger_id: randomTriggerId(),
    view: {
      id: viewId,
      team_id: teamId,
      type: 'modal',
      blocks: input.blocks ?? [],
      private_metadata: input.privateMetadata ?? '',
      callback_id: input.callbackId,
      state: { values },
      hash: '1700000000.abcdef',
      title: { type: 'plain_text', text: 'Request', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: { type: 'plain_text', text: 'Cancel', emoji: true },
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: DEFAULT_APP_ID,
      external_id: '',
      app_installed_team_id: teamId,
      bot_id: 'B0BOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  });
}
