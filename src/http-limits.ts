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

/**
 * A declared body over the cap is answered 413 before anything reads it, on every path, and the
 * connection is closed so its bytes are not drained either. A body without a declared length
 * (chunked; Slack always declares one) is cut off by Bolt's own limit once it passes the cap
 * (pass `bodyLimit: MAX_BODY_BYTES`); closing its connection after the answer keeps Node from
 * reading the rest of it.
 */
export function limitRequestBodies(receiver: HTTPReceiver): void {
  const next = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
      res.writeHead(413, { connection: 'close' });
      res.end();
      return;
    }
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined) res.setHeader('connection', 'close');
    return next(req, res);
  };
}

/** Past MAX_CONNECTIONS, new connections are closed on accept instead of costing memory. */
export function limitConnections(server: Server): Server {
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}
