/**
 * DocumentTable (src/store/document-client.ts), the store's way to DynamoDB, on dynalite with a
 * client set up as openDynamo sets the bot's (middleware resolved once per command type): plain
 * objects in and out of every command the store sends, each call its own answer, DynamoDB's
 * errors unchanged; openDynamo's clients cache their stack (else DocumentTable saves nothing);
 * and no code of the bot builds lib-dynamodb's client, which refuses such a client when it is built.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, type ScanCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDynamo } from '../../src/aws-clients.js';
import { DocumentTable } from '../../src/store/document-client.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { sourceFiles } from '../support/source-scan.js';

const TABLE = 'document-client';

describe('DocumentTable on dynalite, its client resolving middleware once per command type', () => {
  let dynalite: EmbeddedDynamo;
  let client: DynamoDBClient;
  let table: DocumentTable;

  beforeAll(async () => {
    dynalite = await startEmbeddedDynamo(null);
    client = new DynamoDBClient({
      endpoint: dynalite.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      cacheMiddleware: true,
    });
    await ensureTable(client, TABLE);
    table = new DocumentTable(client);
  });
  afterAll(async () => {
    client?.destroy();
    await dynalite?.close();
  });

  const key = (pk: string, sk = 'REQUEST') => ({ pk, sk });

  it('writes plain items and reads them back, leaving out what is undefined', async () => {
    const item = {
      ...key('DOC#1'),
      status: 'PENDING',
      version: 3,
      breakGlass: false,
      approvals: [{ by: 'UADMIN1', at: '2026-12-03T10:00:00.000Z' }],
      iam: { mfa: 'present', currentGroups: ['billing-read'], warnings: [] },
      extendsRequestId: undefined,
    };
    await table.send(new PutCommand({ TableName: TABLE, Item: item }));
    const out = await table.send(new GetCommand({ TableName: TABLE, Key: key('DOC#1'), ConsistentRead: true }));
    const { extendsRequestId: _, ...stored } = item;
    expect(out.Item).toEqual(stored);
    expect(out.Item && 'extendsRequestId' in out.Item).toBe(false);
  });

  it('answers each call of one command type with its own input, however many came before', async () => {
    for (const n of [1, 2, 3]) await table.send(new PutCommand({ TableName: TABLE, Item: { ...key(`DOC#each-${n}`), n } }));
    for (const n of [3, 1, 2]) {
      const out = await table.send(new GetCommand({ TableName: TABLE, Key: key(`DOC#each-${n}`), ConsistentRead: true }));
      expect(out.Item?.n).toBe(n);
    }
    expect((await table.send(new GetCommand({ TableName: TABLE, Key: key('DOC#none'), ConsistentRead: true }))).Item).toBeUndefined();
  });

  it('updates under a condition, returns the item as written, and refuses a stale version with DynamoDB’s own error', async () => {
    await table.send(new PutCommand({ TableName: TABLE, Item: { ...key('DOC#update'), version: 1, status: 'PENDING' } }));
    const update = (expected: number) =>
      table.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: key('DOC#update'),
          UpdateExpression: 'SET #status = :to, version = :next',
          ConditionExpression: 'version = :expected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':to': 'APPROVED', ':next': expected + 1, ':expected': expected },
          ReturnValues: 'ALL_NEW',
        }),
      );
    expect((await update(1)).Attributes).toEqual({ ...key('DOC#update'), version: 2, status: 'APPROVED' });
    await expect(update(1)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('deletes under a condition and returns what was there', async () => {
    await table.send(new PutCommand({ TableName: TABLE, Item: { ...key('DOC#delete'), holder: 'R1' } }));
    const out = await table.send(
      new DeleteCommand({
        TableName: TABLE,
        Key: key('DOC#delete'),
        ConditionExpression: 'holder = :h',
        ExpressionAttributeValues: { ':h': 'R1' },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(out.Attributes).toEqual({ ...key('DOC#delete'), holder: 'R1' });
    expect((await table.send(new GetCommand({ TableName: TABLE, Key: key('DOC#delete'), ConsistentRead: true }))).Item).toBeUndefined();
  });

  it('queries and scans page by page, the start keys plain objects too', async () => {
    for (const sk of ['A', 'B', 'C']) await table.send(new PutCommand({ TableName: TABLE, Item: { ...key('DOC#paged', sk), entity: 'paged' } }));
    const queried: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await table.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'DOC#paged' },
          Limit: 1,
          ExclusiveStartKey: start,
        }),
      );
      queried.push(...(out.Items ?? []).map((i) => i.sk as string));
      start = out.LastEvaluatedKey;
      if (start) expect(start).toEqual({ pk: 'DOC#paged', sk: queried[queried.length - 1] });
    } while (start);
    expect(queried).toEqual(['A', 'B', 'C']);

    const scanned: string[] = [];
    do {
      const out: ScanCommandOutput = await table.send(
        new ScanCommand({
          TableName: TABLE,
          FilterExpression: 'entity = :e',
          ExpressionAttributeValues: { ':e': 'paged' },
          Limit: 2,
          ExclusiveStartKey: start,
        }),
      );
      scanned.push(...(out.Items ?? []).map((i) => i.sk as string));
      start = out.LastEvaluatedKey;
    } while (start);
    expect(scanned.sort()).toEqual(['A', 'B', 'C']);
  });

  it('refuses the legacy condition parameters instead of sending them unmarshalled', async () => {
    await expect(
      table.send(new UpdateCommand({ TableName: TABLE, Key: key('DOC#legacy'), Expected: { status: { Value: 'PENDING' } }, UpdateExpression: 'SET a = :a' })),
    ).rejects.toThrow(/expressions only/);
    expect((await table.send(new GetCommand({ TableName: TABLE, Key: key('DOC#legacy'), ConsistentRead: true }))).Item).toBeUndefined();
  });
});

describe("the bot's code", () => {
  it('opens DynamoDB clients that resolve their middleware once per command type, embedded or not', async () => {
    const remote = await openDynamo({ store: 'dynamodb', dataDir: '' }, { region: 'us-east-1' });
    expect(remote.client.config.cacheMiddleware).toBe(true);
    remote.client.destroy();
    const dataDir = await mkdtemp(join(tmpdir(), 'document-client-'));
    const embedded = await openDynamo({ store: 'embedded', dataDir }, { region: undefined });
    try {
      expect(embedded.client.config.cacheMiddleware).toBe(true);
    } finally {
      embedded.client.destroy();
      await embedded.embedded?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("never builds lib-dynamodb's client: it refuses the bot's DynamoDB clients, which cache their middleware, so items go through DocumentTable", () => {
    const offenders = sourceFiles('src', 'handlers')
      .filter((f) => f.ast.getFullText().includes('DynamoDBDocumentClient'))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
