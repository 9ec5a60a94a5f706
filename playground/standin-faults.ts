/**
 * Faults the Slack stand-in can answer a Web API method with, for the reliability tests: a Slack
 * error (`{ ok: false, error }` on HTTP 200, as slack.com answers `channel_not_found`), a rate
 * limit (HTTP 429 with `Retry-After: n` and `{ ok: false, error: 'ratelimited' }`), an HTTP
 * error status (a 5xx from Slack's edge), or a hang (the answer is held for `ms`; when the
 * client gives up first, the call is dropped undone, as a request lost on the way would be).
 *
 * Each fault is set for one method, optionally only for calls whose arguments match, and
 * answers `times` calls (every call until cleared when `times` is not given).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Fault =
  | { kind: 'error'; error: string }
  | { kind: 'ratelimited'; retryAfterSeconds: number }
  | { kind: 'http'; status: number }
  | { kind: 'hang'; ms: number };

export interface FaultOptions {
  /** How many calls answer with the fault; every call until cleared when unset. */
  times?: number;
  /** Only calls whose arguments pass this (e.g. `(a) => a.channel === 'U0EMPLOYEE'` for a DM). */
  when?: (args: Record<string, unknown>) => boolean;
}

interface Armed {
  fault: Fault;
  left: number;
  when: ((args: Record<string, unknown>) => boolean) | undefined;
}

/** The faults armed per method; the first one that matches a call answers it. */
export class FaultTable {
  private readonly armed = new Map<string, Armed[]>();

  set(method: string, fault: Fault, options: FaultOptions = {}): void {
    const list = this.armed.get(method) ?? [];
    list.push({ fault, left: options.times ?? Number.POSITIVE_INFINITY, when: options.when });
    this.armed.set(method, list);
  }

  /** Clears the faults of one method, or of every method. */
  clear(method?: string): void {
    if (method === undefined) this.armed.clear();
    else this.armed.delete(method);
  }

  /** The fault answering this call, if any (counts it). */
  take(method: string, args: Record<string, unknown>): Fault | undefined {
    const list = this.armed.get(method);
    const hit = list?.find((a) => a.left > 0 && (a.when === undefined || a.when(args)));
    if (!hit) return undefined;
    hit.left -= 1;
    return hit.fault;
  }
}

/** The `{ ok: false, error }` a fault stands for in the call log. */
export function faultError(fault: Fault): string {
  switch (fault.kind) {
    case 'error':
      return fault.error;
    case 'ratelimited':
      return 'ratelimited';
    case 'http':
      return `http_${fault.status}`;
    case 'hang':
      return 'timeout';
  }
}

/**
 * Answers a 429 or an HTTP error status (true: answered). Slack errors are answered by the
 * stand-in's dispatch like any reply; hangs by `hold`.
 */
export function answerHttpFault(fault: Fault, res: ServerResponse): boolean {
  if (fault.kind === 'ratelimited') {
    const text = JSON.stringify({ ok: false, error: 'ratelimited' });
    res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(fault.retryAfterSeconds) });
    res.end(text);
    return true;
  }
  if (fault.kind === 'http') {
    res.writeHead(fault.status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(fault.status === 503 ? 'Service Unavailable' : 'Internal Server Error');
    return true;
  }
  return false;
}

/**
 * Holds the answer `ms`, or until the client goes away; resolves true when the client is still
 * there to be answered.
 */
export function hold(ms: number, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const gone = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', gone);
      resolve(!req.destroyed && !res.destroyed);
    }, ms);
    res.once('close', gone);
  });
}
