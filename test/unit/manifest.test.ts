/**
 * manifest.yml asks for exactly the Slack scopes the code needs: every Web API method called in
 * src/ and handlers/ is covered, and no scope is there that nothing uses (least privilege).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { callArgumentProperty, literalCalls, parseSource, propertyReads, ROOT, type SlackCall, slackCalls, sourceFiles } from '../support/source-scan.js';

interface Manifest {
  _metadata?: { major_version?: number; minor_version?: number };
  display_information: { name: string; description?: string; long_description?: string; background_color?: string };
  features?: {
    app_home?: Record<string, boolean>;
    bot_user?: { display_name: string; always_online?: boolean };
    slash_commands?: { command: string; description: string; usage_hint?: string; should_escape?: boolean; url?: string }[];
  };
  oauth_config?: { scopes?: { bot?: string[]; user?: string[] }; redirect_urls?: string[] };
  settings?: {
    interactivity?: { is_enabled: boolean; request_url?: string };
    event_subscriptions?: { request_url?: string; bot_events?: string[] };
    org_deploy_enabled?: boolean;
    socket_mode_enabled?: boolean;
    token_rotation_enabled?: boolean;
  };
}

const MANIFEST_TEXT = readFileSync(join(ROOT, 'manifest.yml'), 'utf8');
const manifest = parse(MANIFEST_TEXT) as Manifest;
const botScopes = manifest.oauth_config?.scopes?.bot ?? [];

/**
 * Every Web API method the code may call, with the bot scopes it needs (all of them). A method
 * missing here fails the test: look it up on docs.slack.dev and add it.
 */
const METHOD_SCOPES: Record<string, { scopes: string[]; note?: string }> = {
  'chat.postMessage': { scopes: ['chat:write'] },
  'chat.update': { scopes: ['chat:write'] },
  'chat.postEphemeral': { scopes: ['chat:write'] },
  'chat.delete': { scopes: ['chat:write'] },
  'views.open': { scopes: [], note: 'needs a trigger_id from a slash command (commands) or a button click, no scope of its own' },
  'views.update': { scopes: [], note: 'updates a view the app opened' },
  'views.push': { scopes: [], note: 'needs a trigger_id' },
  'views.publish': { scopes: [], note: 'publishes a Home tab; no scope of its own (the Home tab is enabled in the manifest)' },
  'users.info': { scopes: ['users:read'], note: 'the email in the profile also needs users:read.email (checked below)' },
  'users.lookupByEmail': { scopes: ['users:read', 'users:read.email'] },
  'usergroups.users.list': { scopes: ['usergroups:read'] },
  'usergroups.list': { scopes: ['usergroups:read'] },
  'conversations.info': {
    scopes: ['channels:read', 'groups:read'],
    note: 'channels:read for a public channel, groups:read for a private one: the admin channel may be either',
  },
  'conversations.members': { scopes: ['channels:read', 'groups:read'] },
  'conversations.open': { scopes: ['im:write'] },
  'auth.test': { scopes: [] },
  'team.info': { scopes: ['team:read'] },
  'apps.connections.open': { scopes: [], note: 'called with the app-level token (connections:write), which the manifest cannot grant' },
};

const srcFiles = sourceFiles('src', 'handlers');
const calls = slackCalls(srcFiles);
const where = (c: { file: string; line: number }) => `${c.file}:${c.line}`;

/** Why each scope is needed: `scope → reasons`, from what the code does. */
function neededScopes(): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  const need = (scope: string, why: string) => needs.set(scope, [...(needs.get(scope) ?? []), why]);
  for (const call of calls) for (const scope of METHOD_SCOPES[call.method]?.scopes ?? []) need(scope, `${call.method} at ${where(call)}`);

  // Slash commands registered with Bolt need the commands scope.
  for (const c of literalCalls(srcFiles, 'command')) need('commands', `app.command('${c.value}') at ${where(c)}`);
  // The Slack profile email (identity mapping, ALLOWED_EMAIL_DOMAINS) needs users:read.email.
  for (const r of propertyReads(srcFiles, 'profile', 'email')) need('users:read.email', `profile.email at ${where(r)}`);
  // A DM is chat.postMessage with a person's id as the channel: it opens an IM with them (im:write).
  for (const c of callArgumentProperty(srcFiles, 'chat.postMessage', 'channel')) {
    if (/user|requester/i.test(c.expression) && !/admin/i.test(c.expression)) need('im:write', `DM (channel: ${c.expression}) at ${where(c)}`);
  }
  return needs;
}

