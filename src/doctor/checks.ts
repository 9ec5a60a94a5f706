/**
 * The checks behind `npm run doctor`. Each takes the clients it reads through (so a test can
 * point them anywhere) and returns results; nothing here prints, exits or reads the environment.
 *
 * A result is ✓ ok, ✗ fail (with the fix) or ⚠ warn. A check that cannot be answered where the
 * bot runs (an emulator without policy simulation, a setting with no API) is a warning that
 * says "could not check" and why: never ✓, never ✗.
 */
import { DescribeTableCommand, type DescribeTableCommandOutput, type DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  GetGroupCommand,
  GetRoleCommand,
  type IAMClient,
  NoSuchEntityException,
  paginateListAttachedGroupPolicies,
  paginateListGroupPolicies,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandOutput,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { readDefaultPolicyVersion } from '../aws/iam.js';
import type { Config, IamMode, LevelConfig } from '../config.js';
import { type GroupPolicyProblem, groupPolicyProblems, isAwsManagedPolicy, needsPolicyDocument } from '../domain/group-policy.js';
import type { GroupPolicyState } from '../services/ports.js';
import { tableDefinition } from '../store/table.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export type CheckSection = 'Slack' | 'Admins' | 'Store' | 'IAM' | 'Settings';

export interface CheckResult {
  section: CheckSection;
  status: CheckStatus;
  title: string;
  /** What was found; for a warning that could not be answered, "could not check: <why>". */
  detail?: string;
  /** What to do about it (failures, and warnings that have a remedy). */
  fix?: string;
}

const ok = (section: CheckSection, title: string, detail?: string): CheckResult => ({ section, status: 'ok', title, ...(detail ? { detail } : {}) });
const fail = (section: CheckSection, title: string, detail: string, fix: string): CheckResult => ({ section, status: 'fail', title, detail, fix });
const warn = (section: CheckSection, title: string, detail: string, fix?: string): CheckResult => ({
  section,
  status: 'warn',
  title,
  detail,
  ...(fix ? { fix } : {}),
});
const couldNotCheck = (section: CheckSection, title: string, why: string, fix?: string): CheckResult => warn(section, title, `could not check: ${why}`, fix);

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // The SDK's message for an unparseable answer is long and about XML; its first line is enough.
    const message = err.message.split('\n')[0] ?? '';
    return `${err.name}${status ? ` (HTTP ${status})` : ''}${message ? `: ${message}` : ''}`;
  }
  return String(err);
}

const errorNameOf = (err: unknown) => (err instanceof Error ? err.name : '');
const isAccessDenied = (err: unknown) => /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(errorNameOf(err));

// ---------------------------------------------------------------------------
// Slack
// ---------------------------------------------------------------------------

/** The part of the Web API client the checks use (WebClient satisfies it). */
export interface SlackApi {
  apiCall(method: string, options?: Record<string, unknown>): Promise<SlackAnswer>;
}

/** A Web API answer; the client turns `ok: false` into a thrown error. The granted scopes come from the x-oauth-scopes header. */
export interface SlackAnswer {
  ok?: boolean;
  response_metadata?: { scopes?: string[] };
}

/** A field of an answer, by name (answers differ per method). */
const field = (answer: SlackAnswer, name: string): unknown => (answer as Record<string, unknown>)[name];

/** The bot scopes the code needs when no manifest.yml says otherwise. */
export const BUILT_IN_SCOPES = ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'usergroups:read'] as const;

export interface RequiredScopes {
  scopes: string[];
  /** Where the list came from, shown in the output: "manifest.yml" or "built-in list". */
  source: string;
}

/** The Slack error code (`invalid_auth`, `channel_not_found`…) of a failed call, or undefined for transport errors. */
function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

function slackNeeded(err: unknown): string | undefined {
  const data = (err as { data?: { needed?: unknown } } | undefined)?.data;
  return typeof data?.needed === 'string' ? data.needed : undefined;
}

function describeSlackError(err: unknown): string {
  const code = slackErrorCode(err);
  if (code) return code;
  const original = (err as { original?: unknown }).original;
  return describeError(original instanceof Error ? original : err);
}

/**
 * The bot scopes a manifest asks for (`oauth_config.scopes.bot`). `parseYaml` is a YAML parser
 * when one is installed; without it a small line reader handles the block and flow list forms.
 * undefined: the manifest names no bot scopes.
 */
