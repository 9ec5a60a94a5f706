/**
 * Slack's Socket Mode endpoint, as far as a bot needs it to connect and stay connected: the
 * WebSocket handshake (RFC 6455), Slack's `hello`, a pong for every ping, and the closing
 * handshake. It sends no events: the playground and the tests post Slack's requests over HTTP.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One unfragmented frame as a server sends it (unmasked). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, payload]);
}

/** The first whole frame a client sent (masked, as RFC 6455 requires), or undefined until it has all arrived. */
function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = (buffer[0] as number) & 0x0f;
  const masked = ((buffer[1] as number) & 0x80) !== 0;
  let length = (buffer[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
  if (mask) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return { opcode, payload, size: offset + length };
}

/** The connections the endpoint holds, so that stopping the stand-in ends them too. */
export class SocketModeEndpoint {
  private readonly sockets = new Set<Duplex>();
  /** How many connections were accepted (each said hello). */
  accepted = 0;

  /** Takes an HTTP upgrade request for the endpoint's path: answers the handshake and says hello. */
  accept(req: IncomingMessage, socket: Duplex): void {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}${HANDSHAKE_GUID}`).digest('base64');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
    this.accepted += 1;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const hello = { type: 'hello', num_connections: 1, connection_info: { app_id: 'A0STANDIN' }, debug_info: { host: 'slack-standin' } };
    socket.write(frame(OPCODE.text, Buffer.from(JSON.stringify(hello))));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let next = readFrame(pending); next; next = readFrame(pending)) {
        pending = pending.subarray(next.size);
        if (next.opcode === OPCODE.ping) socket.write(frame(OPCODE.pong, next.payload));
        if (next.opcode === OPCODE.close) {
          socket.end(frame(OPCODE.close, next.payload.subarray(0, 2)));
          return;
        }
      }
    });
  }

  /** Ends every connection at once (the stand-in is stopping). */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
