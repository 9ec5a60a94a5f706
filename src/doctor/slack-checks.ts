/** doctor: the Slack mode against the manifest, the Slack token and its scopes, the app token, the admin channel and the admins. */
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config.js';
import { type CheckResult, couldNotCheck, describeError, fail, ok, warn } from './results.js';

/** The part of the Web API client the checks use (WebClient satisfies it). */
export interface SlackApi {
  apiCall(method: string, options?: Record<string, unknown>): Promise<SlackAnswer>;
}

/** A Web API answer; the client turns `ok: false` into a thrown error. The granted scopes come from the x-oauth-scopes header. */
export interface SlackAnswer {
  ok?: boolean;
  response_metadata?: { scopes?: string[] };
}

/** A field of an answer, by name (answers differ per method). */
const field = (answer: SlackAnswer, name: string): unknown => (answer as Record<string, unknown>)[name];

/** The bot scopes the code needs when no manifest.yml says otherwise. */
export const BUILT_IN_SCOPES = ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'usergroups:read'] as const;

export interface RequiredScopes {
  scopes: string[];
  /** Where the list came from, shown in the output: "manifest.yml" or "built-in list". */
  source: string;
}

/** The Slack error code (`invalid_auth`, `channel_not_found`…) of a failed call, or undefined for transport errors. */
function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

function slackNeeded(err: unknown): string | undefined {
  const data = (err as { data?: { needed?: unknown } } | undefined)?.data;
  return typeof data?.needed === 'string' ? data.needed : undefined;
}

function describeSlackError(err: unknown): string {
  const code = slackErrorCode(err);
  if (code) return code;
  const original = (err as { original?: unknown }).original;
  return describeError(original instanceof Error ? original : err);
}

/**
 * The bot scopes a manifest asks for (`oauth_config.scopes.bot`); undefined when it names none.
 * Throws the YAML parser's error when the text is not YAML.
 */
export function manifestBotScopes(text: string): string[] | undefined {
  const doc = parseYaml(text) as { oauth_config?: { scopes?: { bot?: unknown } } } | null;
  const bot = doc?.oauth_config?.scopes?.bot;
  if (!Array.isArray(bot)) return undefined;
  return bot.filter((s): s is string => typeof s === 'string').map((s) => s.trim());
}

/** The scopes doctor expects: the manifest's (or the built-in list), plus usergroups:read only where a user group names the admins. */
export function requiredScopes(manifestScopes: string[] | undefined, adminUsergroupId: string | undefined): RequiredScopes {
  const base = manifestScopes && manifestScopes.length > 0 ? manifestScopes : [...BUILT_IN_SCOPES];
  const source = manifestScopes && manifestScopes.length > 0 ? 'manifest.yml' : 'built-in list';
  const scopes = base.filter((s) => s !== 'usergroups:read' || adminUsergroupId !== undefined);
  if (adminUsergroupId !== undefined && !scopes.includes('usergroups:read')) scopes.push('usergroups:read');
  return { scopes, source };
}

/** How a manifest has Slack reach the app: over Socket Mode, or by posting to request URLs. */
export interface ManifestSlackMode {
  /** `settings.socket_mode_enabled` (Slack's default when the manifest does not say is off). */
  socketModeEnabled: boolean;
  /** Where HTTP mode sends each slash command (`url`), interactivity and events (each a `request_url`); undefined where none is set. */
  requestUrls: { what: string; url: string | undefined }[];
}

/** The Slack mode a manifest sets up. Throws the YAML parser's error when the text is not YAML. */
export function manifestSlackMode(text: string): ManifestSlackMode {
  const doc = parseYaml(text) as {
    features?: { slash_commands?: unknown };
    settings?: { socket_mode_enabled?: unknown; interactivity?: { request_url?: unknown }; event_subscriptions?: { request_url?: unknown } };
  } | null;
  const commands = Array.isArray(doc?.features?.slash_commands) ? (doc.features.slash_commands as { command?: unknown; url?: unknown }[]) : [];
  const asUrl = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  return {
    socketModeEnabled: doc?.settings?.socket_mode_enabled === true,
    requestUrls: [
      ...commands.map((c) => ({ what: `the slash command ${String(c?.command ?? '?')} (url)`, url: asUrl(c?.url) })),
      { what: 'interactivity (request_url)', url: asUrl(doc?.settings?.interactivity?.request_url) },
      { what: 'event subscriptions (request_url)', url: asUrl(doc?.settings?.event_subscriptions?.request_url) },
    ],
  };
}

