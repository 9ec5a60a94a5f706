import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { type Logger, pino } from 'pino';

/** Keys whose values never reach a log line, wherever they appear (any depth). */
export const REDACTED_KEYS = new Set([
  'token',
  'bottoken',
  'apptoken',
  'signingsecret',
  'response_url',
  'responseurl',
  'trigger_id',
  'triggerid',
  'authorization',
  'x-slack-signature',
  'secretaccesskey',
  'sessiontoken',
]);

export type { Logger };

/** Copies a log object with secret keys masked and token-shaped strings scrubbed, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = REDACTED_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'billing-access-bot' },
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      hooks: {
        // The message string is scrubbed too: free text may carry a token-shaped value.
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? process.stdout,
  );
}

const SECRET_PATTERN = /(xox[abposre]-[\w-]+|xapp-[\w-]+|https:\/\/hooks\.slack\.com\/[\w/.-]+)/g;

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
