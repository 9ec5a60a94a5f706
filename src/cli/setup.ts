/**
 * `npm run setup [-- --groups]`: creates the DynamoDB table with its indexes and, with
 * --groups, the configured IAM groups with their managed policies. Safe to run twice.
 * Needs only the store and AWS variables (Slack tokens are not required here).
 *
 * A composition root of its own: it opens the DynamoDB and IAM clients (with the helpers of
 * src/deps.ts) and closes them when done.
 */
import 'dotenv/config';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureGroup } from '../aws/groups.js';
import { loadStoreConfig, type StoreConfig } from '../config.js';
import { openDynamo, openIam } from '../deps.js';
import { ConfigError } from '../errors.js';
import { DynamoRequestStore } from '../store/dynamo-store.js';
import { backfillLinkClaims } from '../store/link-store.js';
import { ensureTable } from '../store/table.js';

async function main(): Promise<void> {
  const withGroups = process.argv.includes('--groups');
  let config: StoreConfig;
  try {
    config = loadStoreConfig({ groups: withGroups });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { client, embedded } = await openDynamo(config, config.aws);
  try {
    const outcome = await ensureTable(client, config.tableName);
    process.stdout.write(`${outcome === 'created' ? 'created' : 'exists:'} DynamoDB table ${config.tableName} (${config.store})\n`);
    if (outcome !== 'created') {
      const doc = DynamoDBDocumentClient.from(client);
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
  if (withGroups) {
    const iam = openIam(config.aws);
    for (const level of config.levels) {
      for (const line of await ensureGroup(iam, level.groupName, level.policyArn)) process.stdout.write(`${line}\n`);
    }
    iam.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`setup failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
