import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
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

export type TableState = { exists: false } | { exists: true; status: string; indexes: string[]; indexesActive: boolean };

export async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableState> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return {
      exists: true,
      status: out.Table?.TableStatus ?? 'UNKNOWN',
      indexes: (out.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? ''),
      indexesActive: (out.Table?.GlobalSecondaryIndexes ?? []).every((i) => (i.IndexStatus ?? 'ACTIVE') === 'ACTIVE'),
    };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return { exists: false };
    throw err;
  }
}

/** Creates the table if it is missing, adds indexes a newer version needs, and waits until all is ACTIVE. Safe to run twice. */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: { timeoutMs?: number } = {}): Promise<'created' | 'exists' | 'upgraded'> {
  let outcome: 'created' | 'exists' | 'upgraded' = 'exists';
  const state = await describeTable(client, tableName);
  if (!state.exists) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      outcome = 'created';
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const definition = tableDefinition(tableName);
  for (;;) {
    const now = await describeTable(client, tableName);
    if (now.exists && now.status === 'ACTIVE' && now.indexesActive) {
      // DynamoDB adds one index per UpdateTable: add the next missing one and wait again.
      const missing = definition.GlobalSecondaryIndexes?.find((i) => !now.indexes.includes(i.IndexName ?? ''));
      if (!missing) return outcome;
      await addIndex(client, tableName, definition, missing);
      const shown = await describeTable(client, tableName);
      if (shown.exists && !shown.indexes.includes(missing.IndexName ?? '')) {
        throw new Error(
          `Table ${tableName} lacks index ${missing.IndexName} and this endpoint does not add indexes to an existing table (dynalite cannot). ` +
            'For the embedded store, move DATA_DIR aside and start again; on DynamoDB, run `npm run setup`.',
        );
      }
      outcome = 'upgraded';
    }
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type IndexDefinition = NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number];

async function addIndex(client: DynamoDBClient, tableName: string, definition: CreateTableCommandInput, index: IndexDefinition): Promise<void> {
  const create = { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
  const send = (extra: object) =>
    client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definition.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: { ...create, ...extra } }],
      }),
    );
  try {
    await send({});
  } catch (err) {
    // On-demand tables take no throughput for a new index; dynalite insists on one.
    if (!(err instanceof Error && /provisionedThroughput/i.test(err.message))) throw err;
    await send({ ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } });
  }
}