/** A URL's path; undefined when it is not a URL. */
function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

const MODE_TITLE = (source: string) => `Slack mode matches ${source}`;
const SOCKET_MODE_FIX =
  'for Socket Mode (the manifest’s default), set SLACK_APP_TOKEN to an app-level token (xapp-…, scope connections:write: Basic Information → App-Level Tokens)';
const HTTP_MODE_FIX =
  'for HTTP mode, set socket_mode_enabled: false and the slash command’s url and the request_url of interactivity and of event subscriptions to https://<your host>/slack/events in the manifest, then update the app from it (api.slack.com/apps → the app → App Manifest)';

/**
 * Whether the mode the tokens pick (Socket Mode with SLACK_APP_TOKEN, else HTTP mode) is the
 * one the manifest sets up. When they differ, Slack sends slash commands and clicks where the
 * bot is not listening, and they go nowhere without an error anyone sees.
 */
export function checkSlackMode(
  config: { slack: Pick<Config['slack'], 'mode'> & Partial<Pick<Config['slack'], 'signingSecret'>> },
  manifest: { source: string; text: string },
): CheckResult {
  const title = MODE_TITLE(manifest.source);
  let mode: ManifestSlackMode;
  try {
    mode = manifestSlackMode(manifest.text);
  } catch (err) {
    return couldNotCheck(
      'Slack',
      title,
      `${manifest.source} is not YAML (${describeError(err)})`,
      `fix ${manifest.source}: it is what the Slack app is created from`,
    );
  }
  if (config.slack.mode === 'socket') {
    if (!mode.socketModeEnabled)
      return fail(
        'Slack',
        title,
        `SLACK_APP_TOKEN is set, so the bot runs in Socket Mode, but ${manifest.source} has socket_mode_enabled: false: Slack posts slash commands and clicks to the request URLs, and nothing comes over the Socket Mode connection`,
        `to keep Socket Mode (the manifest’s default), set socket_mode_enabled: true in ${manifest.source} and update the app from it (api.slack.com/apps → the app → App Manifest); for HTTP mode instead, unset SLACK_APP_TOKEN and set SLACK_SIGNING_SECRET`,
      );
    const unused = config.slack.signingSecret ? '; SLACK_SIGNING_SECRET is set but unused in Socket Mode' : '';
    return ok('Slack', title, `Socket Mode: SLACK_APP_TOKEN is set and ${manifest.source} has socket_mode_enabled: true${unused}`);
  }
  if (mode.socketModeEnabled)
    return fail(
      'Slack',
      title,
      `only SLACK_SIGNING_SECRET is set, so the bot runs in HTTP mode on /slack/events, but ${manifest.source} has socket_mode_enabled: true: Slack sends slash commands and clicks over a Socket Mode connection the bot never opens, so they go nowhere`,
      `${SOCKET_MODE_FIX}; or, ${HTTP_MODE_FIX}`,
    );
  const missing = mode.requestUrls.filter((r) => r.url === undefined).map((r) => r.what);
  if (missing.length > 0)
    return fail(
      'Slack',
      title,
      `HTTP mode, but ${manifest.source} names no request URL for ${missing.join(' or ')}: Slack has nowhere to send them`,
      HTTP_MODE_FIX,
    );
  const placeholder = mode.requestUrls.filter((r) => r.url?.includes('<'));
  if (placeholder.length > 0)
    return fail(
      'Slack',
      title,
      `HTTP mode, but ${manifest.source} still has the placeholder ${placeholder[0]?.url} for ${placeholder.map((r) => r.what).join(' and ')}`,
      HTTP_MODE_FIX,
    );
  const elsewhere = mode.requestUrls.filter((r) => !pathOf(r.url ?? '')?.endsWith('/slack/events'));
  if (elsewhere.length > 0)
    return fail(
      'Slack',
      title,
      `HTTP mode, but ${manifest.source} sends ${elsewhere.map((r) => `${r.what} to ${r.url}`).join(' and ')}: the bot listens on /slack/events`,
      HTTP_MODE_FIX,
    );
  const urls = [...new Set(mode.requestUrls.map((r) => r.url))].join(', ');
  return ok('Slack', title, `HTTP mode: ${manifest.source} has socket_mode_enabled: false and sends slash commands and clicks to ${urls}`);
}

