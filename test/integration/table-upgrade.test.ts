import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { startEmbeddedDynamo } from '../../src/store/embedded.js';
import { describeTable, ensureTable, tableDefinition } from '../../src/store/table.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** A table as an older version created it: without the newer indexes. */
async function createOldTable(dynamo: DynamoDBClient, name: string): Promise<void> {
  const definition = tableDefinition(name);
  const indexes = definition.GlobalSecondaryIndexes?.slice(0, 4) ?? [];
  const used = new Set(['pk', 'sk', ...indexes.flatMap((i) => (i.KeySchema ?? []).map((k) => k.AttributeName))]);
  await dynamo.send(
    new CreateTableCommand({
      ...definition,
      GlobalSecondaryIndexes: indexes,
      AttributeDefinitions: definition.AttributeDefinitions?.filter((a) => used.has(a.AttributeName)),
    }),
  );
}

describe('ensureTable', () => {
  it('creates the table once and is safe to run again', async () => {
    const dynamo = client(workerAwsEndpoint());
    const name = `setup-${ulid()}`;
    expect(await ensureTable(dynamo, name)).toBe('created');
    expect(await ensureTable(dynamo, name)).toBe('exists');
    const state = await describeTable(dynamo, name);
    expect(state.exists && [...state.indexes].sort()).toEqual((tableDefinition(name).GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort());
    dynamo.destroy();
  });

  it('adds the indexes a newer version needs to an existing table (moto, like DynamoDB)', async () => {
    const dynamo = client(workerAwsEndpoint());
    const name = `upgrade-${ulid()}`;
    await createOldTable(dynamo, name);
    expect(await ensureTable(dynamo, name)).toBe('upgraded');
    const state = await describeTable(dynamo, name);
    expect(state.exists && state.indexes.length).toBe(tableDefinition(name).GlobalSecondaryIndexes?.length);
    dynamo.destroy();
  });

  it('says what to do where the endpoint cannot add an index (dynalite)', async () => {
    const embedded = await startEmbeddedDynamo(null);
    const dynamo = client(embedded.endpoint);
    try {
      await createOldTable(dynamo, 'old-table');
      await expect(ensureTable(dynamo, 'old-table')).rejects.toThrow(/move DATA_DIR aside/);
    } finally {
      dynamo.destroy();
      await embedded.close();
    }
  });
});
