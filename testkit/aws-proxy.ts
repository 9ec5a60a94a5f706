/**
 * A loopback HTTP proxy in front of the AWS emulator that counts the actions passing through
 * (IAM's `Action=` form field, DynamoDB's `X-Amz-Target`) and can hold a chosen action until
 * released or dropped: a deterministic point for race and crash tests. It can also answer an
 * IAM action with an error instead of forwarding it, so the bot meets AWS faults (access
 * denied, throttling) exactly as the SDK surfaces them.
 */
import { randomUUID } from 'node:crypto';
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

/** An error the proxy answers in place of the emulator, in IAM's Query-protocol shape. */
export interface InjectedError {
  /** HTTP status, e.g. 403 for AccessDenied, 400 for Throttling, 500 for ServiceFailure. */
  status: number;
  /** IAM's error code: the SDK makes it the thrown error's `name`. */
  code: string;
  message: string;
  /** Who is at fault, as IAM says it; Sender unless given. */
  type?: 'Sender' | 'Receiver';
}

/** What becomes of a request once any hold on its action is lifted. */
type Verdict = 'forward' | 'drop';

export class AwsProxy {
  /** Every request that arrived, whatever became of it (forwarded, failed, dropped). */
  private readonly counts = new Map<string, number>();
  private readonly forwards = new Map<string, number>();
  private readonly drops = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private readonly holds = new Map<string, { waiting: ((verdict: Verdict) => void)[]; arrived: number }>();
  private readonly failures = new Map<string, { error: InjectedError; left: number }>();

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
        const self = proxy as AwsProxy;
        // Runs at once, or when a hold on the action is lifted; synchronously either way, so the
        // counts are final as soon as release() or drop() returns.
        self.arrive(action, (verdict) => {
          if (verdict === 'drop') {
            // As if the connection broke before the call left: the caller sees a reset, the emulator nothing.
            bump(self.drops, action);
            req.socket.destroy();
            return;
          }
          // Taken only when the request would leave: a held call meets the failure armed by its release.
          const failure = self.takeFailure(action);
          if (failure) {
            bump(self.injected, action);
            answerError(res, failure);
            return;
          }
          bump(self.forwards, action);
          forward(upstream, req, req.headers, body, res);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new AwsProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  private arrive(action: string, proceed: (verdict: Verdict) => void): void {
    bump(this.counts, action);
    const hold = this.holds.get(action);
    if (!hold) {
      proceed('forward');
      return;
    }
    hold.arrived += 1;
    hold.waiting.push(proceed);
  }

  private takeFailure(action: string): InjectedError | undefined {
    const failure = this.failures.get(action);
    if (!failure) return undefined;
    failure.left -= 1;
    if (failure.left <= 0) this.failures.delete(action);
    return failure.error;
  }

  /** Requests for `action` that arrived at the proxy (forwarded, failed, dropped or still held). */
  count(action: string): number {
    return this.counts.get(action) ?? 0;
  }

  /** Requests for `action` sent on to the emulator: the calls that reached IAM (or DynamoDB). */
  forwarded(action: string): number {
    return this.forwards.get(action) ?? 0;
  }

  /** Held requests for `action` that `drop` cut off: they never reached the emulator. */
  dropped(action: string): number {
    return this.drops.get(action) ?? 0;
  }

  /** Requests for `action` answered with an injected error (`failNext`) instead of being forwarded. */
  failed(action: string): number {
    return this.injected.get(action) ?? 0;
  }

  /**
   * The next `times` requests for `action` (default 1; `Infinity` for all until `clearFailures`)
   * are answered with `error` in IAM's Query-protocol shape and never reach the emulator. The
   * SDK retries throttling and 5xx errors by itself (the bot's IAM client makes up to 5
   * attempts): arm enough answers for every attempt when the error is one it retries.
   */
  failNext(action: string, error: InjectedError, options: { times?: number } = {}): void {
    const times = options.times ?? 1;
    if (!(times >= 1)) throw new Error(`failNext(${action}) needs times >= 1, not ${times}`);
    this.failures.set(action, { error, left: times });
  }

  /** Disarms every failure `failNext` armed that has not been used up. */
  clearFailures(): void {
    this.failures.clear();
  }

  /** From now on, requests for `action` wait until `release(action)`. */
  hold(action: string): void {
    this.holds.set(action, { waiting: [], arrived: 0 });
  }

  /** How many held requests for `action` are waiting. */
  held(action: string): number {
    return this.holds.get(action)?.arrived ?? 0;
  }

  /** Sends the held requests for `action` on and stops holding it. */
  release(action: string): void {
    this.settle(action, 'forward');
  }

  /**
   * Cuts the held requests for `action` off instead of forwarding them (their connections are
   * destroyed, the emulator never sees them) and stops holding it: later requests pass. For a
   * crash test where the call must never have reached AWS, even after its caller was killed.
   */
  drop(action: string): void {
    this.settle(action, 'drop');
  }

  private settle(action: string, verdict: Verdict): void {
    const hold = this.holds.get(action);
    this.holds.delete(action);
    for (const go of hold?.waiting ?? []) go(verdict);
  }

  resetCounts(): void {
    this.counts.clear();
    this.forwards.clear();
    this.drops.clear();
    this.injected.clear();
  }

  async stop(): Promise<void> {
    for (const action of [...this.holds.keys()]) this.release(action);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function bump(counter: Map<string, number>, action: string): void {
  counter.set(action, (counter.get(action) ?? 0) + 1);
}

/** IAM's Query-protocol error document, as AWS sends it (the SDK reads Error/Code and Error/Message). */
function answerError(res: ServerResponse, error: InjectedError): void {
  const requestId = randomUUID();
  const body =
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' +
    `<Error><Type>${error.type ?? 'Sender'}</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    '</ErrorResponse>';
  res.writeHead(error.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  res.end(body);
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function actionOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.indexOf('.') + 1);
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}