export interface SlackCheckInput {
  config: Pick<Config, 'adminChannelId' | 'adminUserIds' | 'adminUsergroupId'> & {
    slack: Pick<Config['slack'], 'apiUrl' | 'mode'> & Partial<Pick<Config['slack'], 'signingSecret'>>;
  };
  /** The client with the bot token. */
  slack: SlackApi;
  /** Socket Mode only: a client with the app-level token. */
  app?: SlackApi;
  required: RequiredScopes;
  /** The app manifest (manifest.yml), to check the Slack mode against; without one, that check is left out. */
  manifest?: { source: string; text: string };
}

export async function checkSlack(input: SlackCheckInput): Promise<CheckResult[]> {
  const { config, slack, required } = input;
  const results: CheckResult[] = [];
  if (input.manifest) results.push(checkSlackMode(config, input.manifest));
  let auth: SlackAnswer;
  try {
    auth = await slack.apiCall('auth.test');
  } catch (err) {
    const code = slackErrorCode(err);
    results.push(
      code
        ? fail(
            'Slack',
            'bot token',
            `auth.test answered ${code}`,
            'set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from the app’s OAuth & Permissions page, and reinstall the app if it was revoked',
          )
        : fail(
            'Slack',
            'bot token',
            `could not reach the Slack Web API at ${config.slack.apiUrl}: ${describeSlackError(err)}`,
            'check SLACK_API_URL and the network path to Slack',
          ),
    );
    const why = 'the bot token does not work (see above)';
    results.push(couldNotCheck('Slack', 'bot scopes', why));
    if (input.app) results.push(couldNotCheck('Slack', 'app-level token (Socket Mode)', why));
    results.push(couldNotCheck('Slack', `bot in the admin channel ${config.adminChannelId}`, why));
    results.push(couldNotCheck('Admins', 'admins resolve', why));
    return results;
  }
  const teamId = String(field(auth, 'team_id') ?? '?');
  const teamName = field(auth, 'team');
  const team = typeof teamName === 'string' ? `${teamName} (${teamId})` : teamId;
  const botUser = String(field(auth, 'user') ?? field(auth, 'user_id') ?? '?');
  results.push(
    ok('Slack', 'bot token', `auth.test OK: workspace ${team}, bot user @${botUser}, ${config.slack.mode === 'socket' ? 'Socket Mode' : 'HTTP mode'}`),
  );

  const granted = auth.response_metadata?.scopes;
  if (!granted) {
    results.push(
      couldNotCheck(
        'Slack',
        'bot scopes',
        `the Slack API at ${config.slack.apiUrl} did not report the token’s scopes (no x-oauth-scopes header)`,
        `make sure the app has ${required.scopes.join(', ')}`,
      ),
    );
  } else {
    const missing = required.scopes.filter((s) => !granted.includes(s));
    results.push(
      missing.length === 0
        ? ok('Slack', 'bot scopes', `the token has every scope of the ${required.source} (${required.scopes.join(', ')})`)
        : fail(
            'Slack',
            'bot scopes',
            `the token lacks ${missing.join(', ')} (from the ${required.source}; granted: ${granted.join(', ') || 'none'})`,
            `add ${missing.join(', ')} under OAuth & Permissions → Bot Token Scopes (or update the app from manifest.yml), then reinstall the app to the workspace`,
          ),
    );
  }

  if (input.app) results.push(await checkAppToken(input.app));
  results.push(await checkAdminChannel(slack, config.adminChannelId, botUser));
  results.push(...(await checkAdmins(slack, config.adminUserIds, config.adminUsergroupId)));
  return results;
}

async function checkAppToken(app: SlackApi): Promise<CheckResult> {
  const title = 'app-level token (Socket Mode)';
  try {
    await app.apiCall('apps.connections.open');
    return ok('Slack', title, 'apps.connections.open OK');
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'unknown_method') return couldNotCheck('Slack', title, 'this Slack API does not offer apps.connections.open');
    if (code)
      return fail(
        'Slack',
        title,
        `apps.connections.open answered ${code}`,
        'set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write (Basic Information → App-Level Tokens), and turn Socket Mode on',
      );
    return couldNotCheck('Slack', title, `could not reach Slack: ${describeSlackError(err)}`);
  }
}

