import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { boltLogger, createLogger, flushLog, logDestination, scrub } from '../../src/log.js';

const BOT_TOKEN = 'xoxb-1111-2222-SeCrEtBoTtOkEn';
const APP_TOKEN = 'xapp-1-A0111-3333-SeCrEtApPtOkEn';
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0001/123456/SeCrEtReSpOnSe';
const TRIGGER_ID = '1234567.98765.SeCrEtTrIgGeR';
const VERIFICATION_TOKEN = 'SeCrEtVeRiFiCaTiOn';
const SIGNING_SECRET = 'SeCrEtSiGnInG';
const SECRETS = [BOT_TOKEN, APP_TOKEN, RESPONSE_URL, TRIGGER_ID, VERIFICATION_TOKEN, SIGNING_SECRET];

/** A logger writing to memory; `output()` is everything written so far. */
function memoryLogger(level = 'debug') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger(level, stream);
  return {
    log,
    output: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toContain('SeCrEt');
}

describe('createLogger redaction', () => {
  it('writes JSON lines with the message and the service name', () => {
    const { log, lines } = memoryLogger();
    log.info({ event: 'started', port: 3000 }, 'hello');
    const [line] = lines();
    expect(line).toMatchObject({ msg: 'hello', event: 'started', port: 3000, service: 'billing-access-bot' });
  });

  it('never shows top-level token, response_url, trigger_id or signingSecret', () => {
    const { log, output, lines } = memoryLogger();
    log.info({ token: BOT_TOKEN, response_url: RESPONSE_URL, trigger_id: TRIGGER_ID, signingSecret: SIGNING_SECRET, kept: 'visible' }, 'payload');
    expectNoSecrets(output());
    const [line] = lines();
    expect(line).toMatchObject({ token: '[redacted]', response_url: '[redacted]', trigger_id: '[redacted]', signingSecret: '[redacted]', kept: 'visible' });
  });

  it('never shows the camelCase variants', () => {
    const { log, output } = memoryLogger();
    log.info({ botToken: BOT_TOKEN, appToken: APP_TOKEN, responseUrl: RESPONSE_URL, triggerId: TRIGGER_ID }, 'config');
    expectNoSecrets(output());
  });

  it('never shows a token nested in a body', () => {
    const { log, output, lines } = memoryLogger();
    log.warn({ body: { token: VERIFICATION_TOKEN, command: '/request-billing', response_url: RESPONSE_URL, trigger_id: TRIGGER_ID } }, 'slash command');
    expectNoSecrets(output());
    expect(lines()[0]).toMatchObject({ body: { token: '[redacted]', command: '/request-billing' } });
  });

  it('never shows a nested signingSecret or an authorization header', () => {
    const { log, output } = memoryLogger();
    log.info({ slack: { signingSecret: SIGNING_SECRET }, headers: { authorization: `Bearer ${BOT_TOKEN}` } }, 'wiring');
    expectNoSecrets(output());
  });

  it('never shows a token nested two levels deep (redaction "wherever they appear")', () => {
    const { log, output } = memoryLogger();
    log.info({ req: { body: { token: VERIFICATION_TOKEN, response_url: RESPONSE_URL, trigger_id: TRIGGER_ID } } }, 'incoming');
    expectNoSecrets(output());
  });

  it('redacts in child loggers too', () => {
    const { log, output } = memoryLogger();
    log.child({ requestId: 'R1' }).error({ token: BOT_TOKEN, body: { token: VERIFICATION_TOKEN } }, 'failed');
    expectNoSecrets(output());
    expect(output()).toContain('R1');
  });

  it('respects the level', () => {
    const { log, output } = memoryLogger('warn');
    log.info('quiet');
    log.warn('loud');
    expect(output()).not.toContain('quiet');
    expect(output()).toContain('loud');
  });
});

describe('scrub', () => {
  it('removes xoxb- and xapp- tokens from free text', () => {
    const text = scrub(`auth with ${BOT_TOKEN} and socket ${APP_TOKEN} failed`);
    expect(text).toBe('auth with [redacted] and socket [redacted] failed');
  });

  it('removes user and other Slack token kinds and response URLs', () => {
    const text = scrub(`xoxp-1-2-abc xoxa-2-def xoxr-ghi posting to ${RESPONSE_URL}`);
    expect(text).not.toMatch(/xox[apr]-/);
    expect(text).not.toContain('SeCrEtReSpOnSe');
  });

  it('removes a token inside JSON and URLs', () => {
    const text = scrub(JSON.stringify({ headers: { Authorization: `Bearer ${BOT_TOKEN}` }, url: `https://x.example/?token=${BOT_TOKEN}` }));
    expect(text).not.toContain(BOT_TOKEN);
    expect(text).not.toContain('SeCrEt');
  });

  it('leaves ordinary text unchanged', () => {
    const text = 'approved request 01HZY3K4M5N6P7Q8R9S0T1V2W3 for <@U012ABCDEF>, xox is not a token';
    expect(scrub(text)).toBe(text);
  });
});

describe('boltLogger', () => {
  it('scrubs tokens from Bolt log lines of any argument type', () => {
    const { log, output } = memoryLogger();
    const bolt = boltLogger(log);
    bolt.error(`An API error occurred: token ${BOT_TOKEN}`);
    bolt.warn({ token: BOT_TOKEN, appToken: APP_TOKEN });
    bolt.info(new Error(`socket failed for ${APP_TOKEN}`));
    bolt.debug('posting to', RESPONSE_URL);
    expectNoSecrets(output());
    expect(output()).toContain('An API error occurred');
    expect(output()).toContain('"source":"slack"');
  });
});

describe('the log destination', () => {
  it('writes lines that come a millisecond apart together, not one write each, and flushLog writes out what it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-batch-'));
    try {
      const file = join(dir, 'bot.log');
      const destination = logDestination(file);
      await once(destination, 'ready');
      const written: number[] = [];
      // A periodic flush with nothing held writes 0 bytes: only writes that carried lines count.
      destination.on('write', (n: number) => n > 0 && written.push(n));
      const log = createLogger('info', destination as unknown as NodeJS.WritableStream);
      // Each line after the last one's write had time to finish: written one at a time, these were 20 writes.
      for (let i = 0; i < 20; i++) {
        log.info({ event: 'line', i });
        await sleep(1);
      }
      expect(written.length).toBeLessThanOrEqual(1);
      flushLog(log);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(20).keys()]);
      destination.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flushLog leaves a logger that holds nothing, or writes elsewhere, as it is', () => {
    const chunks: string[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, callback) {
          chunks.push(String(chunk));
          callback();
        },
      }),
    );
    log.info({ event: 'x' });
    expect(() => flushLog(log)).not.toThrow();
    expect(chunks).toHaveLength(1);
  });
});
