/**
 * `npm run setup [-- --groups]`: creates the DynamoDB table with its indexes and, with
 * --groups, the configured IAM groups with their managed policies. Safe to run twice.
 * Needs only the store and AWS variables (Slack tokens are not required here).
 */
import 'dotenv/config';
import {
  AttachGroupPolicyCommand,
  CreateGroupCommand,
  EntityAlreadyExistsException,
  type IAMClient,
  paginateListAttachedGroupPolicies,
} from '@aws-sdk/client-iam';
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

export async function ensureGroup(iam: IAMClient, groupName: string, policyArn: string): Promise<string[]> {
  const done: string[] = [];
  try {
    await iam.send(new CreateGroupCommand({ GroupName: groupName }));
    done.push(`created IAM group ${groupName}`);
  } catch (err) {
    if (!(err instanceof EntityAlreadyExistsException)) throw err;
    done.push(`IAM group ${groupName} exists`);
  }
  const attached: string[] = [];
  for await (const page of paginateListAttachedGroupPolicies({ client: iam }, { GroupName: groupName })) {
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) attached.push(p.PolicyArn);
  }
  if (!attached.includes(policyArn)) {
    await iam.send(new AttachGroupPolicyCommand({ GroupName: groupName, PolicyArn: policyArn }));
    done.push(`attached ${policyArn} to ${groupName}`);
  }
  const others = attached.filter((a) => a !== policyArn);
  if (others.length) done.push(`warning: ${groupName} also holds ${others.join(', ')}; the bot refuses to grant it until they are removed`);
  return done;
}

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