export function manifestBotScopes(text: string, parseYaml?: (text: string) => unknown): string[] | undefined {
  if (parseYaml) {
    const doc = parseYaml(text) as { oauth_config?: { scopes?: { bot?: unknown } } } | null;
    const bot = doc?.oauth_config?.scopes?.bot;
    if (!Array.isArray(bot)) return undefined;
    return bot.filter((s): s is string => typeof s === 'string').map((s) => s.trim());
  }
  return lineParseBotScopes(text);
}

const unquote = (s: string) => s.trim().replace(/^(["'])(.*)\1$/, '$2');
const stripComment = (line: string) => line.replace(/(^|\s)#.*$/, '');

function lineParseBotScopes(text: string): string[] | undefined {
  const path = ['oauth_config', 'scopes', 'bot'];
  const lines = text.split(/\r?\n/).map(stripComment);
  const matched: number[] = []; // indents of the path keys found so far
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    while (matched.length > 0 && indent <= (matched.at(-1) ?? 0)) matched.pop();
    const key = line.trim().match(/^(["']?)([\w.-]+)\1\s*:\s*(.*)$/);
    if (!key || key[2] !== path[matched.length]) continue;
    matched.push(indent);
    if (matched.length < path.length) continue;
    const rest = (key[3] ?? '').trim();
    if (rest.startsWith('[')) {
      return rest
        .replace(/^\[|\]$/g, '')
        .split(',')
        .map(unquote)
        .filter(Boolean);
    }
    const scopes: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (!next.trim()) continue;
      const nextIndent = next.length - next.trimStart().length;
      const item = next.trim().match(/^-\s+(.+)$/);
      if (item && nextIndent >= indent) scopes.push(unquote(item[1] ?? ''));
      else break;
    }
    return scopes;
  }
  return undefined;
}

/** The scopes doctor expects: the manifest's (or the built-in list), plus usergroups:read only where a user group names the admins. */
export function requiredScopes(manifestScopes: string[] | undefined, adminUsergroupId: string | undefined): RequiredScopes {
  const base = manifestScopes && manifestScopes.length > 0 ? manifestScopes : [...BUILT_IN_SCOPES];
  const source = manifestScopes && manifestScopes.length > 0 ? 'manifest.yml' : 'built-in list';
  const scopes = base.filter((s) => s !== 'usergroups:read' || adminUsergroupId !== undefined);
  if (adminUsergroupId !== undefined && !scopes.includes('usergroups:read')) scopes.push('usergroups:read');
  return { scopes, source };
}

export interface SlackCheckInput {
  config: Pick<Config, 'adminChannelId' | 'adminUserIds' | 'adminUsergroupId'> & { slack: Pick<Config['slack'], 'apiUrl' | 'mode'> };
  /** The client with the bot token. */
  slack: SlackApi;
  /** Socket Mode only: a client with the app-level token. */
  app?: SlackApi;
  required: RequiredScopes;
}

export async function checkSlack(input: SlackCheckInput): Promise<CheckResult[]> {
  const { config, slack, required } = input;
  const results: CheckResult[] = [];
  let auth: SlackAnswer;
  try {
    auth = await slack.apiCall('auth.test');
  } catch (err) {
    const code = slackErrorCode(err);
    results.push(
      code
        ? fail(
            'Slack',
            'bot token',
            `auth.test answered ${code}`,
            'set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from the app’s OAuth & Permissions page, and reinstall the app if it was revoked',
          )
        : fail(
            'Slack',
            'bot token',
            `could not reach the Slack Web API at ${config.slack.apiUrl}: ${describeSlackError(err)}`,
            'check SLACK_API_URL and the network path to Slack',
          ),
    );
    const why = 'the bot token does not work (see above)';
    results.push(couldNotCheck('Slack', 'bot scopes', why));
    if (input.app) results.push(couldNotCheck('Slack', 'app-level token (Socket Mode)', why));
    results.push(couldNotCheck('Slack', `bot in the admin channel ${config.adminChannelId}`, why));
    results.push(couldNotCheck('Admins', 'admins resolve', why));
    return results;
  }
  const teamId = String(field(auth, 'team_id') ?? '?');
  const teamName = field(auth, 'team');
  const team = typeof teamName === 'string' ? `${teamName} (${teamId})` : teamId;
  const botUser = String(field(auth, 'user') ?? field(auth, 'user_id') ?? '?');
  results.push(
    ok('Slack', 'bot token', `auth.test OK: workspace ${team}, bot user @${botUser}, ${config.slack.mode === 'socket' ? 'Socket Mode' : 'HTTP mode'}`),
  );

  const granted = auth.response_metadata?.scopes;
  if (!granted) {
    results.push(
      couldNotCheck(
        'Slack',
        'bot scopes',
        `the Slack API at ${config.slack.apiUrl} did not report the token’s scopes (no x-oauth-scopes header)`,
        `make sure the app has ${required.scopes.join(', ')}`,
      ),
    );
  } else {
    const missing = required.scopes.filter((s) => !granted.includes(s));
    results.push(
      missing.length === 0
        ? ok('Slack', 'bot scopes', `the token has every scope of the ${required.source} (${required.scopes.join(', ')})`)
        : fail(
            'Slack',
            'bot scopes',
            `the token lacks ${missing.join(', ')} (from the ${required.source}; granted: ${granted.join(', ') || 'none'})`,
            `add ${missing.join(', ')} under OAuth & Permissions → Bot Token Scopes (or update the app from manifest.yml), then reinstall the app to the workspace`,
          ),
    );
  }

  if (input.app) results.push(await checkAppToken(input.app));
  results.push(await checkAdminChannel(slack, config.adminChannelId, botUser));
  results.push(...(await checkAdmins(slack, config.adminUserIds, config.adminUsergroupId)));
  return results;
}

async function checkAppToken(app: SlackApi): Promise<CheckResult> {
  const title = 'app-level token (Socket Mode)';
  try {
    await app.apiCall('apps.connections.open');
    return ok('Slack', title, 'apps.connections.open OK');
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'unknown_method') return couldNotCheck('Slack', title, 'this Slack API does not offer apps.connections.open');
    if (code)
      return fail(
        'Slack',
        title,
        `apps.connections.open answered ${code}`,
        'set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write (Basic Information → App-Level Tokens), and turn Socket Mode on',
      );
    return couldNotCheck('Slack', title, `could not reach Slack: ${describeSlackError(err)}`);
  }
}

async function checkAdminChannel(slack: SlackApi, channelId: string, botUser: string): Promise<CheckResult> {
  const title = `bot in the admin channel ${channelId}`;
  try {
    const out = await slack.apiCall('conversations.info', { channel: channelId });
    const channel = field(out, 'channel') as { name?: string; is_member?: boolean; is_archived?: boolean } | undefined;
    const name = channel?.name ? `#${channel.name}` : channelId;
    if (channel?.is_archived) return fail('Slack', title, `${name} is archived`, 'set ADMIN_CHANNEL_ID to a live channel and invite the bot there');
    if (channel?.is_member === true) return ok('Slack', title, `the bot is a member of ${name}`);
    if (channel?.is_member === false) return fail('Slack', title, `the bot is not a member of ${name}`, `invite the bot: type /invite @${botUser} in ${name}`);
    return couldNotCheck('Slack', title, 'conversations.info did not say whether the bot is a member');
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'channel_not_found')
      return fail(
        'Slack',
        title,
        `Slack does not know channel ${channelId}, or it is private and the bot is not in it`,
        `check ADMIN_CHANNEL_ID, then invite the bot: /invite @${botUser} in that channel`,
      );
    if (code === 'missing_scope')
      return couldNotCheck(
        'Slack',
        title,
        `conversations.info needs ${slackNeeded(err) ?? 'channels:read (groups:read for a private channel)'}, which the token does not have`,
        'make sure the bot is in the channel (it fails to post approvals otherwise), or grant that scope so doctor can check',
      );
    if (code) return fail('Slack', title, `conversations.info answered ${code}`, 'check ADMIN_CHANNEL_ID and invite the bot to that channel');
    return couldNotCheck('Slack', title, `could not reach Slack: ${describeSlackError(err)}`);
  }
}

async function checkAdmins(slack: SlackApi, adminUserIds: string[], usergroupId: string | undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (adminUserIds.length > 0) {
    const title = 'ADMIN_USER_IDS resolve';
    const found: string[] = [];
    const problems: string[] = [];
    let unreachable: string | undefined;
    for (const id of adminUserIds) {
      try {
        const out = await slack.apiCall('users.info', { user: id });
        const user = field(out, 'user') as
          | { name?: string; deleted?: boolean; is_bot?: boolean; is_restricted?: boolean; is_ultra_restricted?: boolean }
          | undefined;
        if (user?.deleted) problems.push(`${id} is deactivated`);
        else if (user?.is_bot) problems.push(`${id} is a bot`);
        else if (user?.is_restricted || user?.is_ultra_restricted) problems.push(`${id} is a guest`);
        else found.push(`${id} (@${user?.name ?? '?'})`);
      } catch (err) {
        const code = slackErrorCode(err);
        if (code === 'user_not_found') problems.push(`${id} is not a user of this workspace`);
        else if (code) problems.push(`${id}: users.info answered ${code}`);
        else unreachable = describeSlackError(err);
      }
    }
    if (problems.length > 0)
      results.push(fail('Admins', title, problems.join('; '), 'set ADMIN_USER_IDS to the member ids of active admins (profile → ⋮ → Copy member ID)'));
    else if (unreachable) results.push(couldNotCheck('Admins', title, `could not reach Slack: ${unreachable}`));
    else results.push(ok('Admins', title, found.join(', ')));
  }
  if (usergroupId) {
    const title = `ADMIN_USERGROUP_ID ${usergroupId} lists members`;
    try {
      const out = await slack.apiCall('usergroups.users.list', { usergroup: usergroupId });
      const listed = field(out, 'users');
      const users = Array.isArray(listed) ? listed : [];
      if (users.length > 0) results.push(ok('Admins', title, `${users.length} member${users.length === 1 ? '' : 's'}`));
      else
        results.push(
          adminUserIds.length > 0
            ? warn('Admins', title, 'the user group has no members: only ADMIN_USER_IDS can decide', 'add the admins to the user group')
            : fail('Admins', title, 'the user group has no members: nobody can approve', 'add the admins to the user group'),
        );
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === 'missing_scope')
        results.push(fail('Admins', title, 'usergroups.users.list needs usergroups:read', 'add usergroups:read to the bot scopes and reinstall the app'));
      else if (code)
        results.push(fail('Admins', title, `usergroups.users.list answered ${code}`, 'check ADMIN_USERGROUP_ID (a user group id like S012ABCDEF)'));
      else results.push(couldNotCheck('Admins', title, `could not reach Slack: ${describeSlackError(err)}`));
    }
  }
  return results;
}

// ---------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------

export interface TableCheck {
  result: CheckResult;
  /** The table's ARN when it exists (for the permission simulation). */
  tableArn?: string;
  indexNames: string[];
}

/**
 * The table exists, is ACTIVE, and has every index `tableDefinition()` describes, all ACTIVE.
 * `createdAtStart`: the embedded store, where the bot creates a missing table itself.
 */
export async function checkTable(
  dynamo: DynamoDBClient,
  options: { tableName: string; store: Config['store']; createdAtStart?: boolean },
): Promise<TableCheck> {
  const { tableName, store } = options;
  const title = `DynamoDB table ${tableName} (STORE=${store})`;
  const expected = (tableDefinition(tableName).GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  let table: NonNullable<DescribeTableCommandOutput['Table']>;
  try {
    const out = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    table = out.Table ?? {};
  } catch (err) {
    if (err instanceof ResourceNotFoundException || errorNameOf(err) === 'ResourceNotFoundException') {
      if (options.createdAtStart) return { result: ok('Store', title, 'not created yet: the bot creates it at its first start'), indexNames: [] };
      return {
        result: fail('Store', title, 'the table does not exist here', 'run npm run setup with the same environment (it creates the table and its indexes)'),
        indexNames: [],
      };
    }
    if (isAccessDenied(err))
      return {
        result: fail(
          'Store',
          title,
          `DescribeTable was refused: ${describeError(err)}`,
          'give the bot dynamodb:DescribeTable and item access on the table and its indexes',
        ),
        indexNames: [],
      };
    return {
      result: fail(
        'Store',
        title,
        `could not read the table: ${describeError(err)}`,
        'check the AWS credentials, AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB',
      ),
      indexNames: [],
    };
  }
  const present = (table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  const missing = expected.filter((name) => !present.includes(name));
  const notActive = (table.GlobalSecondaryIndexes ?? []).filter((i) => (i.IndexStatus ?? 'ACTIVE') !== 'ACTIVE').map((i) => `${i.IndexName} ${i.IndexStatus}`);
  const arn = table.TableArn ? { tableArn: table.TableArn } : {};
  const upgrade = options.createdAtStart
    ? 'the embedded store cannot add indexes: move DATA_DIR aside and start the bot again'
    : 'run npm run setup (it adds missing indexes and waits until they are ACTIVE)';
  if (missing.length > 0)
    return { result: fail('Store', title, `missing index${missing.length > 1 ? 'es' : ''} ${missing.join(', ')}`, upgrade), indexNames: present, ...arn };
  if (table.TableStatus !== 'ACTIVE')
    return {
      result: fail(
        'Store',
        title,
        `the table is ${table.TableStatus ?? 'in an unknown state'}, not ACTIVE`,
        'wait until it is ACTIVE (npm run setup waits for it)',
      ),
      indexNames: present,
      ...arn,
    };
  if (notActive.length > 0)
    return {
      result: fail('Store', title, `indexes not ACTIVE yet: ${notActive.join(', ')}`, 'wait until they are ACTIVE, then run doctor again'),
      indexNames: present,
      ...arn,
    };
  return { result: ok('Store', title, `ACTIVE with all ${expected.length} indexes`), indexNames: present, ...arn };
}

// ---------------------------------------------------------------------------
// IAM groups and the bot's own permissions
// ---------------------------------------------------------------------------

export interface GroupCheck {
  result: CheckResult;
  level: LevelConfig;
  /** The group's ARN when it exists. */
  arn?: string;
}

/**
 * Each configured group exists and holds exactly its expected managed policy and no inline
 * policy, and a customer-managed expected policy allows billing actions only (PRODUCT §3): the
 * grant's own rule (src/domain/group-policy.ts), on what doctor reads itself.
 */
export async function checkGroup(iam: IAMClient, level: LevelConfig, namespaces: readonly string[]): Promise<GroupCheck> {
  const title = `IAM group ${level.groupName} (level ${level.level})`;
  let arn: string | undefined;
  try {
    const out = await iam.send(new GetGroupCommand({ GroupName: level.groupName, MaxItems: 1 }));
    arn = out.Group?.Arn;
  } catch (err) {
    if (err instanceof NoSuchEntityException || errorNameOf(err) === 'NoSuchEntityException' || errorNameOf(err) === 'NoSuchEntity') {
      return {
        level,
        result: fail(
          'IAM',
          title,
          `group ${level.groupName} does not exist`,
          `run npm run setup -- --groups (creates ${level.groupName} with ${level.policyArn})`,
        ),
      };
    }
    if (isAccessDenied(err))
      return {
        level,
        result: fail('IAM', title, `GetGroup was refused: ${describeError(err)}`, 'give the bot iam:GetGroup on the billing groups (the policy in deploy/)'),
      };
    return {
      level,
      result: fail(
        'IAM',
        title,
        `could not read IAM: ${describeError(err)}`,
        'check the AWS credentials, AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_IAM',
      ),
    };
  }
  const found = arn ? { arn } : {};
  const read = await readGroupPolicies(iam, level, title);
  if ('problem' in read) return { level, ...found, result: read.problem };
  const problems = groupPolicyProblems({ expectedArn: level.policyArn, ...read.state, namespaces });
  if (problems.length === 0) return { level, ...found, result: ok('IAM', title, `exists and holds exactly ${level.policyArn}${versionNote(read.state)}`) };
  return {
    level,
    ...found,
    result: fail(
      'IAM',
      title,
      `${problems.map((p) => p.text).join('; ')} (the bot refuses to grant this group until it holds exactly ${level.policyArn}, within billing)`,
      [...new Set(problems.map((p) => groupFix(level, p)))].join('; '),
    ),
  };
}

const versionNote = (state: GroupPolicyState) => (state.expectedVersion ? ` (default version ${state.expectedVersion.versionId}: billing actions only)` : '');

/** The group's policies, through the same SDK calls as the bot (the expected policy's default version too, when customer-managed). */
async function readGroupPolicies(iam: IAMClient, level: LevelConfig, title: string): Promise<{ state: GroupPolicyState } | { problem: CheckResult }> {
  const state: GroupPolicyState = { attachedPolicyArns: [], inlinePolicyNames: [] };
  try {
    for await (const page of paginateListAttachedGroupPolicies({ client: iam }, { GroupName: level.groupName })) {
      for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) state.attachedPolicyArns.push(p.PolicyArn);
    }
    for await (const page of paginateListGroupPolicies({ client: iam }, { GroupName: level.groupName }))
      state.inlinePolicyNames.push(...(page.PolicyNames ?? []));
  } catch (err) {
    return {
      problem: fail(
        'IAM',
        title,
        `could not list the group's policies: ${describeError(err)}`,
        'give the bot iam:ListAttachedGroupPolicies and iam:ListGroupPolicies on the billing groups',
      ),
    };
  }
  if (!needsPolicyDocument(level.policyArn, state.attachedPolicyArns)) return { state };
  try {
    return { state: { ...state, expectedVersion: await readDefaultPolicyVersion(iam, level.policyArn) } };
  } catch (err) {
    return {
      problem: fail(
        'IAM',
        title,
        `could not read the default version of ${level.policyArn}: ${describeError(err)}`,
        `give the bot iam:GetPolicy and iam:GetPolicyVersion on ${level.policyArn} (the policy in deploy/, parameter CustomerManagedPolicyArns)`,
      ),
    };
  }
}

function groupFix(level: LevelConfig, problem: GroupPolicyProblem): string {
  switch (problem.kind) {
    case 'missing':
      return 'run npm run setup -- --groups to attach the expected policy';
    case 'unexpected':
      return `aws iam detach-group-policy --group-name ${level.groupName} --policy-arn ${problem.subject}`;
    case 'inline':
      return `aws iam delete-group-policy --group-name ${level.groupName} --policy-name ${problem.subject}`;
    case 'document':
      return `make a version of ${problem.subject} that allows billing actions only its default (aws iam list-policy-versions --policy-arn ${problem.subject}, then aws iam set-default-policy-version --policy-arn ${problem.subject} --version-id <that version>)`;
  }
}

/** IAM calls the bot makes (src/aws/iam.ts), by the resources they act on. */
const GROUP_READS = ['iam:GetGroup', 'iam:ListAttachedGroupPolicies', 'iam:ListGroupPolicies'];
const GROUP_WRITES = ['iam:AddUserToGroup', 'iam:RemoveUserFromGroup'];
/** Only on customer-managed expected policies: the guard reads their default version. */
const POLICY_READS = ['iam:GetPolicy', 'iam:GetPolicyVersion'];
const USER_READS = ['iam:GetUser', 'iam:GetLoginProfile', 'iam:ListMFADevices', 'iam:ListGroupsForUser', 'iam:ListAccessKeys'];
const TABLE_ACTIONS = ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'];

interface Probe {
  actions: string[];
  resources: string[];
  /** Denied here is a warning, not a failure (dry-run writes, optional reads). */
  soft?: string;
}

export interface PermissionInput {
  iam: IAMClient;
  sts: STSClient;
  groups: { groupName: string; arn?: string }[];
  /** BILLING_GROUP_POLICIES: the customer-managed ones among them are probed for POLICY_READS. */
  policyArns?: string[];
  iamMode: IamMode;
  iamUserMapping: Config['iamUserMapping'];
  /** STORE=dynamodb with a table found: its ARN and index names. */
  table?: { arn: string; indexNames: string[] };
}

/** Why an error from SimulatePrincipalPolicy means "this endpoint cannot simulate" rather than a problem to fix. */
function unsupported(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    (status !== undefined && status >= 500) ||
    /NotImplemented|InvalidAction|UnknownOperation|UnsupportedOperation/i.test(errorNameOf(err)) ||
    (err instanceof Error && /not (yet )?implemented|not supported/i.test(err.message))
  );
}

/** The IAM principal to simulate for the caller identity, or why there is none. */
async function principalFor(iam: IAMClient, callerArn: string): Promise<{ arn: string } | { problem: CheckResult }> {
  const title = 'the bot’s AWS permissions';
  if (/^arn:aws[\w-]*:iam::\d{12}:root$/.test(callerArn))
    return {
      problem: fail(
        'IAM',
        title,
        'the credentials are the account’s root user',
        'run the bot as an IAM role or user with only the policy in deploy/ (least privilege; keep the root user for the Billing toggle)',
      ),
    };
  const assumed = callerArn.match(/^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([^/]+)\//);
  if (assumed) {
    const [, partition, account, roleName] = assumed;
    try {
      const out = await iam.send(new GetRoleCommand({ RoleName: roleName }));
      if (out.Role?.Arn) return { arn: out.Role.Arn };
    } catch {
      // Without iam:GetRole, the role's ARN without a path is the best guess.
    }
    return { arn: `arn:${partition}:iam::${account}:role/${roleName}` };
  }
  if (/^arn:aws[\w-]*:iam::\d{12}:(user|role)\//.test(callerArn)) return { arn: callerArn };
  // Some emulators name an IAM user under the sts service (moto: arn:aws:sts::123456789012:user/moto).
  const stsUser = callerArn.match(/^arn:(aws[\w-]*):sts::(\d{12}):user\/(.+)$/);
  if (stsUser) return { arn: `arn:${stsUser[1]}:iam::${stsUser[2]}:user/${stsUser[3]}` };
  return { problem: couldNotCheck('IAM', title, `policy simulation does not cover this kind of principal (${callerArn})`) };
}

/**
 * The bot's own permissions, by IAM policy simulation of the caller's principal for the actions
 * in src/aws/iam.ts on the configured groups (and the store's on its table). Where the endpoint
 * cannot simulate (moto answers HTTP 500), or the caller may not, the answer is "could not check".
 */
export async function checkPermissions(input: PermissionInput): Promise<CheckResult> {
  const title = 'the bot’s AWS permissions';
  let caller: { Arn?: string; Account?: string };
  try {
    caller = await input.sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    return fail(
      'IAM',
      title,
      `sts:GetCallerIdentity failed: ${describeError(err)}`,
      'check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…, or the instance/task role) and AWS_REGION',
    );
  }
  if (!caller.Arn || !caller.Account) return couldNotCheck('IAM', title, 'sts:GetCallerIdentity did not name the caller');
  const principal = await principalFor(input.iam, caller.Arn);
  if ('problem' in principal) return principal.problem;

  const partition = caller.Arn.split(':')[1] ?? 'aws';
  const groupArns = input.groups.map((g) => g.arn ?? `arn:${partition}:iam::${caller.Account}:group/${g.groupName}`);
  const probes: Probe[] = [
    { actions: GROUP_READS, resources: groupArns },
    {
      actions: GROUP_WRITES,
      resources: groupArns,
      ...(input.iamMode === 'dry-run' ? { soft: 'needed once IAM_MODE=live; dry-run only reads' } : {}),
    },
    { actions: POLICY_READS, resources: [...new Set((input.policyArns ?? []).filter((arn) => !isAwsManagedPolicy(arn)))] },
    { actions: USER_READS, resources: [`arn:${partition}:iam::${caller.Account}:user/*`] },
    { actions: ['iam:GetAccountSummary'], resources: ['*'], soft: 'optional: without it the groups-per-user quota is not checked' },
  ];
  if (input.iamUserMapping === 'tag') {
    probes.push(
      { actions: ['iam:ListUsers'], resources: ['*'] },
      { actions: ['iam:ListUserTags'], resources: [`arn:${partition}:iam::${caller.Account}:user/*`] },
    );
  }
  if (input.table) {
    probes.push(
      { actions: TABLE_ACTIONS, resources: [input.table.arn] },
      { actions: ['dynamodb:Query'], resources: input.table.indexNames.map((name) => `${input.table?.arn}/index/${name}`) },
    );
  }

  const denied: string[] = [];
  const softDenied: string[] = [];
  let allowed = 0;
  for (const probe of probes) {
    if (probe.resources.length === 0) continue;
    let marker: string | undefined;
    do {
      let out: SimulatePrincipalPolicyCommandOutput;
      try {
        out = await input.iam.send(
          new SimulatePrincipalPolicyCommand({ PolicySourceArn: principal.arn, ActionNames: probe.actions, ResourceArns: probe.resources, Marker: marker }),
        );
      } catch (err) {
        if (unsupported(err))
          return couldNotCheck(
            'IAM',
            title,
            `this IAM endpoint does not support iam:SimulatePrincipalPolicy, or failed on its side (${describeError(err)}); emulators such as moto have no policy simulation`,
            'against AWS, run doctor again; or compare the bot’s policy with deploy/ by hand',
          );
        if (isAccessDenied(err))
          return couldNotCheck(
            'IAM',
            title,
            `${principal.arn} may not call iam:SimulatePrincipalPolicy (${errorNameOf(err)})`,
            'allow iam:SimulatePrincipalPolicy on the bot’s own principal to let doctor check, or compare its policy with deploy/ by hand',
          );
        return couldNotCheck('IAM', title, `iam:SimulatePrincipalPolicy failed: ${describeError(err)}`);
      }
      for (const result of out.EvaluationResults ?? []) {
        const perResource = result.ResourceSpecificResults?.length
          ? result.ResourceSpecificResults.map((r) => ({ resource: r.EvalResourceName ?? '*', decision: r.EvalResourceDecision }))
          : [{ resource: result.EvalResourceName ?? '*', decision: result.EvalDecision }];
        for (const { resource, decision } of perResource) {
          if (decision === 'allowed') {
            allowed++;
            continue;
          }
          const line = `${result.EvalActionName} on ${shortArn(resource)} (${decision})`;
          if (probe.soft) softDenied.push(`${line}: ${probe.soft}`);
          else denied.push(line);
        }
      }
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  }
  if (denied.length > 0)
    return fail(
      'IAM',
      title,
      `${principal.arn} is denied ${denied.join('; ')}`,
      `attach the bot policy from deploy/ to ${principal.arn} (scoped to the configured groups and the table)`,
    );
  if (softDenied.length > 0) return warn('IAM', title, `${principal.arn}: everything needed now is allowed, but denied ${softDenied.join('; ')}`);
  return ok('IAM', title, `${principal.arn} is allowed all ${allowed} action/resource pairs the bot uses (policy simulation)`);
}

/** `arn:aws:iam::123456789012:group/BillingFull` → `group/BillingFull`. */
function shortArn(arn: string): string {
  const parts = arn.split(':');
  return parts.length >= 6 ? parts.slice(5).join(':') : arn;
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

/** How to turn on the root-only toggle; shown by doctor (and fit for help texts). */
export const ROOT_TOGGLE_HOWTO =
  'as the account’s root user, open Account settings (https://console.aws.amazon.com/billing/home#/account), ' +
  'find "IAM user and role access to Billing information", choose Edit, tick "Activate IAM Access" and Update; ' +
  'until then group members are refused in the Billing console whatever their policies say';

export function checkSettings(config: Pick<Config, 'iamMode' | 'store' | 'tableName' | 'dataDir' | 'allowedEmailDomains'>): CheckResult[] {
  const results: CheckResult[] = [];
  results.push(
    config.iamMode === 'live'
      ? ok('Settings', 'IAM_MODE', 'live: approvals add users to the IAM groups and expiries remove them')
      : warn(
          'Settings',
          'IAM_MODE',
          'dry-run: nothing is changed in IAM (requests are shown and recorded as if granted)',
          'set IAM_MODE=live when the checks above pass',
        ),
  );
  results.push(
    config.store === 'dynamodb'
      ? ok('Settings', 'STORE', `dynamodb, table ${config.tableName}: replicas can share it`)
      : ok('Settings', 'STORE', `embedded in ${config.dataDir}, table ${config.tableName}: one process only (replicas need STORE=dynamodb)`),
  );
  results.push(
    config.allowedEmailDomains && config.allowedEmailDomains.length > 0
      ? ok('Settings', 'ALLOWED_EMAIL_DOMAINS', config.allowedEmailDomains.join(', '))
      : warn(
          'Settings',
          'ALLOWED_EMAIL_DOMAINS',
          'unset: a Slack email of any domain maps to an IAM user (jane.doe@partner.com could become jane.doe)',
          'set ALLOWED_EMAIL_DOMAINS to your company’s email domain, e.g. ALLOWED_EMAIL_DOMAINS=corp.com (IAM_USER_MAPPING=email-localpart takes exactly one; email or tag take several)',
        ),
  );
  results.push(
    couldNotCheck(
      'Settings',
      'AWS account: "IAM user and role access to Billing information"',
      'it is a root-only account setting and no public API reads it',
      ROOT_TOGGLE_HOWTO,
    ),
  );
  return results;
}
