/**
 * The test and bench proxies pass an upstream's answer on as a proxy should: its body and
 * end-to-end headers, none of the hop-by-hop ones. moto answers every call with
 * `Connection: close`; passed on, the bot would open a connection per call, which AWS does not.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forward } from '../../testkit/aws-proxy.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

describe('forward', () => {
  it('passes on the body and end-to-end headers, never Connection or Keep-Alive, and keeps the caller’s connection open', async () => {
    const upstream = await listen(
      createServer((req, res) => {
        req.resume();
        req.on('end', () =>
          res.writeHead(200, { connection: 'close', 'keep-alive': 'timeout=1', 'x-amzn-requestid': 'r1', 'content-type': 'text/xml' }).end('<ok/>'),
        );
      }),
    );
    const proxy = await listen(
      createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => forward(new URL(upstream), req, req.headers, Buffer.concat(parts), res));
      }),
    );
    const answer = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request(`${proxy}/`, { method: 'POST' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end('Action=GetUser');
    });
    expect(answer.body).toBe('<ok/>');
    expect(answer.headers['x-amzn-requestid']).toBe('r1');
    expect(answer.headers['content-length']).toBe('5');
    expect(answer.headers['keep-alive']).not.toBe('timeout=1');
    expect(answer.headers.connection).not.toBe('close');
  });
});
