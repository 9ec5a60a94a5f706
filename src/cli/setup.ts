/**
 * `npm run setup [-- --groups]`: creates the DynamoDB table with its indexes and, with
 * --groups, the configured IAM groups with their managed policies. Safe to run twice.
 * Needs only the store and AWS variables (Slack tokens are not required here).
 */
import 'dotenv/config';
import { ensureGroup } from '../aws/groups.js';
import { loadConfig } from '../config.js';
import { openDynamo, openIam } from '../deps.js';
import { ConfigError } from '../errors.js';
import { ensureTable } from '../store/table.js';

/** Placeholders for the Slack variables, which setup never uses. */
const SLACK_PLACEHOLDERS = {
  SLACK_BOT_TOKEN: 'xoxb-setup',
  SLACK_SIGNING_SECRET: 'setup',
  ADMIN_CHANNEL_ID: 'CSETUP',
  ADMIN_USER_IDS: 'USETUP',
};

async function main(): Promise<void> {
  const withGroups = process.argv.includes('--groups');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...SLACK_PLACEHOLDERS, ...process.env });
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
