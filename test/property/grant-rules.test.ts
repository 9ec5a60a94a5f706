/**
 * The grant rules as properties (PRODUCT §1-§3): thousands of random stories of requests,
 * break-glass, approvals, denials, cancels, retries, extensions, revokes, done, links, Keeps,
 * sweeps, clock jumps, IAM faults and hand edits, by employees, admins, a guest and an admin's
 * second account, with two actions racing now and then. After every step: whoever the bot put
 * in a billing group holds an ACTIVE grant; every ACTIVE grant was approved by enough distinct
 * admins, none of them the grantee by Slack id or by IAM user, or is break-glass within its
 * hours; no expiry passes its cap; every status change has one audit event and follows §2;
 * after a sweep the table and IAM agree.
 *
 * `npm test` runs it on the in-memory store, seeded. `npm run test:model` runs it longer on
 * dynalite (MODEL_STORE=dynalite, MODEL_RUNS, MODEL_SEED). A failure prints the seed and path
 * that replay it, and the shortest story fast-check found.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentTable } from '../../src/store/document-client.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { MemoryRequestStore } from '../support/memory-store.js';
import { commands, finalSweep, type Model } from '../support/model/commands.js';
import { type ModelStore, World } from '../support/model/world.js';

const onDynalite = process.env.MODEL_STORE === 'dynalite';
const runs = Number(process.env.MODEL_RUNS ?? (onDynalite ? 1500 : 1000));
const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : 20301;
const maxCommands = Number(process.env.MODEL_MAX_COMMANDS ?? 50);

/** Moves and refusals every run of this size reaches. */
const REACHED_AT_LEAST = [
  'new→PENDING',
  'PENDING→APPROVED',
  'APPROVED→ACTIVE',
  'new→APPROVED (break-glass)',
  'APPROVED→ACTIVE (break-glass)',
  'APPROVED→EXTENDED',
  'APPROVED→FAILED',
  'FAILED→APPROVED',
  'FAILED→TIMED_OUT',
  'ACTIVE→EXPIRED',
  'ACTIVE→REVOKED',
  'PENDING→DENIED',
  'PENDING→CANCELLED',
  'PENDING→TIMED_OUT',
  'refused: own IAM user',
  'refused: NotAllowedError',
];

describe(`the grant rules hold under any sequence of actions (${onDynalite ? 'dynalite' : 'in-memory store'}, ${runs} runs)`, () => {
  let dynalite: EmbeddedDynamo | undefined;
  let client: DynamoDBClient | undefined;

  beforeAll(async () => {
    if (!onDynalite) return;
    dynalite = await startEmbeddedDynamo(null);
    client = new DynamoDBClient({
      endpoint: dynalite.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'model', secretAccessKey: 'model' },
      cacheMiddleware: true,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await dynalite?.close();
  });

  /** A fresh table per story: on dynalite a new one each run, as `ensureTable` makes it. */
  async function freshStore(): Promise<ModelStore> {
    if (!client) return new MemoryRequestStore();
    const table = `model-${ulid()}`;
    await ensureTable(client, table);
    return new DynamoRequestStore(new DocumentTable(client), table);
  }

  /** What the stories reached, so a run that never gets anywhere interesting fails instead of passing idly. */
  const reached = new Map<string, number>();
  const count = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);
  async function tally(world: World): Promise<void> {
    for (const request of await world.allRequests()) {
      if (request.linkedBy) count(request.approvals.length ? 'linked request approved' : 'linked request made');
      for (const event of await world.store.auditEvents(request.id)) {
        if (event.from !== event.to) count(`${event.from ?? 'new'}→${event.to}${request.breakGlass ? ' (break-glass)' : ''}`);
        else if (/lost the ending write/.test(event.detail)) count('lost race put right');
        else if (/could not finish/.test(event.detail)) count('revoke owed to the sweeper');
      }
    }
    for (const [what, n] of world.refusals) reached.set(what, (reached.get(what) ?? 0) + n);
  }

  it(
    'after every step',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands, size: 'max' }), async (story) => {
          const world = new World(await freshStore());
          const model: Model = { steps: 0 };
          try {
            await fc.asyncModelRun(() => ({ model, real: world }), story);
            await finalSweep(model, world);
          } finally {
            await tally(world);
          }
        }),
        { numRuns: runs, seed, verbose: 1 },
      );
      const seen = Object.fromEntries([...reached].sort());
      console.info(`grant rules: what ${runs} stories reached`, seen);
      // The stories must reach the states the rules are about, or the run proves nothing (a short run for a replay is exempt).
      if (runs >= 300) for (const what of REACHED_AT_LEAST) expect(reached.get(what) ?? 0, `no story reached ${what}`).toBeGreaterThan(0);
    },
    onDynalite ? 60 * 60_000 : 300_000,
  );
});
