/**
 * Limits on the HTTP-mode server. Bolt's HTTPReceiver reads a whole request body into memory
 * before it checks the Slack signature, so anyone who can reach the port could otherwise hold
 * many large bodies, or hold connections open by sending slowly. These limits bound what an
 * unauthenticated client can cost: at most MAX_CONNECTIONS × MAX_BODY_BYTES of bodies, each for
 * at most REQUEST_TIMEOUT_MS.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { HTTPReceiver } from '@slack/bolt';

/** Slack's payloads are a few KB (a block action carrying its whole message, tens of KB): ample room. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Slack (or a load balancer's pool) needs tens; held bodies stay under 32 MB, inside the 200 MB RSS budget. */
export const MAX_CONNECTIONS = 128;

/** Slack sends its headers in one packet; a client that needs seconds for them is dribbling. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Headers and body together; Slack's few KB arrive at once, and a slow body would hold its buffer. */
const REQUEST_TIMEOUT_MS = 10_000;

export const HTTP_SERVER_OPTIONS: ServerOptions = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  // Node enforces the two timeouts above only when it sweeps its connections (every 30 s by default).
  connectionsCheckingInterval: 1_000,
};

/** Slack signs each request with the time it was sent; one from further ahead than this is not Slack's (PRODUCT §3). */
const MAX_CLOCK_SKEW_S = 5 * 60;

/**
 * Guards in front of Bolt on every path. A declared body over the cap is answered 413 before
 * anything reads it, and the connection is closed so its bytes are not drained either; a body
 * without a declared length is cut off once it passes the cap. A request timestamped more than
 * five minutes ahead is refused 401 (Bolt refuses only old ones). The body is read here (Bolt
 * reads a body already read, `rawBody`), and one that is not an object once parsed the way Bolt
 * parses it (`payload=null`, a bare number) is refused 400: Bolt would throw on it outside any
 * handler, which ends the process.
 */
export function guardRequests(receiver: HTTPReceiver): void {
  const next = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
      refuse(res, 413);
      return;
    }
    const sentAt = Number(req.headers['x-slack-request-timestamp']);
    if (Number.isFinite(sentAt) && sentAt - Date.now() / 1000 > MAX_CLOCK_SKEW_S) {
      refuse(res, 401);
      return;
    }
    if (req.method !== 'POST') return next(req, res);
    readCapped(req).then(
      (body) => {
        if (body === undefined) return refuse(res, 413);
        if (!parsesToObject(body, req.headers['content-type'])) return refuse(res, 400);
        (req as IncomingMessage & { rawBody: Buffer }).rawBody = body;
        return next(req, res);
      },
      () => refuse(res, 400),
    );
  };
}

function refuse(res: ServerResponse, status: number): void {
  if (res.headersSent) return;
  res.writeHead(status, { connection: 'close' });
  res.end();
}

/** The whole body, or undefined once it passes MAX_BODY_BYTES (the rest is not read). */
function readCapped(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
      } else parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * Whether Bolt's parse of this body (form fields, `payload=` JSON, or JSON) gives an object. JSON
 * that opens with `{` is an object or does not parse at all (Bolt's to refuse), so Slack's own
 * bodies are not parsed twice on the way to the ack; only the rare other shapes are parsed here.
 */
function parsesToObject(body: Buffer, contentType: string | undefined): boolean {
  const text = body.toString();
  const json = contentType === 'application/x-www-form-urlencoded' ? new URLSearchParams(text).get('payload') : text;
  if (json === null || /^\s*\{/.test(json)) return true;
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null;
  } catch {
    return true;
  }
}

/** Past MAX_CONNECTIONS, new connections are closed on accept instead of costing memory. */
export function limitConnections(server: Server): Server {
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}