describe('manifest.yml', () => {
  it('is a version 2 manifest within Slack’s limits', () => {
    expect(manifest._metadata?.major_version).toBe(2);
    const info = manifest.display_information;
    expect(info.name.length).toBeGreaterThan(0);
    expect(info.name.length).toBeLessThanOrEqual(35);
    expect((info.description ?? '').length).toBeLessThanOrEqual(140);
    if (info.long_description !== undefined) {
      expect(info.long_description.length).toBeGreaterThanOrEqual(175);
      expect(info.long_description.length).toBeLessThanOrEqual(4000);
    }
    if (info.background_color !== undefined) expect(info.background_color).toMatch(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/);
    const bot = manifest.features?.bot_user;
    expect(bot?.display_name.length).toBeGreaterThan(0);
    expect(bot?.display_name.length).toBeLessThanOrEqual(80);
    for (const c of manifest.features?.slash_commands ?? []) {
      expect(c.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(2000);
      expect((c.usage_hint ?? '').length).toBeLessThanOrEqual(1000);
    }
    expect(Object.keys(manifest).sort()).toEqual(['_metadata', 'display_information', 'features', 'oauth_config', 'settings']);
  });

  it('declares /request-billing with should_escape and a usage hint, and exactly the commands the code registers', () => {
    const commands = manifest.features?.slash_commands ?? [];
    const requestBilling = commands.find((c) => c.command === '/request-billing');
    expect(requestBilling?.should_escape).toBe(true);
    expect(requestBilling?.usage_hint?.trim()).toBeTruthy();
    const registered = literalCalls(srcFiles, 'command').map((c) => c.value);
    expect(registered).toContain('/request-billing');
    expect(commands.map((c) => c.command).sort()).toEqual([...new Set(registered)].sort());
    for (const c of commands) expect(c.should_escape, c.command).toBe(true);
  });

  it('has Socket Mode on, interactivity on, no org deploy, no token rotation, and exactly the events the code listens to', () => {
    const settings = manifest.settings ?? {};
    expect(settings.socket_mode_enabled).toBe(true);
    expect(settings.interactivity?.is_enabled).toBe(true);
    expect(settings.org_deploy_enabled).toBe(false);
    expect(settings.token_rotation_enabled).toBe(false);
    // Buttons and modals need interactivity.
    expect(literalCalls(srcFiles, 'action').length + literalCalls(srcFiles, 'view').length).toBeGreaterThan(0);
    // The bot events are exactly those the code registers: today the Home tab's app_home_opened.
    const events = [...new Set(literalCalls(srcFiles, 'event').map((c) => c.value))].sort();
    expect(events).toEqual(['app_home_opened']);
    expect([...(settings.event_subscriptions?.bot_events ?? [])].sort()).toEqual(events);
    // The Home tab is on because the code publishes it (views.publish) when it is opened.
    expect(manifest.features?.app_home?.home_tab_enabled).toBe(true);
    expect(calls.some((c) => c.method === 'views.publish')).toBe(true);
    // The app's DMs show in its Messages tab, which is read-only: the code reads no messages
    // (no message listener, no im:history), so a message typed there would get silence.
    expect(manifest.features?.app_home?.messages_tab_enabled).toBe(true);
    expect(literalCalls(srcFiles, 'message')).toHaveLength(0);
    expect(manifest.features?.app_home?.messages_tab_read_only_enabled).toBe(true);
  });

  it('shows the HTTP-mode request URLs as comments that land in the right place when uncommented', () => {
    const url = 'https://<host>/slack/events';
    const lines = MANIFEST_TEXT.split('\n');
    const commented = lines.filter((l) => /^\s*#\s*(url|request_url):/.test(l));
    expect(commented.map((l) => l.trim())).toEqual([`# url: ${url}`, `# request_url: ${url}`, `# request_url: ${url}`]);
    const http = parse(lines.map((l) => l.replace(/^(\s*)#\s*((?:url|request_url): )/, '$1$2')).join('\n')) as Manifest;
    expect(http.features?.slash_commands?.[0]?.url).toBe(url);
    expect(http.settings?.interactivity?.request_url).toBe(url);
    expect(http.settings?.event_subscriptions?.request_url).toBe(url);
    expect(http.settings?.event_subscriptions?.bot_events).toEqual(['app_home_opened']);
  });
});

describe('manifest scopes against the code', () => {
  it('finds the Slack calls in the code (the scan itself works)', () => {
    const methods = new Set(calls.map((c) => c.method));
    for (const m of ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'views.open', 'users.info', 'usergroups.users.list', 'auth.test']) {
      expect(methods, m).toContain(m);
    }
  });

  it('sees calls across line breaks and through apiCall/say, and not in comments or strings', () => {
    const sample = parseSource(
      'sample.ts',
      [
        '// client.conversations.history({ channel })',
        "const text = 'client.reactions.add()';",
        'await this.client.reactions',
        '  .add({ name: "eyes" });',
        "await web.apiCall('pins.add', { channel });",
        "await say('hi');",
        'await other.users.map(String);',
      ].join('\n'),
    );
    const found = slackCalls([sample]).map((c) => `${c.method}:${c.via}:${c.line}`);
    expect(found).toEqual(['reactions.add:client:3', 'pins.add:apiCall:5', 'chat.postMessage:say:6']);
    // A method outside the table is what the next test fails on.
    expect('reactions.add' in METHOD_SCOPES).toBe(false);
  });

  it('knows the scopes of every method the code calls', () => {
    const unknown = calls.filter((c: SlackCall) => !(c.method in METHOD_SCOPES));
    expect(
      unknown.map((c) => `${c.method} (${c.via}) at ${where(c)}`),
      'add these to METHOD_SCOPES with the scopes docs.slack.dev lists for bot tokens',
    ).toEqual([]);
  });

  it('grants every scope the code needs', () => {
    const missing = [...neededScopes()].filter(([scope]) => !botScopes.includes(scope)).map(([scope, why]) => `${scope}: ${why.join('; ')}`);
    expect(missing).toEqual([]);
  });

  it('grants no scope the code does not need, and no user scopes', () => {
    const needed = neededScopes();
    const extra = botScopes.filter((s) => !needed.has(s));
    expect(extra, 'scopes no code path uses').toEqual([]);
    expect(new Set(botScopes).size).toBe(botScopes.length);
    expect(manifest.oauth_config?.scopes?.user).toBeUndefined();
    expect(manifest.oauth_config?.redirect_urls).toBeUndefined();
  });
});
