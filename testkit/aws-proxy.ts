/**
 * A loopback HTTP proxy in front of the AWS emulator that counts the actions passing through
 * (IAM's `Action=` form field, DynamoDB's `X-Amz-Target`) and can hold a chosen action until
 * released or dropped: a deterministic point for race and crash tests. It also injects AWS
 * faults at the HTTP level, so the bot meets them exactly as the SDK surfaces them from AWS:
 * an error answer in the service's own shape (IAM's Query XML, DynamoDB's JSON), a call that
 * never answers (past the client's timeout), and a connection reset before or after the call
 * reached the emulator.
 *
 * moto implements no IAM access advisor: the proxy answers GenerateServiceLastAccessedDetails and
 * GetServiceLastAccessedDetails itself, from what the test set per IAM user (`accessAdvisor`); a
 * user nobody set anything for has never used a service. Everything else goes on to the emulator.
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

/** Hop-by-hop headers (RFC 9110 §7.6.1): about one connection, never passed on by a proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/**
 * The upstream's answer headers as the proxy passes them on: without the hop-by-hop ones (moto
 * answers every call with `Connection: close`; passed on, it would make the bot open a connection
 * per call, which AWS does not), and with the length of the body as buffered.
 */
function endToEndHeaders(headers: IncomingHttpHeaders, length: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  out['content-length'] = String(length);
  return out;
}

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
      res.writeHead(status, endToEndHeaders(upstreamRes.headers, raw.length));
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

/** Sends the request on to `upstream` and calls `done` once the upstream answered (or failed), without answering the caller. */
function sendOnly(upstream: URL, req: IncomingMessage, body: Buffer, done: () => void): void {
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
    upstreamRes.resume();
    upstreamRes.on('end', done);
  });
  out.on('error', done);
  out.end(body);
}

/**
 * An error the proxy answers in place of the emulator: in IAM's Query-protocol shape for a form
 * request, in DynamoDB's JSON shape (`{"__type":"com.amazonaws.dynamodb.v20120810#<code>"}`) for
 * a request with an `X-Amz-Target`.
 */
export interface InjectedError {
  /** HTTP status, e.g. 403 for AccessDenied, 400 for Throttling, 500 for ServiceFailure / InternalServerError. */
  status: number;
  /** The service's error code: the SDK makes it the thrown error's `name`. */
  code: string;
  message: string;
  /** Who is at fault, as IAM says it; Sender unless given (IAM only). */
  type?: 'Sender' | 'Receiver';
}

/**
 * A fault other than an error answer:
 * - `stall`: the call is never answered nor forwarded (the client's timeout must end it);
 * - `reset`: the connection is destroyed before the call leaves (the emulator never sees it);
 * - `reset-after`: the call is forwarded, and the connection destroyed instead of answering
 *   (the change reached AWS, the caller never learns it).
 */
export type InjectedFault = { kind: 'error'; error: InjectedError } | { kind: 'stall' } | { kind: 'reset' } | { kind: 'reset-after' };

/** Which requests of an action a fault is armed for, and how many. */
export interface FaultOptions {
  /** How many requests get the fault (default 1; `Infinity` for all until `clearFailures`). */
  times?: number;
  /**
   * Only requests whose raw body passes this (a DynamoDB JSON request, an IAM form) get the
   * fault; others pass as if nothing were armed. Without it, every request of the action.
   */
  match?: (body: string) => boolean;
}

/** What IAM access advisor knows of one IAM user, as a test sets it. */
export interface AccessAdvisorData {
  /** Service namespace (ce, billing, s3, …) → when the user last used it (ISO). A namespace not named was never used. */
  lastUsed?: Record<string, string>;
  /** Polls of a new job answered IN_PROGRESS before it completes (default 0: done at the first poll). */
  inProgressPolls?: number;
  /** The job ends FAILED with this error instead of completing. */
  failure?: { code: string; message: string };
}

