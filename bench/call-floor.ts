/**
 * A process of its own for the lifecycle's call floor (bench/phases/call-floor.ts): the bot's
 * own client set-ups (the AWS SDK clients as src/deps.ts makes them, Slack's WebClient, fetch
 * for response_url) each make the same call again and again to a server that answers at once
 * with a canned body, and this process's CPU per call is printed as one JSON line: what one
 * call costs the bot before it does anything with the answer.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { WebClient } from '@slack/web-api';
import { AWS_HTTP_TIMEOUTS, withoutSdkLogging } from '../src/aws-client-options.js';
import { DocumentTable } from '../src/store/document-client.js';

export interface CallFloor {
  /** CPU ms of the calling process per call: the median of the rounds. */
  cpu_ms_per_call: { dynamodb: number; iam: number; slack: number; http_post: number };
  calls_per_round: number;
  rounds: number;
}

const endpoint = process.env.CALL_FLOOR_URL as string;
const CALLS = 1_000;
const ROUNDS = 5;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const aws = { endpoint, region: 'us-east-1', credentials, maxAttempts: 5, requestHandler: AWS_HTTP_TIMEOUTS };
const dynamo = new DocumentTable(withoutSdkLogging(new DynamoDBClient({ ...aws, cacheMiddleware: true })));
const iam = withoutSdkLogging(new IAMClient({ ...aws, cacheMiddleware: true }));
const slack = new WebClient('xoxb-bench', { slackApiUrl: `${endpoint}/api/`, retryConfig: { retries: 3 }, timeout: 10_000 });

const kinds: Record<keyof CallFloor['cpu_ms_per_call'], () => Promise<unknown>> = {
  dynamodb: () => dynamo.send(new GetCommand({ TableName: 'bench', Key: { pk: 'REQ#1', sk: 'REQUEST' } })),
  iam: () => iam.send(new GetUserCommand({ UserName: 'jane.doe' })),
  slack: () => slack.users.info({ user: 'U0BENCH' }),
  http_post: () =>
    fetch(`${endpoint}/response`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"ok"}' }).then((r) => r.text()),
};

async function cpuPerCall(call: () => Promise<unknown>): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await call();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / CALLS;
}

const samples = { dynamodb: [] as number[], iam: [] as number[], slack: [] as number[], http_post: [] as number[] };
// Warm: connections open, code compiled.
for (const call of Object.values(kinds)) for (let i = 0; i < 300; i++) await call();
// Rounds take turns, so a moment of other work on the machine lands in one round of each kind, not all of one.
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) samples[kind].push(await cpuPerCall(kinds[kind]));
}
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const floor: CallFloor = {
  cpu_ms_per_call: { dynamodb: median(samples.dynamodb), iam: median(samples.iam), slack: median(samples.slack), http_post: median(samples.http_post) },
  calls_per_round: CALLS,
  rounds: ROUNDS,
};
process.stdout.write(`${JSON.stringify(floor)}\n`);
process.exit(0);
