/**
 * The lifecycle's call floor: what the calls a lifecycle makes would cost the bot's CPU if it
 * did nothing else. bench/call-floor.ts, a process of its own, times the bot's own clients
 * against a server here that answers each call at once with a canned body; each kind's CPU per
 * call times the lifecycle phase's calls of that kind gives the floor, beside the bot's measured
 * CPU per lifecycle. The difference is the bot's own work (Bolt, checks, messages) and the
 * answers' size; the floor is what fewer or cheaper calls would take off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallFloor } from '../call-floor.js';
import { sum } from '../measure.js';
import { firstJsonLine, placement, spawnNode } from '../procs.js';
import type { PhaseContext } from './context.js';
import type { LifecycleResult } from './lifecycle.js';

export interface CallFloorResult extends CallFloor {
  /** The lifecycle phase's outbound calls per lifecycle, by client. */
  calls_per_lifecycle: { dynamodb: number; iam: number; slack: number; http_post: number };
  /** Σ calls × CPU per call: the bot's CPU per lifecycle if calling were all it did. */
  floor_cpu_ms_per_lifecycle: number;
  /** The lifecycle phase's measured CPU per lifecycle, for comparison. */
  measured_cpu_ms_per_lifecycle: number;
}

const IAM_USER = `<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Path>/</Path><UserName>jane.doe</UserName><UserId>AIDABENCH</UserId><Arn>arn:aws:iam::123456789012:user/jane.doe</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetUserResponse>`;
const DYNAMO_ITEM = JSON.stringify({
  Item: { pk: { S: 'REQ#1' }, sk: { S: 'REQUEST' }, status: { S: 'PENDING' }, level: { S: 'read-only' }, version: { N: '3' } },
});
const SLACK_USER = JSON.stringify({ ok: true, user: { id: 'U0BENCH', deleted: false, is_restricted: false, profile: { email: 'jane.doe@example.com' } } });

/** Answers every call at once: IAM's XML for a query-protocol body, Slack's JSON under /api/, DynamoDB's JSON otherwise. */
function cannedServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url?.startsWith('/api/')) res.writeHead(200, { 'content-type': 'application/json' }).end(SLACK_USER);
      else if (body.startsWith('Action=')) res.writeHead(200, { 'content-type': 'text/xml' }).end(IAM_USER);
      else if (req.url === '/response') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      else res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(DYNAMO_ITEM);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function measureCallFloor(ctx: PhaseContext, lifecycle: LifecycleResult): Promise<CallFloorResult> {
  const server = await cannedServer();
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawnNode('bench/call-floor.ts', {
      env: { CALL_FLOOR_URL: url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      // Where the bot runs, as the bot's own calls did.
      ...(placement.underTest ? { cpus: placement.underTest } : {}),
    });
    const floor = await firstJsonLine<CallFloor>(child.child, 120_000);
    await child.stop();
    const { contract, extras } = lifecycle;
    const calls = {
      dynamodb: sum(Object.values(extras.dynamodb_ops_per_lifecycle)),
      iam: contract.iam_calls_per_lifecycle,
      slack: contract.slack_calls_per_lifecycle,
      http_post: extras.response_url_posts_per_lifecycle,
    };
    const per = floor.cpu_ms_per_call;
    const result: CallFloorResult = {
      ...floor,
      calls_per_lifecycle: calls,
      floor_cpu_ms_per_lifecycle: calls.dynamodb * per.dynamodb + calls.iam * per.iam + calls.slack * per.slack + calls.http_post * per.http_post,
      measured_cpu_ms_per_lifecycle: contract.cpu_ms_per_lifecycle,
    };
    ctx.log(
      `  call floor: ${result.floor_cpu_ms_per_lifecycle.toFixed(1)} ms per lifecycle (DynamoDB ${per.dynamodb.toFixed(2)}, IAM ${per.iam.toFixed(2)}, Slack ${per.slack.toFixed(2)}, response_url ${per.http_post.toFixed(2)} ms per call)`,
    );
    return result;
  } finally {
    server.close();
  }
}