/** The two access advisor actions the proxy answers itself. */
const ACCESS_ADVISOR_ACTIONS = new Set(['GenerateServiceLastAccessedDetails', 'GetServiceLastAccessedDetails']);
/** Namespaces every answer lists (as IAM lists each service the user's policies allow), used or not. */
const LISTED_NAMESPACES = ['aws-portal', 'billing', 'ce', 'budgets', 'iam'];

interface AdvisorJob {
  arn: string;
  userName: string;
  createdAt: string;
  data: AccessAdvisorData;
  polls: number;
}

/** What becomes of a request once any hold on its action is lifted. */
type Verdict = 'forward' | 'drop';

interface ArmedFault {
  action: string;
  fault: InjectedFault;
  left: number;
  match: ((body: string) => boolean) | undefined;
}

export class AwsProxy {
  /** Every request that arrived, whatever became of it (forwarded, failed, dropped). */
  private readonly counts = new Map<string, number>();
  private readonly forwards = new Map<string, number>();
  private readonly drops = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private readonly stalls = new Map<string, number>();
  private readonly resets = new Map<string, number>();
  private readonly holds = new Map<string, { waiting: ((verdict: Verdict) => void)[]; arrived: number }>();
  private armed: ArmedFault[] = [];
  /** Requests left unanswered by a stall, destroyed at stop() if their client has not given up. */
  private readonly stalled = new Set<IncomingMessage>();
  /** Access advisor's data by lowercased IAM user name (IAM compares names case-insensitively). */
  private readonly advisorData = new Map<string, AccessAdvisorData>();
  private readonly advisorJobs = new Map<string, AdvisorJob>();

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
        const text = body.toString('utf8');
        const action = actionOf(req, text);
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
          // Taken only when the request would leave: a held call meets the fault armed by its release.
          const fault = self.takeFault(action, text);
          switch (fault?.kind) {
            case 'error':
              bump(self.injected, action);
              answerError(req, res, fault.error);
              return;
            case 'stall':
              bump(self.stalls, action);
              self.stalled.add(req);
              req.socket.once('close', () => self.stalled.delete(req));
              return;
            case 'reset':
              bump(self.resets, action);
              req.socket.destroy();
              return;
            case 'reset-after':
              bump(self.resets, action);
              bump(self.forwards, action);
              sendOnly(upstream, req, body, () => req.socket.destroy());
              return;
            default:
              bump(self.forwards, action);
              if (ACCESS_ADVISOR_ACTIONS.has(action)) self.answerAccessAdvisor(action, text, res);
              else forward(upstream, req, req.headers, body, res);
          }
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

  private takeFault(action: string, body: string): InjectedFault | undefined {
    const armed = this.armed.find((a) => a.action === action && (!a.match || a.match(body)));
    if (!armed) return undefined;
    armed.left -= 1;
    if (armed.left <= 0) this.armed = this.armed.filter((a) => a !== armed);
    return armed.fault;
  }

  /** Requests for `action` that arrived at the proxy (forwarded, failed, dropped or still held). */
  count(action: string): number {
    return this.counts.get(operationOf(action)) ?? 0;
  }

  /** Requests for `action` sent on to the emulator: the calls that reached IAM (or DynamoDB), `reset-after` ones included. */
  forwarded(action: string): number {
    return this.forwards.get(operationOf(action)) ?? 0;
  }

  /** Held requests for `action` that `drop` cut off: they never reached the emulator. */
  dropped(action: string): number {
    return this.drops.get(operationOf(action)) ?? 0;
  }

  /** Requests for `action` answered with an injected error (`failNext`) instead of being forwarded. */
  failed(action: string): number {
    return this.injected.get(operationOf(action)) ?? 0;
  }

  /** Requests for `action` left unanswered by a `stall`. */
  stalledCount(action: string): number {
    return this.stalls.get(operationOf(action)) ?? 0;
  }

