/**
 * What the process-level tests (crash, SIGTERM) share: moto with the billing groups and
 * jane.doe, a table, the Slack stand-in, an AWS proxy in front of IAM, and the environment
 * that starts the real bot as a process against them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { ensureTable } from '../../src/store/table.js';
import { AwsProxy } from '../../testkit/aws-proxy.js';
import { createGroup, createUser, FULL_POLICY, iamClient, READ_ONLY_POLICY } from '../../testkit/iam-fixtures.js';
import { freePort, resetMoto } from '../../testkit/moto.js';
import { FakeSlack } from './fake-slack.js';
import { ADMIN_CHANNEL, BOT_TOKEN, PEOPLE, SIGNING_SECRET, TEAM } from './harness.js';

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  explain: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}\n${explain()}`);
}

export class ProcessRig {
  private constructor(
    readonly awsEndpoint: string,
    readonly table: string,
    readonly slack: FakeSlack,
    readonly proxy: AwsProxy,
    readonly iam: IAMClient,
    readonly dynamo: DynamoDBClient,
    readonly store: DynamoRequestStore,
  ) {}

  static async start(awsEndpoint: string, table: string): Promise<ProcessRig> {
    await resetMoto(awsEndpoint);
    const iam = iamClient(awsEndpoint);
    await createGroup(iam, 'BillingReadOnly', READ_ONLY_POLICY);
    await createGroup(iam, 'BillingFull', FULL_POLICY);
    await createUser(iam, { name: 'jane.doe', mfa: true });
    const dynamo = new DynamoDBClient({ endpoint: awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, table);
    const store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), table);
    const slack = await FakeSlack.start({
      botToken: BOT_TOKEN,
      teamId: TEAM,
      channels: [
        {
          id: ADMIN_CHANNEL,
          name: 'billing-admins',
          members: ['UBOT', PEOPLE.admin1.id, PEOPLE.admin2.id, PEOPLE.admin3.id, PEOPLE.outsider.id, PEOPLE.employee.id],
        },
        { id: 'C0GENERAL', name: 'general' },
      ],
      users: Object.values(PEOPLE),
    });
    const proxy = await AwsProxy.start(awsEndpoint);
    return new ProcessRig(awsEndpoint, table, slack, proxy, iam, dynamo, store);
  }

  /** The environment of a bot process on this rig: HTTP on a free port, live IAM through the proxy. */
  async botEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.slack.apiUrl,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ADMIN_CHANNEL_ID: ADMIN_CHANNEL,
      ADMIN_USER_IDS: `${PEOPLE.admin1.id},${PEOPLE.admin2.id},${PEOPLE.admin3.id}`,
      BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
      ALLOWED_EMAIL_DOMAINS: 'corp.com',
      IAM_MODE: 'live',
      STORE: 'dynamodb',
      TABLE_NAME: this.table,
      LOG_LEVEL: 'info',
      AWS_ENDPOINT_URL: this.awsEndpoint,
      AWS_ENDPOINT_URL_IAM: this.proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...overrides,
    };
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.slack.stop();
    this.iam.destroy();
    this.dynamo.destroy();
  }
}
