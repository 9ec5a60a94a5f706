import { type Logger as BoltLogger, LogLevel } from '@slack/web-api';
import { type Logger, pino } from 'pino';

/** Keys whose values never reach a log line, wherever they appear (any depth). */
const REDACTED_KEYS = new Set([
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
function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = REDACTED_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** Log bytes held for a stalled stdout before lines are dropped (the heap is capped: src/node-flags.ts). */
const MAX_BUFFERED_LOG_BYTES = 8 * 1024 * 1024;

/**
 * Each write to stdout carries whole lines and at most this many bytes: on a pipe such a write is
 * atomic, so the lines of the bot's two threads (each with its own logger) never run into each other.
 */
const PIPE_BUF = 4096;

/**
 * Lines wait in memory until this many bytes are held (or LOG_FLUSH_MS pass), then go out in one
 * write: one write per line cost the thread that answers Slack most of its time under load (an
 * asynchronous write still hands each line to libuv's pool). Below PIPE_BUF, as sonic-boom requires.
 */
const LOG_BATCH_BYTES = 3 * 1024;

/** The longest a line waits for others before it is written anyway. */
const LOG_FLUSH_MS = 250;

/** The options of the stdout destination (and of a file, for tests): batched, asynchronous, whole lines per write. */
export function logDestination(dest: number | string = 1) {
  return pino.destination({
    dest,
    sync: false,
    minLength: LOG_BATCH_BYTES,
    periodicFlush: LOG_FLUSH_MS,
    maxLength: MAX_BUFFERED_LOG_BYTES,
    maxWrite: PIPE_BUF,
  });
}

/**
 * JSON lines to `destination`, or to stdout. On stdout the writes are asynchronous and batched
 * (logDestination): a line waits up to LOG_FLUSH_MS for others, and pino flushes what is left
 * when the process exits; the work thread flushes its own before it ends (flushLog). A kill can
 * lose the last lines, and if stdout stops taking them, lines past 8 MB are dropped rather than
 * held without bound. Nothing depends on them: the audit trail is the table, not the log.
 */
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
    destination ?? logDestination(),
  );
}

/**
 * Writes out at once what the logger still holds. pino does so for the main thread when the
 * process exits; a worker thread calls this before it ends, or its last lines are lost.
 */
export function flushLog(log: Logger): void {
  const stream = (log as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym];
  try {
    stream?.flushSync?.();
  } catch {
    // Not open yet or already closed: nothing is held to write.
  }
}

const SECRET_PATTERN = /(xox[abposre]-[\w-]+|xapp-[\w-]+|https:\/\/hooks\.slack\.com\/[\w/.-]+)/g;
/** `"trigger_id":"…"`, `response_url=…` and the like inside free text (e.g. an SDK's debug dump of a request body). */
const SECRET_FIELD_PATTERN = /("?(?:token|trigger_id|response_url|signing_secret|client_secret)"?\s*[:=]\s*)("[^"]*"|[^\s,&}]+)/gi;

/** Removes anything token-shaped, and the values of secret fields, from free text. */
export function scrub(text: string): string {
  return text.replace(SECRET_PATTERN, '[redacted]').replace(SECRET_FIELD_PATTERN, '$1"[redacted]"');
}

const LEVEL_ORDER: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Bolt's and the Web API client's logger interface on top of pino: honours its level, scrubs text. */
export function boltLogger(log: Logger, initial: LogLevel = LogLevel.INFO): BoltLogger {
  let level: LogLevel = initial;
  const line = (args: unknown[]) =>
    scrub(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  const enabled = (at: LogLevel) => (LEVEL_ORDER[at] ?? 0) >= (LEVEL_ORDER[level] ?? 0);
  return {
    debug: (...args) => {
      if (enabled(LogLevel.DEBUG)) log.debug({ source: 'slack' }, line(args));
    },
    info: (...args) => {
      if (enabled(LogLevel.INFO)) log.info({ source: 'slack' }, line(args));
    },
    warn: (...args) => {
      if (enabled(LogLevel.WARN)) log.warn({ source: 'slack' }, line(args));
    },
    error: (...args) => log.error({ source: 'slack' }, line(args)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
