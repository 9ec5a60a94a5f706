/**
 * A loopback proxy in front of DynamoDB (dynalite) that counts operations and sums the
 * ConsumedCapacity in the responses. Calls the bot sends without ReturnConsumedCapacity get
 * `TOTAL` added on the way (dynalite does not check signatures), so every call is costed; the
 * figures are kept apart: what the bot asked for, and what was added here. Responses pass
 * through unchanged.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { forward } from '../testkit/aws-proxy.js';

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface CapacitySnapshot {
  /** Capacity units DynamoDB returned, by whether the bot asked for them. */
  asked: { read: number; write: number };
  added: { read: number; write: number };
  /** Operations by name (GetItem, PutItem, …). */
  ops: Record<string, number>;
  /** Operations the bot sent without ReturnConsumedCapacity, by name. */
  opsWithoutCapacity: Record<string, number>;
  /** Operations answered with an error (e.g. ConditionalCheckFailed), by name. */
  failedOps: Record<string, number>;
}

function emptySnapshot(): CapacitySnapshot {
  return { asked: { read: 0, write: 0 }, added: { read: 0, write: 0 }, ops: {}, opsWithoutCapacity: {}, failedOps: {} };
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

type Consumed = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number; Table?: { CapacityUnits?: number } };

function unitsOf(consumed: Consumed): number {
  return consumed.CapacityUnits ?? consumed.Table?.CapacityUnits ?? (consumed.ReadCapacityUnits ?? 0) + (consumed.WriteCapacityUnits ?? 0);
}

export class DynamoProxy {
  private totals = emptySnapshot();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<DynamoProxy> {
    const upstream = new URL(target);
    let proxy: DynamoProxy | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        const target = req.headers['x-amz-target'];
        const op = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : 'unknown';
        const kind = READS.has(op) ? 'read' : WRITES.has(op) ? 'write' : undefined;
        let added = false;
        if (kind) {
          try {
            const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
            if (!parsed.ReturnConsumedCapacity || parsed.ReturnConsumedCapacity === 'NONE') {
              parsed.ReturnConsumedCapacity = 'TOTAL';
              body = Buffer.from(JSON.stringify(parsed));
              added = true;
            }
          } catch {
            // not JSON: forward as it came
          }
        }
        const headers = { ...req.headers, 'content-length': String(body.length) };
        forward(upstream, req, headers, body, res, (status, upstreamHeaders, raw) =>
          (proxy as DynamoProxy).record(op, kind, added, status, upstreamHeaders['content-encoding'], raw),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new DynamoProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  private record(op: string, kind: 'read' | 'write' | undefined, added: boolean, status: number, encoding: string | undefined, raw: Buffer): void {
    const t = this.totals;
    bump(t.ops, op);
    if (added) bump(t.opsWithoutCapacity, op);
    if (status !== 200) {
      bump(t.failedOps, op);
      return;
    }
    if (!kind) return;
    try {
      const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const parsed = JSON.parse(text) as { ConsumedCapacity?: Consumed | Consumed[] };
      const consumed = parsed.ConsumedCapacity;
      const units = Array.isArray(consumed) ? consumed.reduce((sum, c) => sum + unitsOf(c), 0) : consumed ? unitsOf(consumed) : 0;
      (added ? t.added : t.asked)[kind] += units;
    } catch {
      // an answer that is not JSON carries no capacity
    }
  }

  /** A copy of the running totals (take two and subtract for a phase). */
  snapshot(): CapacitySnapshot {
    return structuredClone(this.totals);
  }

  static diff(after: CapacitySnapshot, before: CapacitySnapshot): CapacitySnapshot {
    const sub = (a: Record<string, number>, b: Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) !== 0) out[k] = v - (b[k] ?? 0);
      return out;
    };
    return {
      asked: { read: after.asked.read - before.asked.read, write: after.asked.write - before.asked.write },
      added: { read: after.added.read - before.added.read, write: after.added.write - before.added.write },
      ops: sub(after.ops, before.ops),
      opsWithoutCapacity: sub(after.opsWithoutCapacity, before.opsWithoutCapacity),
      failedOps: sub(after.failedOps, before.failedOps),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
