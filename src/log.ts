import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { type Logger, pino } from 'pino';

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACTED_KEYS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'response_url',
  'responseUrl',
  'trigger_id',
  'triggerId',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.response_url',
  '*.trigger_id',
  '*.signingSecret',
];

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'billing-access-bot' },
      redact: { paths: REDACTED_KEYS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? process.stdout,
  );
}

const SECRET_PATTERN = /(xox[abposr]-[\w-]+|xapp-[\w-]+|https:\/\/hooks\.slack\.com\/[\w/.-]+)/g;

/** Removes anything token-shaped from free text (Bolt's own log lines). */
export function scrub(text: string): string {
  return text.replace(SECRET_PATTERN, '[redacted]');
}

/** Bolt's logger interface on top of pino, scrubbing token-shaped text. */
export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const line = (args: unknown[]) =>
    scrub(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  return {
    debug: (...args) => log.debug({ source: 'bolt' }, line(args)),
    info: (...args) => log.info({ source: 'bolt' }, line(args)),
    warn: (...args) => log.warn({ source: 'bolt' }, line(args)),
    error: (...args) => log.error({ source: 'bolt' }, line(args)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
