/**
 * The DynamoDB store on dynalite (in memory) and on moto_server: the contract every store keeps
 * (test/support/store-contract.ts, also run against the in-memory store), then what only the
 * DynamoDB store has: the items as audit tooling reads them, the slot lock items, a request write
 * held open between its lock and its item, link claims and their backfill, and capacity counting.
 */

import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import { activate, cancel, deny, fail, retry } from '../../src/domain/transitions.js';
import { RequestConflictError } from '../../src/errors.js';
import { type DocumentSender, DocumentTable } from '../../src/store/document-client.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { startEmbeddedDynamo } from '../../src/store/embedded.js';
import { pendingLockKey, REQUEST_SK, requestKey } from '../../src/store/keys.js';
import { backfillLinkClaims } from '../../src/store/link-store.js';
import { ensureTable } from '../../src/store/table.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { aRequest, DAY_MS, HOUR_MS, requested, type StoreTraits, shift, storeContract } from '../support/store-contract.js';

/** A DynamoDB-compatible endpoint the contract runs against, its client set up as src/aws-clients.ts's openDynamo sets the bot's. */
interface Backend {
  client: DynamoDBClient;
  close(): Promise<void>;
}
type BackendFactory = () => Promise<Backend>;

const DUMMY_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const dynaliteInMemory: BackendFactory = async () => {
  const embedded = await startEmbeddedDynamo(null);
  const client = new DynamoDBClient({ endpoint: embedded.endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS, cacheMiddleware: true });
  return {
    client,
    close: async () => {
      client.destroy();
      await embedded.close();
    },
  };
};

const motoServer: BackendFactory = async () => {
  const client = new DynamoDBClient({ endpoint: workerAwsEndpoint(), region: 'us-east-1', credentials: DUMMY_CREDENTIALS, cacheMiddleware: true });
  return { client, close: async () => client.destroy() };
};

const settle = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'created',
    (err: unknown) => err,
  );

/**
 * A document client whose writes of request items wait until `release()`: it holds open the gap
 * between claiming the pending slot and storing the request. `reached` resolves when one is held.
 */
function holdingRequestPuts(doc: DocumentSender): { client: DocumentSender; reached: Promise<void>; release: () => void } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = () => {};
  const reached = new Promise<void>((resolve) => {
    held = resolve;
  });
  const client = new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: PutCommand) => {
        if (command instanceof PutCommand && command.input.Item?.sk === REQUEST_SK) {
          held();
          await gate;
        }
        return target.send(command);
      };
    },
  });
  return { client, reached, release };
}

