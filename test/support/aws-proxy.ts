/**
 * A loopback HTTP proxy in front of the AWS emulator that counts the actions passing through
 * (IAM's `Action=` form field, DynamoDB's `X-Amz-Target`) and can hold a chosen action until
 * released: a deterministic point for race and crash tests.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Sends `body` on to `upstream` as `req` came (with `headers`), answers `res` with the upstream's
 * answer (502 if it could not be reached), and hands that answer to `seen`, if given.
 */
export function forward(
  upstream: URL,
  req: IncomingMessage,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  res: ServerResponse,
  seen?: (status: number, headers: IncomingHttpHeaders, body: Buffer) => void,
): void {
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upstreamRes) => {
    const parts: Buffer[] = [];
    upstreamRes.on('data', (c: Buffer) => parts.push(c));
    upstreamRes.on('end', () => {
      const raw = Buffer.concat(parts);
      const status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, upstreamRes.headers);
      res.end(raw);
      seen?.(status, upstreamRes.headers, raw);
    });
  });
  out.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  out.end(body);
}

export class AwsProxy {
  private readonly counts = new Map<string, number>();
  private readonly holds = new Map<string, { waiting: (() => void)[]; arrived: number }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<AwsProxy> {
    let proxy: AwsProxy | undefined;
    const upstream = new URL(target);
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const action = actionOf(req, body.toString('utf8'));
        void (proxy as AwsProxy).arrive(action).then(() => {
          forward(upstream, req, req.headers, body, res);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new AwsProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  private async arrive(action: string): Promise<void> {
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
    const hold = this.holds.get(action);
    if (!hold) return;
    hold.arrived += 1;
    await new Promise<void>((resolve) => hold.waiting.push(resolve));
  }

  count(action: string): number {
    return this.counts.get(action) ?? 0;
  }

  /** From now on, requests for `action` wait until `release(action)`. */
  hold(action: string): void {
    this.holds.set(action, { waiting: [], arrived: 0 });
  }

  /** How many held requests for `action` are waiting. */
  held(action: string): number {
    return this.holds.get(action)?.arrived ?? 0;
  }

  release(action: string): void {
    const hold = this.holds.get(action);
    this.holds.delete(action);
    for (const go of hold?.waiting ?? []) go();
  }

  resetCounts(): void {
    this.counts.clear();
  }

  async stop(): Promise<void> {
    for (const action of [...this.holds.keys()]) this.release(action);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function actionOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.indexOf('.') + 1);
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}
