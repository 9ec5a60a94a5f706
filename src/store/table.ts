import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { INDEX } from './keys.js';

const index = (IndexName: string, hash: string, range: string) => ({
  IndexName,
  KeySchema: [
    { AttributeName: hash, KeyType: 'HASH' as const },
    { AttributeName: range, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'ALL' as const },
});

/** The table and its indexes; also what deploy templates describe. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const attributes = [
    'pk',
    'sk',
    'status',
    'createdAt',
    'expiresAt',
    'requesterId',
    'iamUserName',
    'createdMonth',
    'auditMonth',
    'at',
    'noticeDue',
    'updatedAt',
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      index(INDEX.byStatusCreated, 'status', 'createdAt'),
      index(INDEX.byStatusExpiry, 'status', 'expiresAt'),
      index(INDEX.byRequester, 'requesterId', 'createdAt'),
      index(INDEX.byIamUser, 'iamUserName', 'createdAt'),
      index(INDEX.byCreatedMonth, 'createdMonth', 'createdAt'),
      index(INDEX.byAuditMonth, 'auditMonth', 'at'),
      // Sparse: only requests whose Slack notices are not yet confirmed delivered.
      index(INDEX.byNoticeDue, 'noticeDue', 'updatedAt'),
    ],
  };
}

export type TableState = { exists: false } | { exists: true; status: string; indexes: string[] };

export async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableState> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return {
      exists: true,
      status: out.Table?.TableStatus ?? 'UNKNOWN',
      indexes: (out.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? ''),
    };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return { exists: false };
    throw err;
  }
}

/** Creates the table if it is missing and waits until it is ACTIVE. Safe to run twice. */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: { timeoutMs?: number } = {}): Promise<'created' | 'exists'> {
  let outcome: 'created' | 'exists' = 'exists';
  const state = await describeTable(client, tableName);
  if (!state.exists) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      outcome = 'created';
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const now = await describeTable(client, tableName);
    if (now.exists && now.status === 'ACTIVE') return outcome;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
