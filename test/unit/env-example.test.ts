/**
 * `.env.example` as a first-time user copies it: with the four REQUIRED values filled in it
 * starts in Socket Mode, the mode manifest.yml sets up; with the signing secret instead it is
 * HTTP mode; with neither Slack mode's value, the refusal names both.
 */
import { readFileSync } from 'node:fs';
import { parse as parseEnv } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT } from '../support/source-scan.js';

const EXAMPLE = readFileSync(`${ROOT}/.env.example`, 'utf8');
const MANIFEST = parseYaml(readFileSync(`${ROOT}/manifest.yml`, 'utf8')) as { settings?: { socket_mode_enabled?: boolean } };

/** The copied file with these values filled in (everything else as shipped). */
function filledIn(values: Record<string, string>): Record<string, string> {
  return { ...parseEnv(EXAMPLE), ...values };
}

const REQUIRED = { SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef', ADMIN_CHANNEL_ID: 'C0ADMINS', ADMIN_USER_IDS: 'U0ADMIN' };

describe('.env.example', () => {
  it('marks exactly the four values a first run needs, the Slack mode’s two as one choice', () => {
    const required = EXAMPLE.split('\n').filter((l) => l.startsWith('# REQUIRED'));
    expect(required).toHaveLength(4);
    expect(required.filter((l) => /one of the next two/.test(l))).toHaveLength(1);
    // The choice comes just before SLACK_APP_TOKEN and SLACK_SIGNING_SECRET, Socket Mode first.
    const names = EXAMPLE.split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.slice(0, l.indexOf('=')));
    expect(names.slice(0, 3)).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET']);
  });

  it('filled in with the app token, starts in Socket Mode, which manifest.yml sets up', () => {
    const config = loadConfig(filledIn({ ...REQUIRED, SLACK_APP_TOKEN: 'xapp-1-A111-222-abc' }));
    expect(config.slack.mode).toBe('socket');
    expect(MANIFEST.settings?.socket_mode_enabled).toBe(true);
    expect(config.iamMode).toBe('dry-run');
    expect(config.store).toBe('embedded');
  });

  it('filled in with the signing secret instead, starts in HTTP mode', () => {
    expect(loadConfig(filledIn({ ...REQUIRED, SLACK_SIGNING_SECRET: 'secret' })).slack.mode).toBe('http');
  });

  it('with neither, refuses with one problem naming both choices', () => {
    let problems: string[] = [];
    try {
      loadConfig(filledIn(REQUIRED));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SLACK_APP_TOKEN \/ SLACK_SIGNING_SECRET: .*Socket Mode.*HTTP mode/);
  });
});
