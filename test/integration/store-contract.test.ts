import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { AccessRequest, AuditEvent } from '../../src/domain/request.js';
import { ConflictError } from '../../src/errors.js';
import type { AuditInput } from '../../src/services/ports.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { startEmbeddedDynamo } from '../../src/store/embedded.js';
import { pendingLockKey, REQUEST_SK, requestKey } from '../../src/store/keys.js';
import { backfillLinkClaims } from '../../src/store/link-store.js';
import { ensureTable } from '../../src/store/table.js';
import { buildRequest } from '../support/requests.js';

/** A DynamoDB-compatible endpoint the contract runs against. */
interface Backend {
  client: DynamoDBClient;
  close(): Promise<void>;
}
type BackendFactory = () => Promise<Backend>;

interface BackendTraits {
  /**
   * Whether a conditional write is atomic under concurrent requests, as in DynamoDB. moto_server
   * 5.2.1 is not: it serves requests on threads (`run_simple(threaded=True)`) and UpdateItem checks
   * the condition and applies it without a lock, so two of 12 racing conditional UpdateItems
   * sometimes both succeed (seen in 2 of 30 rounds with raw UpdateCommands, no store involved).
   */
  atomicConditionalWrites: boolean;
}

const DUMMY_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const dynaliteInMemory: BackendFactory = async () => {
  const embedded = await startEmbeddedDynamo(null);
  const client = new DynamoDBClient({ endpoint: embedded.endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS });
  return {
    client,
    close: async () => {
      client.destroy();
      await embedded.close();
    },
  };
};

const motoServer: BackendFactory = async () => {
  const client = new DynamoDBClient({ endpoint: inject('awsEndpoint'), region: 'us-east-1', credentials: DUMMY_CREDENTIALS });
  return { client, close: async () => client.destroy() };
};

const CROCKFORD_ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

const at = (ms: number) => new Date(ms).toISOString();
const shift = (isoTime: string, ms: number) => at(Date.parse(isoTime) + ms);

/** A request from defaults plus overrides; the id is a ULID minted at `createdAt`. */
function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  const createdAt = overrides.createdAt ?? new Date().toISOString();
  return buildRequest({
    requesterTeamId: 'T0CORP',
    requesterEmail: 'jane.doe@corp.example',
    iam: { mfa: 'present', hasConsolePassword: true, currentGroups: ['Developers'], warnings: [] },
    createdAt,
    ...overrides,
  });
}

const requested: AuditInput = { actor: 'U0EMPLOYEE', detail: 'requested' };

/** Awaits a promise that must reject with ConflictError and returns the error. */
async function conflictOf(promise: Promise<unknown>): Promise<ConflictError<AccessRequest>> {
  const outcome = await promise.then(
    () => 'resolved' as const,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ConflictError);
  return outcome as ConflictError<AccessRequest>;
}

const settle = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'created',
    (err: unknown) => err,
  );

/**
 * A document client whose writes of request items wait until `release()`: it holds open the gap
 * between claiming the pending slot and storing the request. `reached` resolves when one is held.
 */
