/**
 * doctor's Slack mode check: the mode the tokens pick (Socket Mode with SLACK_APP_TOKEN, else
 * HTTP mode) against the one manifest.yml sets up, on the project's own manifest and on the
 * HTTP-mode manifest the README's steps make of it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSlack, checkSlackMode, manifestSlackMode, type SlackApi } from '../../src/doctor/checks.js';
import { ROOT } from '../support/source-scan.js';

const MANIFEST = readFileSync(`${ROOT}/manifest.yml`, 'utf8');
const ENDPOINT = 'https://bot.corp.example/slack/events';

/** manifest.yml made HTTP-mode as the README says: Socket Mode off, the two request URLs uncommented and filled in. */
function httpManifest(url = ENDPOINT): string {
  return MANIFEST.replace('socket_mode_enabled: true', 'socket_mode_enabled: false').replace(
    /^(\s*)#\s*((?:url|request_url): )https:\/\/<host>\/slack\/events$/gm,
    `$1$2${url}`,
  );
}

const socket = { slack: { mode: 'socket' as const, signingSecret: undefined } };
const socketAndSecret = { slack: { mode: 'socket' as const, signingSecret: 'secret' } };
const http = { slack: { mode: 'http' as const, signingSecret: 'secret' } };
const manifest = (text: string) => ({ source: 'manifest.yml', text });

describe('manifestSlackMode', () => {
  it('reads the project manifest as Socket Mode, its request URLs commented out', () => {
    expect(manifestSlackMode(MANIFEST)).toEqual({
      socketModeEnabled: true,
      requestUrls: [
        { what: 'the slash command /request-billing (url)', url: undefined },
        { what: 'interactivity (request_url)', url: undefined },
        { what: 'event subscriptions (request_url)', url: undefined },
      ],
    });
  });

  it('reads the HTTP-mode manifest: Socket Mode off, every URL', () => {
    const mode = manifestSlackMode(httpManifest());
    expect(mode.socketModeEnabled).toBe(false);
    expect(mode.requestUrls.map((r) => r.url)).toEqual([ENDPOINT, ENDPOINT, ENDPOINT]);
  });

  it('takes a manifest that does not say as Socket Mode off (Slack’s default); refuses text that is not YAML', () => {
    expect(manifestSlackMode('display_information:\n  name: x\n').socketModeEnabled).toBe(false);
    expect(() => manifestSlackMode('settings: [socket\n')).toThrow();
  });
});

describe('checkSlackMode', () => {
  it('✓ Socket Mode with the manifest’s default; notes an unused signing secret', () => {
    const line = checkSlackMode(socket, manifest(MANIFEST));
    expect(line).toMatchObject({ section: 'Slack', status: 'ok', title: 'Slack mode matches manifest.yml' });
    expect(line.detail).toBe('Socket Mode: SLACK_APP_TOKEN is set and manifest.yml has socket_mode_enabled: true');
    expect(checkSlackMode(socketAndSecret, manifest(MANIFEST)).detail).toMatch(/; SLACK_SIGNING_SECRET is set but unused in Socket Mode$/);
  });

  it('✗ only a signing secret against the Socket Mode manifest: commands go nowhere; the fix names both ways', () => {
    const line = checkSlackMode(http, manifest(MANIFEST));
    expect(line.status).toBe('fail');
    expect(line.detail).toMatch(/only SLACK_SIGNING_SECRET is set, so the bot runs in HTTP mode .* socket_mode_enabled: true: .* go nowhere/);
    expect(line.fix).toMatch(/set SLACK_APP_TOKEN to an app-level token \(xapp-…/);
    expect(line.fix).toMatch(/socket_mode_enabled: false and the slash command’s url and the request_url of interactivity and of event subscriptions/);
  });

  it('✗ an app token against a manifest with Socket Mode off, with the fix', () => {
    const line = checkSlackMode(socket, manifest(httpManifest()));
    expect(line.status).toBe('fail');
    expect(line.detail).toMatch(/SLACK_APP_TOKEN is set, so the bot runs in Socket Mode, but manifest.yml has socket_mode_enabled: false/);
    expect(line.fix).toMatch(/set socket_mode_enabled: true in manifest.yml .*; for HTTP mode instead, unset SLACK_APP_TOKEN and set SLACK_SIGNING_SECRET/);
  });

  it('✓ HTTP mode against the HTTP-mode manifest, naming where Slack posts', () => {
    const line = checkSlackMode(http, manifest(httpManifest()));
    expect(line).toMatchObject({
      status: 'ok',
      detail: `HTTP mode: manifest.yml has socket_mode_enabled: false and sends slash commands and clicks to ${ENDPOINT}`,
    });
  });

  it('✗ HTTP mode with a request URL missing, still the placeholder, or off /slack/events', () => {
    const noUrls = MANIFEST.replace('socket_mode_enabled: true', 'socket_mode_enabled: false');
    const missing = checkSlackMode(http, manifest(noUrls));
    expect(missing.status).toBe('fail');
    expect(missing.detail).toMatch(
      /names no request URL for the slash command \/request-billing \(url\) or interactivity \(request_url\) or event subscriptions \(request_url\)/,
    );

    const placeholder = checkSlackMode(http, manifest(httpManifest('https://<host>/slack/events')));
    expect(placeholder.status).toBe('fail');
    expect(placeholder.detail).toMatch(/still has the placeholder https:\/\/<host>\/slack\/events/);

    const elsewhere = checkSlackMode(http, manifest(httpManifest('https://bot.corp.example/slack/commands')));
    expect(elsewhere.status).toBe('fail');
    expect(elsewhere.detail).toMatch(/the bot listens on \/slack\/events/);
  });

  it('⚠ could not check a manifest that is not YAML', () => {
    const line = checkSlackMode(http, manifest('settings: [socket\n'));
    expect(line.status).toBe('warn');
    expect(line.detail).toMatch(/^could not check: manifest.yml is not YAML/);
  });
});

describe('checkSlack with a manifest', () => {
  /** A Slack that refuses the bot token: the mode line does not depend on Slack and still comes first. */
  const refusing: SlackApi = {
    apiCall: () => Promise.reject(Object.assign(new Error('An API error occurred: invalid_auth'), { data: { error: 'invalid_auth' } })),
  };

  it('puts the mode line first, even when the token does not work; leaves it out without a manifest', async () => {
    const config = {
      ...http,
      slack: { ...http.slack, apiUrl: 'https://slack.com/api/' },
      adminChannelId: 'C0ADMINS',
      adminUserIds: ['U0ADMIN'],
      adminUsergroupId: undefined,
    };
    const required = { scopes: ['commands'], source: 'manifest.yml' };
    const withManifest = await checkSlack({ config, slack: refusing, required, manifest: manifest(MANIFEST) });
    expect(withManifest[0]).toMatchObject({ title: 'Slack mode matches manifest.yml', status: 'fail' });
    expect(withManifest[1]).toMatchObject({ title: 'bot token', status: 'fail' });
    const without = await checkSlack({ config, slack: refusing, required });
    expect(without.some((r) => r.title.startsWith('Slack mode'))).toBe(false);
  });
});
