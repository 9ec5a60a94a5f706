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
// App Home: the app_home_opened event, and button clicks on a Home tab
// ---------------------------------------------------------------------------

export interface AppHomeOpenedInput {
  userId: string;
  teamId?: string;
  /** Default 'home'; 'messages' when the Messages tab was opened. */
  tab?: 'home' | 'messages';
  /** The Home view published earlier, as Slack sends it back (absent before the first publish). */
  viewId?: string;
}

/**
 * An Events API `event_callback` for app_home_opened. Unlike commands and interactions it is
 * a JSON body: post it with content type `application/json`.
 */
export function buildAppHomeOpened(input: AppHomeOpenedInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const eventTs = actionTs();
  return JSON.stringify({
    token: 'unused',
    team_id: teamId,
    api_app_id: DEFAULT_APP_ID,
    event: {
      type: 'app_home_opened',
      user: input.userId,
      channel: `D${input.userId}`,
      tab: input.tab ?? 'home',
      event_ts: eventTs,
      ...(input.viewId ? { view: { id: input.viewId, team_id: teamId, type: 'home', blocks: [], private_metadata: '', callback_id: '' } } : {}),
    },
    type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(8).toString('hex')}`,
  });
}

export interface HomeBlockActionInput {
  userId: string;
  teamId?: string;
  actionId: string;
  value: string;
  viewId?: string;
  triggerId?: string;
  /** Default 'home'; any other type stands for a click on a modal, which names no channel either. */
  viewType?: string;
  blockId?: string;
}

/**
 * A button click on a view, as Slack sends it from a Home tab: `container.type` is `view`,
 * `view.type` is `home`, and there is neither a channel nor a message nor a response_url.
 */
export function buildHomeBlockAction(input: HomeBlockActionInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const viewId = input.viewId ?? 'VHOME000001';
  const username = input.userId.toLowerCase();
  return payloadBody({
    type: 'block_actions',
    user: { id: input.userId, username, name: username, team_id: teamId },
    api_app_id: DEFAULT_APP_ID,
    token: 'unused',
    container: { type: 'view', view_id: viewId },
    trigger_id: input.triggerId ?? randomTriggerId(),
    team: { id: teamId, domain: DEFAULT_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    view: {
      id: viewId,
      team_id: teamId,
      type: input.viewType ?? 'home',
      blocks: [],
      private_metadata: '',
      callback_id: '',
      state: { values: {} },
      hash: '1700000000.home',
      root_view_id: viewId,
      previous_view_id: null,
      app_id: DEFAULT_APP_ID,
      external_id: '',
      app_installed_team_id: teamId,
      bot_id: 'B0BOT',
    },
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