describe.each([
  { backend: 'dynalite (in memory)', open: dynaliteInMemory, traits: { atomicConditionalWrites: true } },
  { backend: 'moto_server', open: motoServer, traits: { atomicConditionalWrites: false } },
])('DynamoRequestStore on $backend', ({ open, traits }: { open: BackendFactory; traits: StoreTraits }) => {
  let backend: Backend;
  let doc: DocumentSender;
  const tables: string[] = [];

  beforeAll(async () => {
    backend = await open();
    // The bot's way to the table (src/deps.ts).
    doc = new DocumentTable(backend.client);
  });
  afterAll(async () => {
    await backend?.close();
  });
  afterEach(async () => {
    for (const TableName of tables.splice(0)) await backend.client.send(new DeleteTableCommand({ TableName }));
  });

  /** A new table, deleted after the test. */
  async function freshTable(): Promise<string> {
    const tableName = `store-contract-${ulid()}`;
    await ensureTable(backend.client, tableName);
    tables.push(tableName);
    return tableName;
  }

  describe('the RequestStore contract', () => {
    storeContract(async () => new DynamoRequestStore(doc, await freshTable()), traits);
  });

  describe('DynamoDB specifics', () => {
    let tableName: string;
    let store: DynamoRequestStore;

    beforeEach(async () => {
      tableName = await freshTable();
      store = new DynamoRequestStore(doc, tableName);
    });

    async function created(overrides: Partial<AccessRequest> = {}): Promise<AccessRequest> {
      const request = aRequest(overrides);
      await store.create(request, requested);
      return request;
    }

    const rawItem = async (key: Record<string, string>) =>
      (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item as Record<string, unknown> | undefined;

    it('stores a request as one item audit tooling can read: top-level attributes, times verbatim, its month; a removed attribute leaves it', async () => {
      const request = await created();
      const raw = await rawItem(requestKey(request.id));
      expect(raw).toMatchObject({
        id: request.id,
        status: 'PENDING',
        requesterId: 'U0EMPLOYEE',
        iamUserName: 'jane.doe',
        level: 'read-only',
        groupName: 'BillingReadOnly',
        createdAt: request.createdAt,
        approvals: [],
      });
      expect(raw?.createdMonth).toBe(request.createdAt.slice(0, 7));

      const createdAt = new Date().toISOString();
      const breakGlass = await created({
        createdAt,
        iamUserName: 'john.roe',
        status: 'APPROVED',
        breakGlass: true,
        decidedBy: 'U0EMPLOYEE',
        decidedAt: createdAt,
        approvals: [{ by: 'U0EMPLOYEE', at: createdAt }],
        approverIds: ['U0EMPLOYEE'],
        expiresAt: shift(createdAt, 4 * HOUR_MS),
        endedBy: 'U0ADMIN1',
        endedAt: shift(createdAt, HOUR_MS),
        extendsRequestId: ulid(Date.parse(createdAt) - DAY_MS),
        dryRun: true,
      });
      expect(await rawItem(requestKey(breakGlass.id))).toMatchObject({
        decidedBy: 'U0EMPLOYEE',
        decidedAt: createdAt,
        approvals: [{ by: 'U0EMPLOYEE', at: createdAt }],
        expiresAt: breakGlass.expiresAt,
        endedBy: 'U0ADMIN1',
        endedAt: breakGlass.endedAt,
        extendsRequestId: breakGlass.extendsRequestId,
        dryRun: true,
      });

      // An attribute a change removes (undefined) leaves the item itself, not only what the store returns.
      const failed = await store.update(
        breakGlass,
        fail(breakGlass, 'system', createdAt, { name: 'NoSuchEntityException', message: 'no user', membershipUnknown: false }),
      );
      expect(await rawItem(requestKey(breakGlass.id))).toHaveProperty('failure');
      await store.update(failed, retry(failed, 'U0ADMIN1', shift(createdAt, 1000)));
      expect(await rawItem(requestKey(breakGlass.id))).not.toHaveProperty('failure');
    });

    describe('the pending slot’s lock item', () => {
      it('is released when its request is decided, and names the next request that takes the slot', async () => {
        const key = pendingLockKey('Jane.Doe', 'read-only');
        const first = await created();
        expect((await rawItem(key))?.requestId).toBe(first.id);

        await store.update(first, deny(first, 'U0ADMIN1', new Date().toISOString()));
        expect(await rawItem(key)).toBeUndefined();

        const again = await created();
        expect((await rawItem(key))?.requestId).toBe(again.id);
      });

      it('takes over a stale lock whose request does not exist', async () => {
        const key = pendingLockKey('john.roe', 'read-only');
        await doc.send(new PutCommand({ TableName: tableName, Item: { ...key, requestId: ulid(), at: new Date().toISOString() } }));

        const request = await created({ iamUserName: 'john.roe' });

        expect((await store.get(request.id))?.status).toBe('PENDING');
        expect((await rawItem(key))?.requestId).toBe(request.id);
      });

      it('takes over a lock left pointing at a request that is no longer PENDING', async () => {
        const first = await created();
        await store.update(first, cancel(first, 'U0EMPLOYEE', new Date().toISOString()));
        // As if the process died between the status write and the lock release.
        const key = pendingLockKey('jane.doe', 'read-only');
        await doc.send(new PutCommand({ TableName: tableName, Item: { ...key, requestId: first.id, at: first.createdAt } }));

        const second = await created();

        expect((await rawItem(key))?.requestId).toBe(second.id);
      });

      it('holds while the first request is still being written: its slot is claimed but its item not yet stored', async () => {
        const slow = holdingRequestPuts(doc);
        const first = aRequest();
        const firstCreate = settle(new DynamoRequestStore(slow.client, tableName).create(first, requested));
        await slow.reached;

        const second = aRequest();
        const secondCreate = settle(store.create(second, requested));
        // Let the first write go once the second has its answer (or, should a store wait for the
        // holder, after a bound that only prevents a deadlock and decides nothing).
        const fallback = setTimeout(slow.release, 5_000);
        await secondCreate;
        slow.release();
        clearTimeout(fallback);
        const outcomes = [await firstCreate, await secondCreate];

        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
        for (const o of outcomes) if (o !== 'created') expect(o).toBeInstanceOf(RequestConflictError);
        const pending = await store.listByStatus('PENDING');
        expect(pending).toHaveLength(1);
        expect((await rawItem(pendingLockKey('jane.doe', 'read-only')))?.requestId).toBe(pending[0]?.id);
      });
    });

    it('listExpiring obeys an expiresAt an operator edited straight in the table', async () => {
      const now = new Date().toISOString();
      const grant = async (iamUserName: string, expiresAt: string) => {
        const approved = await created({ iamUserName, status: 'APPROVED', breakGlass: true, expiresAt });
        return store.update(approved, activate(approved, 'system', now, `added ${iamUserName}`));
      };
      const anHourAgo = await grant('user.b', shift(now, -HOUR_MS));
      const twoDaysAgo = await grant('user.c', shift(now, -2 * DAY_MS));
      const inThreeDays = await grant('user.d', shift(now, 3 * DAY_MS));
      expect((await store.listExpiring('ACTIVE', now)).map((r) => r.id)).toEqual([twoDaysAgo.id, anHourAgo.id]);

      // An operator's emergency edits, straight in the table.
      const operatorEdit = (id: string, expiresAt: string) =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: requestKey(id),
            UpdateExpression: 'SET expiresAt = :e',
            ExpressionAttributeValues: { ':e': expiresAt },
          }),
        );
      await operatorEdit(inThreeDays.id, shift(now, -5 * DAY_MS));
      await operatorEdit(anHourAgo.id, shift(now, 5 * DAY_MS));

      const due = await store.listExpiring('ACTIVE', now);
      expect(due.map((r) => r.id)).toEqual([inThreeDays.id, twoDaysAgo.id]);
      expect(due[0]?.expiresAt).toBe(shift(now, -5 * DAY_MS));
    });

    it('takes over a link claim its holder no longer backs (a writer died between the claim and the link)', async () => {
      const now = new Date().toISOString();
      await doc.send(
        new PutCommand({ TableName: tableName, Item: { pk: 'LINKIAM#orphan', sk: 'LINK', entity: 'link-claim', userId: 'U0DEAD', iamUserName: 'orphan' } }),
      );
      expect(await store.linkHolder('orphan')).toBeUndefined();
      await store.putLink({ userId: 'U0LIVE', iamUserName: 'orphan', linkedBy: 'U0ADMIN1', linkedAt: now });
      expect((await store.linkHolder('orphan'))?.userId).toBe('U0LIVE');
    });

    it('backfillLinkClaims claims each IAM user for its link written before links were one-to-one; with two links to one IAM user the earliest keeps it', async () => {
      const legacy = (userId: string, iamUserName: string, linkedAt: string) =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: `LINK#${userId}`, sk: 'LINK', entity: 'link', userId, iamUserName, linkedBy: 'U0ADMIN1', linkedAt },
          }),
        );
      await legacy('U0SOLO', 'solo.user', '2030-01-01T00:00:00.000Z');
      await legacy('U0LATER', 'Boss', '2030-01-03T00:00:00.000Z');
      await legacy('U0EARLIER', 'boss', '2030-01-02T00:00:00.000Z');
      expect(await store.linkHolder('solo.user')).toBeUndefined();

      const result = await backfillLinkClaims(store, doc, tableName);
      expect(result.claimed).toBe(2);
      expect(result.duplicates).toEqual([{ iamUserName: 'boss', userIds: expect.arrayContaining(['U0LATER', 'U0EARLIER']), kept: 'U0EARLIER' }]);
      expect((await store.linkHolder('solo.user'))?.userId).toBe('U0SOLO');
      expect((await store.linkHolder('BOSS'))?.userId).toBe('U0EARLIER');
      // Run again: nothing more to claim.
      expect((await backfillLinkClaims(store, doc, tableName)).claimed).toBe(0);
    });

    // Both dynalite and moto answer ReturnConsumedCapacity: 'TOTAL' with table-only figures
    // (neither reports index capacity), so the counters must grow on both backends.
    it('counts the read and write capacity the backend reports', async () => {
      expect(store.capacity).toEqual({ read: 0, write: 0 });

      const request = await created();
      const afterCreate = { ...store.capacity };
      expect(afterCreate.write).toBeGreaterThan(0);

      await store.get(request.id);
      expect(store.capacity.read).toBeGreaterThan(afterCreate.read);

      const afterGet = { ...store.capacity };
      await store.update(request, cancel(request, 'U0EMPLOYEE', new Date().toISOString()));
      expect(store.capacity.write).toBeGreaterThan(afterGet.write);

      const afterUpdate = { ...store.capacity };
      await store.listByStatus('CANCELLED');
      expect(store.capacity.read).toBeGreaterThan(afterUpdate.read);
    });
  });
});
