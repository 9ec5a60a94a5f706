/** doctor: the billing groups and their policies, and the bot's own IAM permissions (by policy simulation). */
import type { DoctorProbe, SimulatedDecision } from '../aws/doctor-probe.js';
import type { AwsIamGateway } from '../aws/iam.js';
import type { Config, IamMode, LevelConfig } from '../config.js';
import { type GroupPolicyProblem, groupPolicyProblems, isAwsManagedPolicy, needsPolicyDocument } from '../domain/group-policy.js';
import { hintForError } from '../environment-hints.js';
import { IamUnavailableError } from '../errors.js';
import type { GroupPolicyState } from '../services/ports.js';
import { type CheckResult, couldNotCheck, describeError, errorNameOf, fail, isAccessDenied, ok, warn } from './results.js';

/** The reads of the bot's IAM gateway that doctor makes on the configured groups. */
export type GroupReader = Pick<AwsIamGateway, 'findGroup' | 'listGroupPolicies' | 'defaultPolicyVersion'>;

/** The SDK's own error behind the gateway's IamUnavailableError: what doctor names and judges. */
const sdkError = (err: unknown): unknown => (err instanceof IamUnavailableError && err.cause !== undefined ? err.cause : err);

export interface GroupCheck {
  result: CheckResult;
  level: LevelConfig;
  /** The group's ARN when it exists. */
  arn?: string;
}

/**
 * Each configured group exists and holds exactly its expected managed policy and no inline
 * policy, and a customer-managed expected policy allows billing actions only (PRODUCT §3): the
 * grant's own rule (src/domain/group-policy.ts), on what the bot's own gateway reads.
 */
export async function checkGroup(iam: GroupReader, level: LevelConfig, namespaces: readonly string[]): Promise<GroupCheck> {
  const title = `IAM group ${level.groupName} (level ${level.level})`;
  let arn: string | undefined;
  try {
    const group = await iam.findGroup(level.groupName);
    if (!group) {
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
    arn = group.arn;
  } catch (caught) {
    const err = sdkError(caught);
    if (isAccessDenied(err))
      return {
        level,
        result: fail('IAM', title, `GetGroup was refused: ${describeError(err)}`, 'give the bot iam:GetGroup on the billing groups (the policy in deploy/)'),
      };
    const hint = hintForError(err, { service: 'IAM' });
    if (hint) return { level, result: fail('IAM', title, `could not read IAM: ${hint.problem}`, hint.fix) };
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

/**
 * The group's policies, read as the bot's groupPolicies reads them, step by step so the line can
 * say which read failed (the expected policy's default version too, when customer-managed).
 */
async function readGroupPolicies(iam: GroupReader, level: LevelConfig, title: string): Promise<{ state: GroupPolicyState } | { problem: CheckResult }> {
  let state: GroupPolicyState;
  try {
    state = await iam.listGroupPolicies(level.groupName);
  } catch (err) {
    return {
      problem: fail(
        'IAM',
        title,
        `could not list the group's policies: ${describeError(sdkError(err))}`,
        'give the bot iam:ListAttachedGroupPolicies and iam:ListGroupPolicies on the billing groups',
      ),
    };
  }
  if (!needsPolicyDocument(level.policyArn, state.attachedPolicyArns)) return { state };
  try {
    return { state: { ...state, expectedVersion: await iam.defaultPolicyVersion(level.policyArn) } };
  } catch (err) {
    return {
      problem: fail(
        'IAM',
        title,
        `could not read the default version of ${level.policyArn}: ${describeError(sdkError(err))}`,
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
  probe: DoctorProbe;
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
async function principalFor(probe: DoctorProbe, callerArn: string): Promise<{ arn: string } | { problem: CheckResult }> {
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
    const [, partition, account, roleName = ''] = assumed;
    try {
      const arn = await probe.roleArn(roleName);
      if (arn) return { arn };
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
  const caller = await input.probe.callerIdentity();
  if (!caller.found) return fail('IAM', title, `sts:GetCallerIdentity failed: ${caller.reason}`, caller.fix);
  const { arn: callerArn, account } = caller;
  const principal = await principalFor(input.probe, callerArn);
  if ('problem' in principal) return principal.problem;

  const partition = callerArn.split(':')[1] ?? 'aws';
  const groupArns = input.groups.map((g) => g.arn ?? `arn:${partition}:iam::${account}:group/${g.groupName}`);
  const probes: Probe[] = [
    { actions: GROUP_READS, resources: groupArns },
    {
      actions: GROUP_WRITES,
      resources: groupArns,
      ...(input.iamMode === 'dry-run' ? { soft: 'needed once IAM_MODE=live; dry-run only reads' } : {}),
    },
    { actions: POLICY_READS, resources: [...new Set((input.policyArns ?? []).filter((arn) => !isAwsManagedPolicy(arn)))] },
    { actions: USER_READS, resources: [`arn:${partition}:iam::${account}:user/*`] },
    { actions: ['iam:GetAccountSummary'], resources: ['*'], soft: 'optional: without it the groups-per-user quota is not checked' },
    {
      actions: ['iam:GenerateServiceLastAccessedDetails'],
      resources: [`arn:${partition}:iam::${account}:user/*`],
      soft: 'optional: without it the access review and end notices say "usage unknown"',
    },
    { actions: ['iam:GetServiceLastAccessedDetails'], resources: ['*'], soft: 'optional: without it the access review and end notices say "usage unknown"' },
  ];
  if (input.iamUserMapping === 'tag') probes.push({ actions: ['iam:GetAccountAuthorizationDetails'], resources: ['*'] });
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
    let decisions: SimulatedDecision[];
    try {
      decisions = await input.probe.simulate(principal.arn, probe.actions, probe.resources);
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
    for (const { action, resource, decision } of decisions) {
      if (decision === 'allowed') {
        allowed++;
        continue;
      }
      const line = `${action} on ${shortArn(resource)} (${decision})`;
      if (probe.soft) softDenied.push(`${line}: ${probe.soft}`);
      else denied.push(line);
    }
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
