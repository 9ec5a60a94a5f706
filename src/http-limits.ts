/**
 * Limits on the HTTP-mode server. Bolt's HTTPReceiver reads a whole request body into memory
 * before it checks the Slack signature, so anyone who can reach the port could otherwise hold
 * many large bodies, or hold connections open by sending slowly. These limits bound what an
 * unauthenticated client can cost: at most MAX_CONNECTIONS × MAX_BODY_BYTES of bodies, each for
 * at most REQUEST_TIMEOUT_MS.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPReceiver, type HTTPReceiverOptions, isValidSlackRequest } from '@slack/bolt';
import { payloadProblem } from './payload-shapes.js';

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
 * reads a body already read, `rawBody`), and its signature is checked, once, with Bolt's own
 * check and the receiver's secret (the receiver's own copy of the check is off: see
 * guardedReceiver). A body that is not signed gets a bare 401, so nothing about it is told;
 * the one exception is Slack's unsigned `ssl_check=1`, which goes on to Bolt cut down to those
 * bytes alone, as Bolt's own check does (Bolt answers an ssl_check before any listener, so the
 * cut only keeps an unsigned field from ever being parsed past that point). A signed body is
 * parsed the way Bolt parses it and refused 400, with a short plain reason, when it does not
 * parse, is not an object (`payload=null` would throw in Bolt outside any handler, which ends
 * the process), or lacks a part Bolt's routing reads (src/payload-shapes.ts: Bolt would throw
 * there and answer 500).
 */
function guardRequests(receiver: HTTPReceiver, signingSecret: string): void {
  const next = receiver.requestListener;
  const isSigned = signatureCheck(signingSecret);
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
        const buffered = req as IncomingMessage & { rawBody: Buffer };
        if (!isSigned(req, body)) {
          if (!isSslCheck(body, req.headers['content-type'])) return refuse(res, 401);
          buffered.rawBody = Buffer.from(SSL_CHECK_BODY);
          return next(req, res);
        }
        buffered.rawBody = body;
        const problem = signedBodyProblem(body, req.headers['content-type']);
        if (problem !== undefined) return refuse(res, 400, problem);
        return next(req, res);
      },
      () => refuse(res, 400),
    );
  };
}

/**
 * Bolt's HTTPReceiver with the guards above in front of it. The guards check each request's
 * signature with Bolt's own check, so the receiver's copy of it is turned off: run twice, it cost
 * every ack six HMACs instead of three (the check compares the two signatures by HMACing both
 * with a random key).
 */
export function guardedReceiver(options: Omit<HTTPReceiverOptions, 'signatureVerification' | 'bodyLimit'> & { signingSecret: string }): HTTPReceiver {
  const receiver = new HTTPReceiver({ ...options, bodyLimit: MAX_BODY_BYTES, signatureVerification: false });
  guardRequests(receiver, options.signingSecret);
  return receiver;
}

/** What Slack sends, unsigned, to check a slash command's TLS. */
const SSL_CHECK_BODY = 'ssl_check=1';

/** Whether an unsigned body is Slack's TLS check: a form whose ssl_check field is 1 (what Bolt answers without a signature). */
function isSslCheck(body: Buffer, contentType: string | undefined): boolean {
  return contentType === 'application/x-www-form-urlencoded' && parseQuery(body.toString()).ssl_check === '1';
}

/**
 * Whether a request carries a valid signature, by Bolt's own check (`isValidSlackRequest`, the
 * one its receiver runs) with the secret the receiver is given too: the guard and Bolt cannot
 * disagree about which requests are Slack's.
 */
function signatureCheck(signingSecret: string): (req: IncomingMessage, body: Buffer) => boolean {
  return (req, body) => {
    const signature = req.headers['x-slack-signature'];
    const timestamp = req.headers['x-slack-request-timestamp'];
    if (typeof signature !== 'string' || typeof timestamp !== 'string') return false;
    return isValidSlackRequest({
      signingSecret,
      body: body.toString(),
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
    });
  };
}

function refuse(res: ServerResponse, status: number, reason?: string): void {
  if (res.headersSent) return;
  if (reason === undefined) {
    res.writeHead(status, { connection: 'close' });
    res.end();
    return;
  }
  res.writeHead(status, { connection: 'close', 'content-type': 'text/plain; charset=utf-8' });
  res.end(reason);
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
 * Why Bolt could not take this signed body, or undefined. Parsed as Bolt's HTTPReceiver parses it:
 * a form body (that exact content type) is its fields, or the JSON of its `payload` field when
 * there is one; any other body is JSON.
 */
function signedBodyProblem(body: Buffer, contentType: string | undefined): string | undefined {
  const text = body.toString();
  let json = text;
  let what = 'The body';
  if (contentType === 'application/x-www-form-urlencoded') {
    const fields = parseQuery(text);
    if (typeof fields.payload !== 'string') return payloadProblem(fields);
    json = fields.payload;
    what = 'The payload field';
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return `${what} is not JSON.`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `${what} is not a JSON object.`;
  return payloadProblem(parsed);
}

/** Past MAX_CONNECTIONS, new connections are closed on accept instead of costing memory. */
export function limitConnections(server: Server): Server {
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}