function holdingRequestPuts(doc: DynamoDBDocumentClient): { client: DynamoDBDocumentClient; reached: Promise<void>; release: () => void } {
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

function storeContract(open: BackendFactory, traits: BackendTraits): void {
  let backend: Backend;
  let doc: DynamoDBDocumentClient;
  let tableName: string;
  let store: DynamoRequestStore;

  beforeAll(async () => {
    backend = await open();
    // Optional attributes left undefined must not fail marshalling (as in src/deps.ts).
    doc = DynamoDBDocumentClient.from(backend.client, { marshallOptions: { removeUndefinedValues: true } });
  });
  afterAll(async () => {
    await backend?.close();
  });

  beforeEach(async () => {
    tableName = `store-contract-${ulid()}`;
    await ensureTable(backend.client, tableName);
    store = new DynamoRequestStore(doc, tableName);
  });
  afterEach(async () => {
    await backend.client.send(new DeleteTableCommand({ TableName: tableName }));
  });

  /** Creates a PENDING (or any) request and returns what was stored. */
  async function created(overrides: Partial<AccessRequest> = {}, audit: AuditInput = requested): Promise<AccessRequest> {
    const request = aRequest(overrides);
    await store.create(request, audit);
    return request;
  }

  const rawItem = async (key: Record<string, string>) =>
    (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item as Record<string, unknown> | undefined;

  describe('create and get', () => {
    it('round-trips every PRODUCT §2 attribute of a new request and records its first audit event', async () => {
      const request = await created();
      expect(request.id).toMatch(CROCKFORD_ULID);

      expect(await store.get(request.id)).toEqual(request);

      // Audit tooling reads the item itself: the attributes are top-level, times verbatim.
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

      expect(await store.auditEvents(request.id)).toEqual([
        { requestId: request.id, at: request.createdAt, actor: 'U0EMPLOYEE', from: null, to: 'PENDING', detail: 'requested' },
      ]);
    });

    it('round-trips a break-glass request carrying every optional attribute', async () => {
      const createdAt = new Date().toISOString();
      const request = await created(
        {
          createdAt,
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
          appliedExtensions: [ulid()],
          denyReason: 'n/a',
          failure: { name: 'Throttling', message: 'Rate exceeded', at: createdAt },
          dryRun: true,
          iam: { mfa: 'not-checked', hasConsolePassword: null, currentGroups: null, warnings: ['not checked: ListMFADevices'] },
          adminMessage: { channel: 'C0ADMINS', ts: '1700000000.000100' },
        },
        { actor: 'U0EMPLOYEE', detail: 'break-glass: prod billing outage' },
      );

      expect(await store.get(request.id)).toEqual(request);
      expect(await rawItem(requestKey(request.id))).toMatchObject({
        decidedBy: 'U0EMPLOYEE',
        decidedAt: createdAt,
        approvals: [{ by: 'U0EMPLOYEE', at: createdAt }],
        expiresAt: request.expiresAt,
        endedBy: 'U0ADMIN1',
        endedAt: request.endedAt,
        extendsRequestId: request.extendsRequestId,
        dryRun: true,
      });
      expect(await store.auditEvents(request.id)).toEqual([
        { requestId: request.id, at: createdAt, actor: 'U0EMPLOYEE', from: null, to: 'APPROVED', detail: 'break-glass: prod billing outage' },
      ]);
    });

    it('get of an unknown id is undefined', async () => {
      expect(await store.get(ulid())).toBeUndefined();
    });
  });

  describe('update', () => {
    it('applies the changes, bumps the version and appends a full audit event', async () => {
      const request = await created();
      const decidedAt = new Date().toISOString();
      const changes: Partial<AccessRequest> = {
        status: 'APPROVED',
        decidedBy: 'U0ADMIN1',
        decidedAt,
        approvals: [{ by: 'U0ADMIN1', at: decidedAt }],
        approverIds: ['U0ADMIN1'],
      };

      const next = await store.update(request, changes, { actor: 'U0ADMIN1', detail: 'approved' });

      expect(next).toEqual({ ...request, ...changes, version: 2, updatedAt: next.updatedAt });
      expect(next.updatedAt >= request.updatedAt).toBe(true);
      expect(await store.get(request.id)).toEqual(next);
      const events = await store.auditEvents(request.id);
      expect(events).toEqual([
        expect.objectContaining({ from: null, to: 'PENDING' }),
        { requestId: request.id, at: next.updatedAt, actor: 'U0ADMIN1', from: 'PENDING', to: 'APPROVED', detail: 'approved' },
      ]);
    });

    it('rejects a stale version with ConflictError carrying the winner as it is stored', async () => {
      const request = await created();
      const winner = await store.update(request, { status: 'APPROVED', decidedBy: 'U0ADMIN1' }, { actor: 'U0ADMIN1', detail: 'approved' });

      const err = await conflictOf(store.update(request, { status: 'DENIED', decidedBy: 'U0ADMIN2' }, { actor: 'U0ADMIN2', detail: 'denied' }));

      expect(err.current).toEqual(winner);
      expect(err.current?.status).toBe('APPROVED');
      expect(err.current?.version).toBe(2);
      expect(await store.get(request.id)).toEqual(winner);
      expect((await store.auditEvents(request.id)).map((e) => e.to)).toEqual(['PENDING', 'APPROVED']);
    });

    it('rejects an update of a request that does not exist with ConflictError and no current item', async () => {
      const err = await conflictOf(store.update(aRequest(), { status: 'CANCELLED' }, { actor: 'U0EMPLOYEE', detail: 'cancelled' }));
      expect(err.current).toBeUndefined();
    });

    it('records an ACTIVE → ACTIVE extension with a detail as an audit event', async () => {
      const grant = await created({ status: 'APPROVED', breakGlass: true });
      const expiresAt = shift(grant.createdAt, DAY_MS);
      const active = await store.update(grant, { status: 'ACTIVE', expiresAt }, { actor: 'system', detail: 'granted' });
      const later = shift(expiresAt, 3 * DAY_MS);

      const extended = await store.update(active, { expiresAt: later }, { actor: 'U0ADMIN1', detail: `extended to ${later}` });

      expect(extended).toMatchObject({ status: 'ACTIVE', expiresAt: later, version: 3 });
      const last = (await store.auditEvents(grant.id)).at(-1);
      expect(last).toEqual({ requestId: grant.id, at: extended.updatedAt, actor: 'U0ADMIN1', from: 'ACTIVE', to: 'ACTIVE', detail: `extended to ${later}` });
    });

    it('removes an attribute given as undefined, in the table and in the returned request', async () => {
      const approved = await created({ status: 'APPROVED', breakGlass: true });
      const failure = { name: 'NoSuchEntityException', message: 'The user with name jane.doe cannot be found.', at: new Date().toISOString() };
      const failed = await store.update(approved, { status: 'FAILED', failure }, { actor: 'system', detail: failure.name });
      expect((await store.get(approved.id))?.failure).toEqual(failure);

      const retried = await store.update(failed, { status: 'APPROVED', failure: undefined }, { actor: 'U0ADMIN1', detail: 'retry' });

      expect(retried).not.toHaveProperty('failure');
      expect(retried).toMatchObject({ status: 'APPROVED', version: 3 });
      expect(await store.get(approved.id)).toEqual(retried);
      expect(await rawItem(requestKey(approved.id))).not.toHaveProperty('failure');
    });

    // Skipped where the emulator's conditional writes are not atomic (see BackendTraits).
    it.skipIf(!traits.atomicConditionalWrites)('lets exactly one of 12 concurrent approvals of the same copy win', async () => {
      const request = await created();
      const admins = Array.from({ length: 12 }, (_, i) => `U0ADMIN${String(i).padStart(2, '0')}`);

      const results = await Promise.allSettled(
        admins.map((admin) => {
          const now = new Date().toISOString();
          return store.update(
            request,
            { status: 'APPROVED', decidedBy: admin, decidedAt: now, approvals: [{ by: admin, at: now }], approverIds: [admin] },
            { actor: admin, detail: 'approved' },
          );
        }),
      );

      const won = results.filter((r): r is PromiseFulfilledResult<AccessRequest> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(11);
      const winner = won[0]?.value;
      for (const { reason } of lost) {
        expect(reason).toBeInstanceOf(ConflictError);
        expect((reason as ConflictError<AccessRequest>).current).toMatchObject({ status: 'APPROVED', version: 2, decidedBy: winner?.decidedBy });
      }
      expect(await store.get(request.id)).toEqual(winner);
      const approvedEvents = (await store.auditEvents(request.id)).filter((e) => e.to === 'APPROVED');
      expect(approvedEvents).toHaveLength(1);
      expect(approvedEvents[0]?.actor).toBe(winner?.decidedBy);
    });
  });

  describe('one pending request per IAM user and level', () => {
    it('refuses a second PENDING request for the same user and level, allows another level, and frees the slot once decided', async () => {
      const first = await created();

      const duplicate = aRequest();
      const err = await conflictOf(store.create(duplicate, requested));
      expect(err.current?.id).toBe(first.id);
      expect(await store.get(duplicate.id)).toBeUndefined();

      const otherLevel = await created({ level: 'full', groupName: 'BillingFull' });
      expect((await store.get(otherLevel.id))?.status).toBe('PENDING');

      await store.update(first, { status: 'DENIED', decidedBy: 'U0ADMIN1', decidedAt: new Date().toISOString() }, { actor: 'U0ADMIN1', detail: 'denied' });
      const again = await created();
      expect((await store.get(again.id))?.status).toBe('PENDING');
      expect((await rawItem(pendingLockKey('jane.doe', 'read-only')))?.requestId).toBe(again.id);
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
      await store.update(first, { status: 'CANCELLED', decidedBy: 'U0EMPLOYEE' }, { actor: 'U0EMPLOYEE', detail: 'cancelled' });
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
      for (const o of outcomes) if (o !== 'created') expect(o).toBeInstanceOf(ConflictError);
      const pending = await store.listByStatus('PENDING');
      expect(pending).toHaveLength(1);
      expect((await rawItem(pendingLockKey('jane.doe', 'read-only')))?.requestId).toBe(pending[0]?.id);
    });
  });

  describe('index queries', () => {
    it('listByStatus: oldest first, createdBefore inclusive, limit', async () => {
      const base = Date.now() - 10 * HOUR_MS;
      const p1 = await created({ createdAt: at(base), iamUserName: 'user.1' });
      const p2 = await created({ createdAt: at(base + HOUR_MS), iamUserName: 'user.2' });
      const p3 = await created({ createdAt: at(base + 2 * HOUR_MS), iamUserName: 'user.3' });
      await created({ createdAt: at(base + 30 * 60 * 1000), iamUserName: 'user.4', status: 'APPROVED', breakGlass: true });

      expect((await store.listByStatus('PENDING')).map((r) => r.id)).toEqual([p1.id, p2.id, p3.id]);
      expect((await store.listByStatus('PENDING', { createdBefore: p2.createdAt })).map((r) => r.id)).toEqual([p1.id, p2.id]);
      expect((await store.listByStatus('PENDING', { createdBefore: shift(p2.createdAt, -1) })).map((r) => r.id)).toEqual([p1.id]);
      expect((await store.listByStatus('PENDING', { limit: 2 })).map((r) => r.id)).toEqual([p1.id, p2.id]);
      expect(await store.listByStatus('PENDING', { createdBefore: shift(p1.createdAt, -1) })).toEqual([]);
    });

    it('listExpiring: grants expiring at or before `before`, soonest first, obeying an expiresAt edited in the table', async () => {
      const now = new Date().toISOString();
      const grant = async (iamUserName: string, expiresAt: string) => {
        const approved = await created({ iamUserName, status: 'APPROVED', breakGlass: true });
        return store.update(approved, { status: 'ACTIVE', expiresAt }, { actor: 'system', detail: 'granted' });
      };
      const inAnHour = await grant('user.a', shift(now, HOUR_MS));
      const anHourAgo = await grant('user.b', shift(now, -HOUR_MS));
      const twoDaysAgo = await grant('user.c', shift(now, -2 * DAY_MS));
      const inThreeDays = await grant('user.d', shift(now, 3 * DAY_MS));
      const exactlyNow = await grant('user.e', now);
      const ended = await grant('user.f', shift(now, -3 * DAY_MS));
      await store.update(ended, { status: 'EXPIRED', endedBy: 'system', endedAt: now }, { actor: 'system', detail: 'expired' });
      await created({ iamUserName: 'user.g', status: 'APPROVED', breakGlass: true });

      const ids = async (before: string, limit?: number) => (await store.listExpiring('ACTIVE', before, limit)).map((r) => r.id);
      expect(await ids(now)).toEqual([twoDaysAgo.id, anHourAgo.id, exactlyNow.id]);
      expect(await ids(now, 1)).toEqual([twoDaysAgo.id]);
      expect(await ids(shift(now, 4 * DAY_MS))).toEqual([twoDaysAgo.id, anHourAgo.id, exactlyNow.id, inAnHour.id, inThreeDays.id]);

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
      expect(due.map((r) => r.id)).toEqual([inThreeDays.id, twoDaysAgo.id, exactlyNow.id]);
      expect(due[0]?.expiresAt).toBe(shift(now, -5 * DAY_MS));
    });

    it('listByRequester: newest first, with a limit; listByIamUser: all of the user’s requests and nothing else', async () => {
      const base = Date.now() - 5 * DAY_MS;
      const old = await created({ createdAt: at(base), status: 'DENIED' });
      const mid = await created({ createdAt: at(base + DAY_MS), status: 'EXPIRED', level: 'full', groupName: 'BillingFull' });
      const recent = await created({ createdAt: at(base + 2 * DAY_MS) });
      const otherRequester = await created({ createdAt: at(base + 3 * DAY_MS), requesterId: 'U0OTHER', iamUserName: 'john.roe' });
      await store.putLink({ userId: 'U0EMPLOYEE', iamUserName: 'jane.doe', linkedBy: 'U0ADMIN1', linkedAt: new Date().toISOString() });

      expect((await store.listByRequester('U0EMPLOYEE')).map((r) => r.id)).toEqual([recent.id, mid.id, old.id]);
      expect((await store.listByRequester('U0EMPLOYEE', 2)).map((r) => r.id)).toEqual([recent.id, mid.id]);
      expect(await store.listByRequester('U0NOBODY')).toEqual([]);

      const janes = await store.listByIamUser('jane.doe');
      expect(janes.map((r) => r.id).sort()).toEqual([old.id, mid.id, recent.id].sort());
      expect(janes.find((r) => r.id === mid.id)).toEqual(mid);
      expect((await store.listByIamUser('john.roe')).map((r) => r.id)).toEqual([otherRequester.id]);
    });

    it('listCreatedBetween: exactly [from, to) across month and year boundaries, oldest first', async () => {
      const from = '2024-12-20T00:00:00.000Z';
      const to = '2025-02-03T00:00:00.000Z';
      const times = {
        earlierMonth: '2024-11-30T23:59:59.999Z',
        justBeforeFrom: shift(from, -1),
        atFrom: from,
        endOfDecember: '2024-12-31T23:59:59.999Z',
        midJanuary: '2025-01-15T08:30:00.000Z',
        startOfFebruary: '2025-02-01T00:00:00.000Z',
        justBeforeTo: shift(to, -1),
        atTo: to,
        laterMonth: '2025-03-01T00:00:00.000Z',
      };
      const byName: Record<string, AccessRequest> = {};
      let n = 0;
      for (const [name, createdAt] of Object.entries(times)) {
        byName[name] = await created({ createdAt, iamUserName: `user.${n++}`, status: n % 2 === 0 ? 'PENDING' : 'DENIED' });
      }

      const found = await store.listCreatedBetween(from, to);

      const expected = ['atFrom', 'endOfDecember', 'midJanuary', 'startOfFebruary', 'justBeforeTo'].map((name) => byName[name]?.id);
      expect(found.map((r) => r.id)).toEqual(expected);
      expect(found[0]).toEqual(byName.atFrom);
    });

    it('auditEventsSince: pages of events at or after `since`, every one of them', async () => {
      const now = Date.now();
      const since = at(now - 45 * DAY_MS);
      const tooOld = await created({ createdAt: at(now - 70 * DAY_MS), iamUserName: 'user.old' });
      const atSince = await created({ createdAt: since, iamUserName: 'user.since' });
      const fortyDays = await created({ createdAt: at(now - 40 * DAY_MS), iamUserName: 'user.forty' });
      const tenDays = await created({ createdAt: at(now - 10 * DAY_MS), iamUserName: 'user.ten' });
      await store.update(tooOld, { status: 'TIMED_OUT', decidedBy: 'system' }, { actor: 'system', detail: 'timed out' });

      const pages: AuditEvent[][] = [];
      for await (const page of store.auditEventsSince(since)) pages.push(page);

      expect(pages.length).toBeGreaterThan(0);
      for (const page of pages) {
        expect(page.length).toBeGreaterThan(0);
        for (const event of page) expect(event.at >= since).toBe(true);
      }
      const seen = pages.flat().map((e) => `${e.requestId}:${e.from}->${e.to}`);
      expect(seen.sort()).toEqual(
        [`${atSince.id}:null->PENDING`, `${fortyDays.id}:null->PENDING`, `${tenDays.id}:null->PENDING`, `${tooOld.id}:PENDING->TIMED_OUT`].sort(),
      );
    });
  });

  describe('undelivered notices', () => {
    it('listNoticeDue finds requests still owing notices up to `before`; clearNoticeDue clears only the version it was given', async () => {
      const now = new Date().toISOString();
      const decide = async (iamUserName: string, changes: Partial<AccessRequest>) => {
        const request = await created({ iamUserName });
        return store.update(request, { status: 'DENIED', decidedBy: 'U0ADMIN1', ...changes }, { actor: 'U0ADMIN1', detail: 'denied' });
      };
      const twoHoursAgo = await decide('user.a', { noticeDue: 'DUE', updatedAt: shift(now, -2 * HOUR_MS) });
      const atBefore = await decide('user.b', { noticeDue: 'DUE', updatedAt: now });
      await decide('user.c', { noticeDue: 'DUE', updatedAt: shift(now, 1) });
      await decide('user.d', { updatedAt: shift(now, -3 * HOUR_MS) });

      expect((await store.listNoticeDue(now)).map((r) => r.id).sort()).toEqual([twoHoursAgo.id, atBefore.id].sort());
      expect(await store.listNoticeDue(now, 1)).toHaveLength(1);

      await store.clearNoticeDue(twoHoursAgo.id, twoHoursAgo.version - 1);
      expect((await store.get(twoHoursAgo.id))?.noticeDue).toBe('DUE');

      await store.clearNoticeDue(twoHoursAgo.id, twoHoursAgo.version);
      const { noticeDue: _cleared, ...withoutNotice } = twoHoursAgo;
      expect(await store.get(twoHoursAgo.id)).toEqual(withoutNotice);
      expect((await store.listNoticeDue(now)).map((r) => r.id)).toEqual([atBefore.id]);
    });
  });

  describe('identity links', () => {
    it('putLink then getLink; a new link replaces the old one; unknown users have none', async () => {
      const link = { userId: 'U0EMPLOYEE', iamUserName: 'jane.doe', linkedBy: 'U0ADMIN1', linkedAt: new Date().toISOString() };
      await store.putLink(link);
      expect(await store.getLink('U0EMPLOYEE')).toEqual(link);

      const relinked = { ...link, iamUserName: 'jane.doe2', linkedBy: 'U0ADMIN2', linkedAt: new Date().toISOString() };
      await store.putLink(relinked);
      expect(await store.getLink('U0EMPLOYEE')).toEqual(relinked);
      expect(await store.getLink('U0NOBODY')).toBeUndefined();
    });

    it('is one-to-one: an IAM user linked to one Slack user is refused to another, whatever its case; linkHolder finds it', async () => {
      const now = new Date().toISOString();
      await store.putLink({ userId: 'U0ALT', iamUserName: 'Boss', linkedBy: 'U0ADMIN1', linkedAt: now });
      const err = await store.putLink({ userId: 'U0OTHER', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError<{ userId: string }>).current?.userId).toBe('U0ALT');
      expect(await store.getLink('U0OTHER')).toBeUndefined();
      expect((await store.linkHolder('BOSS'))?.userId).toBe('U0ALT');
      // The holder itself may be linked again to the same IAM user.
      await store.putLink({ userId: 'U0ALT', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now });
      expect((await store.linkHolder('boss'))?.iamUserName).toBe('boss');
    });

    it('frees the IAM user when its holder is linked elsewhere, and takes over a claim its holder no longer backs', async () => {
      const now = new Date().toISOString();
      await store.putLink({ userId: 'U0ALT', iamUserName: 'boss', linkedBy: 'U0ADMIN1', linkedAt: now });
      await store.putLink({ userId: 'U0ALT', iamUserName: 'someone.else', linkedBy: 'U0ADMIN1', linkedAt: now });
      expect(await store.linkHolder('boss')).toBeUndefined();
      await store.putLink({ userId: 'U0BOSS', iamUserName: 'boss', linkedBy: 'U0ADMIN2', linkedAt: now });
      expect((await store.linkHolder('boss'))?.userId).toBe('U0BOSS');

      // A writer that died between claiming an IAM user and writing its link leaves a claim no link backs.
      await doc.send(
        new PutCommand({ TableName: tableName, Item: { pk: 'LINKIAM#orphan', sk: 'LINK', entity: 'link-claim', userId: 'U0DEAD', iamUserName: 'orphan' } }),
      );
      expect(await store.linkHolder('orphan')).toBeUndefined();
      await store.putLink({ userId: 'U0LIVE', iamUserName: 'orphan', linkedBy: 'U0ADMIN1', linkedAt: now });
      expect((await store.linkHolder('orphan'))?.userId).toBe('U0LIVE');
    });
  });

  describe('links written before links were one-to-one', () => {
    it('backfillLinkClaims claims each IAM user for its link, and with two links to one IAM user the earliest keeps it', async () => {
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
  });

  describe('the state machine and the audit trail', () => {
    it('refuses a status change PRODUCT §2 does not allow, before it reaches the table', async () => {
      const pending = await created();
      await expect(store.update(pending, { status: 'ACTIVE' }, { actor: 'U0ADMIN1', detail: 'skip the approval' })).rejects.toThrow(/PENDING → ACTIVE/);
      expect((await store.get(pending.id))?.status).toBe('PENDING');
      expect((await store.auditEvents(pending.id)).map((e) => e.to)).toEqual(['PENDING']);
    });

    it('appendNote adds an audit event without changing the request, in order after the version it follows', async () => {
      const pending = await created();
      const at = new Date().toISOString();
      await store.appendNote(pending, { actor: 'system', detail: 'removed jane.doe from BillingReadOnly, then lost the ending write', at });
      const denied = await store.update(pending, { status: 'DENIED', decidedBy: 'U0ADMIN1', decidedAt: at }, { actor: 'U0ADMIN1', detail: 'denied' });
      expect(denied.version).toBe(2);
      const events = await store.auditEvents(pending.id);
      expect(events.map((e) => [e.from, e.to])).toEqual([
        [null, 'PENDING'],
        ['PENDING', 'PENDING'],
        ['PENDING', 'DENIED'],
      ]);
      expect(events[1]?.detail).toContain('lost the ending write');
    });

    it('one live break-glass grant per IAM user: a second is refused while the first is live, and a Retry of a failed one takes the slot again', async () => {
      const bg = (overrides: Partial<AccessRequest> = {}) =>
        aRequest({ status: 'APPROVED', breakGlass: true, decidedBy: 'U0EMPLOYEE', decidedAt: new Date().toISOString(), ...overrides });
      const first = bg({ level: 'full', groupName: 'BillingFull' });
      await store.create(first, requested);
      const refused = await conflictOf(store.create(bg({ iamUserName: 'JANE.DOE' }), requested));
      expect(refused.current?.id).toBe(first.id);

      const now = new Date().toISOString();
      const failed = await store.update(
        first,
        { status: 'FAILED', failure: { name: 'AccessDenied', message: 'no', at: now } },
        { actor: 'system', detail: 'failed' },
      );
      const second = bg();
      await store.create(second, requested);
      // Retrying the failed one while the second is live would make two.
      const retry = await conflictOf(store.update(failed, { status: 'APPROVED' }, { actor: 'U0ADMIN1', detail: 'retry' }));
      expect(retry.current?.id).toBe(second.id);
      expect((await store.get(first.id))?.status).toBe('FAILED');

      await store
        .update(second, { status: 'ACTIVE', expiresAt: now }, { actor: 'system', detail: 'added' })
        .then((active) => store.update(active, { status: 'EXPIRED', endedBy: 'system', endedAt: now }, { actor: 'system', detail: 'expired' }));
      expect((await store.update(failed, { status: 'APPROVED' }, { actor: 'U0ADMIN1', detail: 'retry' })).status).toBe('APPROVED');
    });

    it('one pending request per IAM user counts Jane.Doe and jane.doe as one user, as IAM does', async () => {
      await created({ iamUserName: 'jane.doe' });
      const err = await conflictOf(store.create(aRequest({ iamUserName: 'Jane.Doe' }), requested));
      expect(err.current?.iamUserName).toBe('jane.doe');
    });
  });

  describe('capacity', () => {
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
      await store.update(request, { status: 'CANCELLED', decidedBy: 'U0EMPLOYEE' }, { actor: 'U0EMPLOYEE', detail: 'cancelled' });
      expect(store.capacity.write).toBeGreaterThan(afterGet.write);

      const afterUpdate = { ...store.capacity };
      await store.listByStatus('CANCELLED');
      expect(store.capacity.read).toBeGreaterThan(afterUpdate.read);
    });
  });
}

describe.each([
  { backend: 'dynalite (in memory)', open: dynaliteInMemory, traits: { atomicConditionalWrites: true } },
  { backend: 'moto_server', open: motoServer, traits: { atomicConditionalWrites: false } },
])('RequestStore contract on $backend', ({ open, traits }) => {
  storeContract(open, traits);
});