async function checkAdminChannel(slack: SlackApi, channelId: string, botUser: string): Promise<CheckResult> {
  const title = `bot in the admin channel ${channelId}`;
  try {
    const out = await slack.apiCall('conversations.info', { channel: channelId });
    const channel = field(out, 'channel') as { name?: string; is_member?: boolean; is_archived?: boolean } | undefined;
    const name = channel?.name ? `#${channel.name}` : channelId;
    if (channel?.is_archived) return fail('Slack', title, `${name} is archived`, 'set ADMIN_CHANNEL_ID to a live channel and invite the bot there');
    if (channel?.is_member === true) return ok('Slack', title, `the bot is a member of ${name}`);
    if (channel?.is_member === false) return fail('Slack', title, `the bot is not a member of ${name}`, `invite the bot: type /invite @${botUser} in ${name}`);
    return couldNotCheck('Slack', title, 'conversations.info did not say whether the bot is a member');
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'channel_not_found')
      return fail(
        'Slack',
        title,
        `Slack does not know channel ${channelId}, or it is private and the bot is not in it`,
        `check ADMIN_CHANNEL_ID, then invite the bot: /invite @${botUser} in that channel`,
      );
    if (code === 'missing_scope')
      return couldNotCheck(
        'Slack',
        title,
        `conversations.info needs ${slackNeeded(err) ?? 'channels:read (groups:read for a private channel)'}, which the token does not have`,
        'make sure the bot is in the channel (it fails to post approvals otherwise), or grant that scope so doctor can check',
      );
    if (code) return fail('Slack', title, `conversations.info answered ${code}`, 'check ADMIN_CHANNEL_ID and invite the bot to that channel');
    return couldNotCheck('Slack', title, `could not reach Slack: ${describeSlackError(err)}`);
  }
}

async function checkAdmins(slack: SlackApi, adminUserIds: string[], usergroupId: string | undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (adminUserIds.length > 0) {
    const title = 'ADMIN_USER_IDS resolve';
    const found: string[] = [];
    const problems: string[] = [];
    let unreachable: string | undefined;
    for (const id of adminUserIds) {
      try {
        const out = await slack.apiCall('users.info', { user: id });
        const user = field(out, 'user') as
          | { name?: string; deleted?: boolean; is_bot?: boolean; is_restricted?: boolean; is_ultra_restricted?: boolean }
          | undefined;
        if (user?.deleted) problems.push(`${id} is deactivated`);
        else if (user?.is_bot) problems.push(`${id} is a bot`);
        else if (user?.is_restricted || user?.is_ultra_restricted) problems.push(`${id} is a guest`);
        else found.push(`${id} (@${user?.name ?? '?'})`);
      } catch (err) {
        const code = slackErrorCode(err);
        if (code === 'user_not_found') problems.push(`${id} is not a user of this workspace`);
        else if (code) problems.push(`${id}: users.info answered ${code}`);
        else unreachable = describeSlackError(err);
      }
    }
    if (problems.length > 0)
      results.push(fail('Admins', title, problems.join('; '), 'set ADMIN_USER_IDS to the member ids of active admins (profile → ⋮ → Copy member ID)'));
    else if (unreachable) results.push(couldNotCheck('Admins', title, `could not reach Slack: ${unreachable}`));
    else results.push(ok('Admins', title, found.join(', ')));
  }
  if (usergroupId) {
    const title = `ADMIN_USERGROUP_ID ${usergroupId} lists members`;
    try {
      const out = await slack.apiCall('usergroups.users.list', { usergroup: usergroupId });
      const listed = field(out, 'users');
      const users = Array.isArray(listed) ? listed : [];
      if (users.length > 0) results.push(ok('Admins', title, `${users.length} member${users.length === 1 ? '' : 's'}`));
      else
        results.push(
          adminUserIds.length > 0
            ? warn('Admins', title, 'the user group has no members: only ADMIN_USER_IDS can decide', 'add the admins to the user group')
            : fail('Admins', title, 'the user group has no members: nobody can approve', 'add the admins to the user group'),
        );
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === 'missing_scope')
        results.push(fail('Admins', title, 'usergroups.users.list needs usergroups:read', 'add usergroups:read to the bot scopes and reinstall the app'));
      else if (code)
        results.push(fail('Admins', title, `usergroups.users.list answered ${code}`, 'check ADMIN_USERGROUP_ID (a user group id like S012ABCDEF)'));
      else results.push(couldNotCheck('Admins', title, `could not reach Slack: ${describeSlackError(err)}`));
    }
  }
  return results;
}
