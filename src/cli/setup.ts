/**
 * `npm run setup [-- --groups]`: creates the DynamoDB table with its indexes and, with
 * --groups, the configured IAM groups with their managed policies. Safe to run twice.
 * Needs only the store and AWS variables (Slack tokens are not required here). It names the
 * store it set up; no credentials, an endpoint that does not answer or a held embedded store
 * are told with the hint doctor gives (src/environment-hints.ts), exit code 1.
 *
 * A composition root of its own: it opens the DynamoDB and IAM clients (with the helpers of
 * src/deps.ts) and closes them when done.
 */
import '../sdk-node-warning.js';
import 'dotenv/config';
import { ensureGroup } from '../aws/groups.js';
import { openDynamo, openIam } from '../aws-clients.js';
import { loadStoreConfig, type StoreConfig } from '../config.js';
import { type AwsService, formatHint, hintForError } from '../environment-hints.js';
import { ConfigError } from '../errors.js';
import { DocumentTable } from '../store/document-client.js';
import { DynamoRequestStore } from '../store/dynamo-store.js';
import { backfillLinkClaims } from '../store/link-store.js';
import { ensureTable } from '../store/table.js';
import { recordEndpoint, storeLabel } from './store-label.js';

/** A failure with a known cause, already worded for the operator. */
class SetupError extends Error {
  override name = 'SetupError';
}

/**
 * Runs one step; a failure the environment explains becomes its hint, anything else goes up as
 * it is. `doing` says what the step was about (read after a failure: it may name the endpoint the step tried).
 */
async function step<T>(doing: () => string | Promise<string>, where: { service: AwsService; dataDir?: string }, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const hint = hintForError(err, where);
    if (hint) throw new SetupError(`could not ${await doing()}: ${formatHint(hint)}`, { cause: err });
    throw err;
  }
}

async function setupTable(config: StoreConfig): Promise<void> {
  const where = { service: 'DynamoDB' as const, dataDir: config.dataDir };
  const { client, embedded } = await step(
    () => 'open the embedded store',
    where,
    () => openDynamo(config, config.aws),
  );
  const endpoint = recordEndpoint(client);
  try {
    const outcome = await step(
      async () => `set up ${await storeLabel(config, client, endpoint())}`,
      where,
      () => ensureTable(client, config.tableName),
    );
    const label = await storeLabel(config, client, endpoint());
    process.stdout.write(`${outcome === 'created' ? 'created' : 'exists:'} ${label}\n`);
    if (outcome !== 'created') {
      const doc = new DocumentTable(client);
      const links = await backfillLinkClaims(new DynamoRequestStore(doc, config.tableName), doc, config.tableName);
      if (links.claimed) process.stdout.write(`claimed ${links.claimed} identity link(s) written before links were one-to-one\n`);
      for (const d of links.duplicates) {
        process.stdout.write(
          `warning: IAM user ${d.iamUserName} was linked to several Slack users (${d.userIds.join(', ')}); ${d.kept}, the earliest, keeps it and the others are refused until an admin re-links them\n`,
        );
      }
    }
  } finally {
    client.destroy();
    await embedded?.close();
  }
}

async function setupGroups(config: StoreConfig): Promise<void> {
  const iam = openIam(config.aws);
  try {
    for (const level of config.levels) {
      const lines = await step(
        () => `create the IAM group ${level.groupName}`,
        { service: 'IAM' },
        () => ensureGroup(iam, level.groupName, level.policyArn),
      );
      for (const line of lines) process.stdout.write(`${line}\n`);
    }
  } finally {
    iam.destroy();
  }
}

async function main(): Promise<number> {
  const withGroups = process.argv.includes('--groups');
  let config: StoreConfig;
  try {
    config = loadStoreConfig({ groups: withGroups });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  await setupTable(config);
  if (withGroups) await setupGroups(config);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      err instanceof SetupError ? `setup: ${err.message}\n` : `setup failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
