/**
 * The HTTP server of Socket Mode. Slack's events come over Socket Mode's WebSocket, so this port
 * serves GET /healthz alone, bound to HOST and PORT as HTTP mode's server is (Bolt's own server
 * for custom routes listens on every address, whatever HOST says, and cannot report the port
 * PORT=0 picked). Anything else is 404, under the same time and connection limits as HTTP mode.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HTTP_SERVER_OPTIONS, limitConnections } from './http-limits.js';

export type HealthResponder = (res: ServerResponse) => void;

/** Starts the server on `listen` (port 0: a free one); rejects when the address cannot be bound. */
export async function startHealthServer(respond: HealthResponder, listen: { port: number; host: string }): Promise<Server> {
  const server = limitConnections(
    createServer(HTTP_SERVER_OPTIONS, (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' && req.method === 'GET') return respond(res);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Stops taking connections and closes the idle ones; resolves once the server is closed. */
export function closeHealthServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
