/**
 * A loopback proxy between the bot and the Slack stand-in, for the two faults the stand-in itself
 * cannot give: a call Slack carried out whose answer never reached the bot (the stand-in's own
 * `hang` drops the call undone), and a call held at the edge until the test lets it through (a
 * deterministic point for overlap tests). Everything else passes through unchanged, so the
 * stand-in still records every call it carried out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Match = (args: Record<string, unknown>) => boolean;

interface Armed {
  method: string;
  when: Match | undefined;
  left: number;
}

/** Form or JSON arguments of a Web API call, as the stand-in reads them. */
function argsOf(req: IncomingMessage, raw: string): Record<string, unknown> {
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function take(list: Armed[], method: string, args: Record<string, unknown>): boolean {
  const hit = list.find((a) => a.method === method && a.left > 0 && (a.when === undefined || a.when(args)));
  if (!hit) return false;
  hit.left -= 1;
  return true;
}

export class SlackRelay {
  private answersHeld: Armed[] = [];
  private gates: Armed[] = [];
  private waiting: (() => void)[] = [];
  private heldCount = 0;
  private gatedCount = 0;

  private constructor(
    private readonly server: Server,
    private readonly upstream: string,
    /** The Web API base URL to give the bot (ends in `/api/`). */
    readonly apiUrl: string,
  ) {}

  /** A relay in front of `upstreamApiUrl` (the stand-in's `apiUrl`). */
  static async start(upstreamApiUrl: string): Promise<SlackRelay> {
    let relay: SlackRelay | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        (relay as SlackRelay).handle(req, res, Buffer.concat(chunks)).catch(() => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new SlackRelay(server, upstreamApiUrl, `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`);
    return relay;
  }

  /**
   * The next `times` calls of `method` (every one until `clear` when unset) that `when` passes
   * are carried out by Slack, and their answer is held until the client gave up waiting.
   */
  holdAnswers(method: string, options: { times?: number; when?: Match } = {}): void {
    this.answersHeld.push({ method, when: options.when, left: options.times ?? Number.POSITIVE_INFINITY });
  }

  /** Calls of `method` that `when` passes wait at the relay, not yet sent on, until `open()`. */
  gate(method: string, when?: Match): void {
    this.gates.push({ method, when, left: Number.POSITIVE_INFINITY });
  }

  /** Sends every call waiting at a gate on, and lets later ones pass. */
  open(): void {
    this.gates = [];
    for (const go of this.waiting.splice(0)) go();
  }

  /** Calls Slack carried out whose answer was held. */
  get answersWithheld(): number {
    return this.heldCount;
  }

  /** Calls that arrived at a gate (waiting or since sent on). */
  get gated(): number {
    return this.gatedCount;
  }

  /** Disarms held answers and opens the gates. */
  clear(): void {
    this.answersHeld = [];
    this.open();
    this.heldCount = 0;
    this.gatedCount = 0;
  }

  async stop(): Promise<void> {
    this.open();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const path = req.url ?? '/';
    const method = path.startsWith('/api/') ? decodeURIComponent(path.slice('/api/'.length).split('?')[0] ?? '') : '';
    const args = argsOf(req, body.toString('utf8'));
    if (take(this.gates, method, args)) {
      this.gatedCount += 1;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const holdAnswer = take(this.answersHeld, method, args);
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(new URL(method, this.upstream), { method: req.method ?? 'POST', headers, body: body.length > 0 ? body : undefined });
    const text = await answer.text();
    if (holdAnswer) {
      this.heldCount += 1;
      // Slack did the work; the answer waits until the client has given up (or 10 s at most).
      await new Promise<void>((resolve) => {
        if (res.destroyed || req.socket.destroyed) return resolve();
        const timer = setTimeout(resolve, 10_000);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return;
    }
    const out: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
    const retryAfter = answer.headers.get('retry-after');
    if (retryAfter) out['retry-after'] = retryAfter;
    res.writeHead(answer.status, out);
    res.end(text);
  }
}