  /** Requests for `action` whose connection a `reset` or `reset-after` destroyed. */
  resetCount(action: string): number {
    return this.resets.get(operationOf(action)) ?? 0;
  }

  /**
   * The next `times` requests for `action` (default 1; `Infinity` for all until `clearFailures`)
   * are answered with `error` in the service's shape and never reach the emulator. `action` is
   * IAM's action (`AddUserToGroup`) or DynamoDB's operation, bare or as the target
   * (`UpdateItem`, `DynamoDB_20120810.UpdateItem`). The SDK retries throttling and 5xx errors by
   * itself (the bot's clients make up to 5 attempts): arm enough answers for every attempt when
   * the error is one it retries. Arming an action again without `match` replaces what was
   * armed for it without `match`.
   */
  failNext(action: string, error: InjectedError, options: FaultOptions = {}): void {
    this.faultNext(action, { kind: 'error', error }, options);
  }

  /** Arms any fault (an error, a stall, a reset) for the next `times` matching requests of `action`, as `failNext` does. */
  faultNext(action: string, fault: InjectedFault, options: FaultOptions = {}): void {
    const times = options.times ?? 1;
    if (!(times >= 1)) throw new Error(`faultNext(${action}) needs times >= 1, not ${times}`);
    const operation = operationOf(action);
    if (!options.match) this.armed = this.armed.filter((a) => a.action !== operation || a.match !== undefined);
    this.armed.push({ action: operation, fault, left: times, match: options.match });
  }

  /** Disarms every fault `failNext` or `faultNext` armed that has not been used up. */
  clearFailures(): void {
    this.armed = [];
  }

  /** From now on, requests for `action` wait until `release(action)`. */
  hold(action: string): void {
    this.holds.set(operationOf(action), { waiting: [], arrived: 0 });
  }

  /** How many held requests for `action` are waiting. */
  held(action: string): number {
    return this.holds.get(operationOf(action))?.arrived ?? 0;
  }

  /** Sends the held requests for `action` on and stops holding it. */
  release(action: string): void {
    this.settle(operationOf(action), 'forward');
  }

  /**
   * Cuts the held requests for `action` off instead of forwarding them (their connections are
   * destroyed, the emulator never sees them) and stops holding it: later requests pass. For a
   * crash test where the call must never have reached AWS, even after its caller was killed.
   */
  drop(action: string): void {
    this.settle(operationOf(action), 'drop');
  }

  private settle(action: string, verdict: Verdict): void {
    const hold = this.holds.get(action);
    this.holds.delete(action);
    for (const go of hold?.waiting ?? []) go(verdict);
  }

  /**
   * What access advisor says about `userName` from now on: jobs generated later use it. A user
   * nobody set anything for has never used a service.
   */
  accessAdvisor(userName: string, data: AccessAdvisorData): void {
    this.advisorData.set(userName.toLowerCase(), data);
  }

  /** Access advisor's two actions, answered in IAM's Query shape as AWS answers them. */
  private answerAccessAdvisor(action: string, body: string, res: ServerResponse): void {
    const params = new URLSearchParams(body);
    if (action === 'GenerateServiceLastAccessedDetails') {
      const arn = params.get('Arn') ?? '';
      const userName = /:user\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1];
      if (!userName) {
        answerQueryError(res, { status: 400, code: 'InvalidInput', message: `ARN ${arn} is not valid.` });
        return;
      }
      const jobId = randomUUID();
      const data = this.advisorData.get(userName.toLowerCase()) ?? {};
      this.advisorJobs.set(jobId, { arn, userName, createdAt: new Date().toISOString(), data, polls: 0 });
      answerQuery(res, action, leaf('JobId', jobId));
      return;
    }
    const job = this.advisorJobs.get(params.get('JobId') ?? '');
    if (!job) {
      answerQueryError(res, { status: 404, code: 'NoSuchEntity', message: `No job with id ${params.get('JobId')}.` });
      return;
    }
    job.polls += 1;
    const head = leaf('JobType', 'SERVICE_LEVEL') + leaf('JobCreationDate', job.createdAt);
    if (job.polls <= (job.data.inProgressPolls ?? 0)) {
      answerQuery(res, action, `${leaf('JobStatus', 'IN_PROGRESS')}${head}<ServicesLastAccessed/>`);
      return;
    }
    const done = head + leaf('JobCompletionDate', new Date().toISOString());
    if (job.data.failure) {
      const error = `<Error>${leaf('Message', job.data.failure.message)}${leaf('Code', job.data.failure.code)}</Error>`;
      answerQuery(res, action, `${leaf('JobStatus', 'FAILED')}${done}<ServicesLastAccessed/>${error}`);
      return;
    }
    const lastUsed = job.data.lastUsed ?? {};
    const namespaces = [...new Set([...LISTED_NAMESPACES, ...Object.keys(lastUsed)])].sort();
    const services = namespaces
      .map((namespace) => {
        const at = lastUsed[namespace];
        const used = at ? leaf('LastAuthenticated', at) + leaf('LastAuthenticatedEntity', job.arn) + leaf('LastAuthenticatedRegion', 'us-east-1') : '';
        return `<member>${leaf('ServiceName', `AWS ${namespace}`)}${leaf('ServiceNamespace', namespace)}${used}${leaf('TotalAuthenticatedEntities', at ? '1' : '0')}</member>`;
      })
      .join('');
    answerQuery(res, action, `${leaf('JobStatus', 'COMPLETED')}${done}<ServicesLastAccessed>${services}</ServicesLastAccessed>${leaf('IsTruncated', 'false')}`);
  }

  resetCounts(): void {
    this.counts.clear();
    this.forwards.clear();
    this.drops.clear();
    this.injected.clear();
    this.stalls.clear();
    this.resets.clear();
  }

  async stop(): Promise<void> {
    for (const action of [...this.holds.keys()]) this.release(action);
    for (const req of this.stalled) req.socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function bump(counter: Map<string, number>, action: string): void {
  counter.set(action, (counter.get(action) ?? 0) + 1);
}

/** The error answer in the shape of the service the request was for. */
function answerError(req: IncomingMessage, res: ServerResponse, error: InjectedError): void {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') answerJsonError(res, target, error);
  else answerQueryError(res, error);
}

/** An IAM Query-protocol answer: `<Action>Response><Action>Result>…`, as AWS sends it. */
function answerQuery(res: ServerResponse, action: string, result: string): void {
  const requestId = randomUUID();
  const body =
    `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  res.end(body);
}

function leaf(name: string, value: string): string {
  return `<${name}>${xmlEscape(value)}</${name}>`;
}

/** IAM's Query-protocol error document, as AWS sends it (the SDK reads Error/Code and Error/Message). */
function answerQueryError(res: ServerResponse, error: InjectedError): void {
  const requestId = randomUUID();
  const body =
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' +
    `<Error><Type>${error.type ?? 'Sender'}</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    '</ErrorResponse>';
  res.writeHead(error.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  res.end(body);
}

/**
 * DynamoDB's JSON-protocol error, as AWS sends it: `__type` is the service's namespace and the
 * code (`com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException`), from the
 * request's target (`DynamoDB_20120810.PutItem`).
 */
function answerJsonError(res: ServerResponse, target: string, error: InjectedError): void {
  const requestId = randomUUID();
  const version = /_(\d{8})\./.exec(target)?.[1] ?? '20120810';
  const type = error.code.includes('#') ? error.code : `com.amazonaws.dynamodb.v${version}#${error.code}`;
  const body = JSON.stringify({ __type: type, message: error.message });
  res.writeHead(error.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** `DynamoDB_20120810.UpdateItem` → `UpdateItem`; an IAM action or a bare operation as it is. */
function operationOf(action: string): string {
  return action.slice(action.indexOf('.') + 1);
}

function actionOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return operationOf(target);
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}
