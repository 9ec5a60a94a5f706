/**
 * deploy/: the CloudFormation template passes cfn-lint, its table is exactly the one the code
 * creates, and the bot's IAM policy (template and plain JSON alike) grants every AWS call the
 * code makes and nothing more: no way to attach, put, create or delete anything in IAM, and
 * group membership only on the configured groups.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tableDefinition } from '../../src/store/table.js';
import { parseTemplate, render, type Template } from '../support/cloudformation.js';
import { awsOperations, ROOT, sourceFiles } from '../support/source-scan.js';

const TEMPLATE_PATH = join(ROOT, 'deploy/cloudformation.yaml');
const template: Template = parseTemplate(readFileSync(TEMPLATE_PATH, 'utf8'));
const jsonPolicy = JSON.parse(readFileSync(join(ROOT, 'deploy/bot-iam-policy.json'), 'utf8')) as PolicyDocument;

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  NotAction?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const ACCOUNT = '123456789012';
const CUSTOM_POLICY = `arn:aws:iam::${ACCOUNT}:policy/BillingCustom`;
/** The parameters under which the policy holds every statement the code may need. */
const EVERYTHING = { CustomerManagedPolicyArns: CUSTOM_POLICY, IamUserMapping: 'tag' };

function botPolicy(parameters: Record<string, string> = {}): { document: PolicyDocument; roles: unknown } {
  const resources = render(template, { parameters, accountId: ACCOUNT });
  const policy = resources.BillingAccessBotPolicy;
  if (!policy) throw new Error('the template has no BillingAccessBotPolicy');
  expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
  return { document: policy.Properties.PolicyDocument as PolicyDocument, roles: policy.Properties.Roles };
}

const actionsOf = (doc: PolicyDocument) => new Set(doc.Statement.flatMap((s) => list(s.Action)));
/** Resources each action is allowed on, over all statements. */
function resourcesByAction(doc: PolicyDocument): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const s of doc.Statement) for (const a of list(s.Action)) map.set(a, [...(map.get(a) ?? []), ...list(s.Resource)]);
  return map;
}

const GROUP_ACTIONS = ['iam:AddUserToGroup', 'iam:RemoveUserFromGroup', 'iam:GetGroup', 'iam:ListAttachedGroupPolicies', 'iam:ListGroupPolicies'];
const POLICY_ACTIONS = ['iam:GetPolicy', 'iam:GetPolicyVersion'];
const USER_ACTIONS = ['iam:GetUser', 'iam:GetLoginProfile', 'iam:ListMFADevices', 'iam:ListGroupsForUser', 'iam:ListAccessKeys'];
/** IAM offers no resource-level permissions for these: `*` is the only possible resource. */
const NO_RESOURCE_LEVEL = ['iam:GetAccountSummary', 'iam:GetAccountAuthorizationDetails', 'iam:GetServiceLastAccessedDetails'];
/** Usage evidence (IAM access advisor): a report job on a user, which changes nothing, and its result. */
const USAGE_ACTIONS = ['iam:GenerateServiceLastAccessedDetails', 'iam:GetServiceLastAccessedDetails'];
/** IAM_USER_MAPPING=tag only: every user with its tags (and, unfiltered, every role and policy), so not granted otherwise. */
const TAG_MAPPING_ACTIONS = ['iam:GetAccountAuthorizationDetails'];

/**
 * SDK operations in src/ that are deliberately not the bot's, each with the reason. Anything
 * else the code sends must be in the policy.
 */
const NOT_FOR_THE_BOT: Record<string, string> = {
  'iam:CreateGroup': '`npm run setup -- --groups`, run once by an operator (or the template creates the groups)',
  'iam:AttachGroupPolicy': '`npm run setup -- --groups`, run once by an operator (or the template attaches the policies)',
  'dynamodb:CreateTable': '`npm run setup` (operator) and the embedded store (dynalite, no AWS)',
  'dynamodb:UpdateTable': '`npm run setup` adding a new index (operator) and the embedded store',
  'dynamodb:Scan': '`npm run setup` claiming identity links written before links were one-to-one, once (operator)',
  'iam:GetRole': 'doctor, optional: only to find a role path; without it doctor simulates role/<name>',
  'sts:GetCallerIdentity': 'needs no permission',
};

/** @aws-sdk/lib-dynamodb command names → DynamoDB API actions. */
const DOCUMENT_CLIENT: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'PartiQLSelect',
};

function actionFor(module: string, operation: string): string {
  switch (module) {
    case '@aws-sdk/client-iam':
      return `iam:${operation}`;
    case '@aws-sdk/client-dynamodb':
      return `dynamodb:${operation}`;
    case '@aws-sdk/lib-dynamodb': {
      const action = DOCUMENT_CLIENT[operation];
      if (!action) throw new Error(`add ${operation} (lib-dynamodb) to DOCUMENT_CLIENT in this test`);
      return `dynamodb:${action}`;
    }
    case '@aws-sdk/client-sts':
      return `sts:${operation}`;
    default:
      throw new Error(`${module}: the bot's policy does not cover this AWS service; add it to the template and this test`);
  }
}

describe('deploy/cloudformation.yaml', () => {
  it('passes cfn-lint', () => {
    const out = spawnSync('cfn-lint', ['--', TEMPLATE_PATH], { encoding: 'utf8', timeout: 120_000 });
    if (out.error && (out.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('cfn-lint is not installed: pip install cfn-lint');
    }
    expect(out.stdout + out.stderr, 'cfn-lint findings').toBe('');
    expect(out.status).toBe(0);
  }, 130_000);

  it('creates exactly the table of tableDefinition(): keys, attributes and all seven indexes', () => {
    const resources = render(template, { parameters: { TableName: 'billing-access' } });
    const table = resources.BillingAccessTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    const props = table?.Properties ?? {};
    const expected = tableDefinition('billing-access');
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) => String(a.AttributeName).localeCompare(String(b.AttributeName));
    const byIndex = (a: { IndexName?: string }, b: { IndexName?: string }) => String(a.IndexName).localeCompare(String(b.IndexName));

    expect(props.TableName).toBe(expected.TableName);
    expect(props.BillingMode).toBe(expected.BillingMode);
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect([...(props.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual([...(expected.AttributeDefinitions ?? [])].sort(byName));
    const indexes = [...(props.GlobalSecondaryIndexes as { IndexName: string }[])].sort(byIndex);
    expect(indexes).toEqual([...(expected.GlobalSecondaryIndexes ?? [])].sort(byIndex));
    expect(indexes).toHaveLength(7);
    // The table name follows the parameter.
    expect(render(template, { parameters: { TableName: 'other-table' } }).BillingAccessTable?.Properties.TableName).toBe('other-table');
  });

  it('keeps the table: point-in-time recovery, deletion protection, encryption, Retain on delete and replace', () => {
    const raw = template.Resources.BillingAccessTable;
    expect(raw?.DeletionPolicy).toBe('Retain');
    expect(raw?.UpdateReplacePolicy).toBe('Retain');
    const props = render(template).BillingAccessTable?.Properties ?? {};
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.DeletionProtectionEnabled).toBe(true);
    expect(props.SSESpecification).toMatchObject({ SSEEnabled: true });
  });

  it('has the documented parameters and defaults', () => {
    const p = template.Parameters ?? {};
    expect(p.TableName?.Default).toBe('billing-access');
    expect(p.BillingGroupNames?.Default).toBe('BillingReadOnly,BillingFull');
    expect(p.CreateBillingGroups?.AllowedValues?.sort()).toEqual(['false', 'true']);
    // IAM group names only, one to five: anything else is refused before a stack is made.
    expect(() => render(template, { parameters: { BillingGroupNames: 'A,B,C,D,E,F' } })).toThrow(/does not match/);
    expect(() => render(template, { parameters: { BillingGroupNames: 'Billing*' } })).toThrow(/does not match/);
    expect(() => render(template, { parameters: { BillingGroupNames: 'A, B' } })).toThrow(/does not match/);
    expect(Object.keys(template.Outputs ?? {})).toEqual(expect.arrayContaining(['TableName', 'TableArn', 'BotPolicyArn']));
  });
});

describe('the bot policy', () => {
  it('grants nothing that could widen access: no Attach/Put/Create/Delete, no wildcard actions, Allow only', () => {
    for (const document of [botPolicy().document, botPolicy(EVERYTHING).document, jsonPolicy]) {
      expect(document.Version).toBe('2012-10-17');
      for (const s of document.Statement) {
        expect(s.Effect, s.Sid).toBe('Allow');
        expect(s.NotAction, s.Sid).toBeUndefined();
        expect(s.NotResource, s.Sid).toBeUndefined();
      }
      for (const action of actionsOf(document)) {
        expect(action).not.toContain('*');
        // Generate*: only access advisor's report job, which reads (no credential report, no service-linked anything).
        if (action !== 'iam:GenerateServiceLastAccessedDetails') {
          expect(action).not.toMatch(/^iam:(Attach|Put|Create|Delete|Detach|Update|Pass|Tag|Untag|Upload|Set|Change|Reset|Enable|Deactivate|Generate)/);
        }
        // The only IAM writes are the two membership changes; everything else reads.
        if (action.startsWith('iam:') && !['iam:AddUserToGroup', 'iam:RemoveUserFromGroup', ...USAGE_ACTIONS].includes(action)) {
          expect(action).toMatch(/^iam:(Get|List|Simulate)/);
        }
      }
    }
  });

  it('changes and reads groups only on the configured group ARNs, for one to five groups', () => {
    const cases: [string, string[]][] = [
      ['BillingReadOnly,BillingFull', ['BillingReadOnly', 'BillingFull']],
      ['OnlyOne', ['OnlyOne']],
      ['G1,G2,G3,G4,G5', ['G1', 'G2', 'G3', 'G4', 'G5']],
    ];
    for (const [names, groups] of cases) {
      const byAction = resourcesByAction(botPolicy({ BillingGroupNames: names }).document);
      const arns = groups.map((g) => `arn:aws:iam::${ACCOUNT}:group/${g}`);
      for (const action of GROUP_ACTIONS) expect(byAction.get(action)?.sort(), `${action} with ${names}`).toEqual([...arns].sort());
    }
  });

  it('reads policy versions only of the customer-managed policies named, and not at all without them', () => {
    const withoutStatement = botPolicy();
    expect(withoutStatement.document.Statement.map((s) => s.Sid)).not.toContain('ReadBillingGroupPolicies');
    for (const action of POLICY_ACTIONS) expect(actionsOf(withoutStatement.document).has(action), action).toBe(false);

    const two = [CUSTOM_POLICY, `arn:aws:iam::${ACCOUNT}:policy/billing/BillingCustomFull`];
    const { document } = botPolicy({ CustomerManagedPolicyArns: two.join(',') });
    const statement = document.Statement.find((s) => s.Sid === 'ReadBillingGroupPolicies');
    expect(statement?.Effect).toBe('Allow');
    expect(list(statement?.Action ?? []).sort()).toEqual(POLICY_ACTIONS);
    expect(list(statement?.Resource ?? []).sort()).toEqual([...two].sort());
    const byAction = resourcesByAction(document);
    for (const action of POLICY_ACTIONS) expect(byAction.get(action)?.sort(), action).toEqual([...two].sort());
  });

  it('takes only customer-managed policy ARNs, one to five, for CustomerManagedPolicyArns', () => {
    expect(template.Parameters?.CustomerManagedPolicyArns?.Default).toBe('');
    const five = Array.from({ length: 5 }, (_, i) => `arn:aws:iam::${ACCOUNT}:policy/P${i}`).join(',');
    expect(() => render(template, { parameters: { CustomerManagedPolicyArns: five } })).not.toThrow();
    for (const bad of [
      'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess',
      `arn:aws:iam::${ACCOUNT}:policy/*`,
      `arn:aws:iam::${ACCOUNT}:group/BillingFull`,
      `${CUSTOM_POLICY}, ${CUSTOM_POLICY}`,
      '*',
      `${five},arn:aws:iam::${ACCOUNT}:policy/P5`,
    ]) {
      expect(() => render(template, { parameters: { CustomerManagedPolicyArns: bad } }), bad).toThrow(/does not match/);
    }
  });

  it('reads users on user/* only, uses * only where IAM has no resource-level permission, DynamoDB only on its table', () => {
    const byAction = resourcesByAction(botPolicy({ TableName: 'billing-access', ...EVERYTHING }).document);
    for (const action of USER_ACTIONS) expect(byAction.get(action), action).toEqual([`arn:aws:iam::${ACCOUNT}:user/*`]);
    expect(byAction.get('iam:GenerateServiceLastAccessedDetails')).toEqual([`arn:aws:iam::${ACCOUNT}:user/*`]);
    for (const [action, resources] of byAction) {
      if (resources.includes('*')) expect(NO_RESOURCE_LEVEL, `${action} on *`).toContain(action);
    }
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/billing-access`;
    for (const [action, resources] of byAction) {
      if (!action.startsWith('dynamodb:')) continue;
      for (const r of resources) expect([table, `${table}/index/*`], `${action} on ${r}`).toContain(r);
      expect(resources, action).toContain(table);
    }
    expect(byAction.get('dynamodb:Query')?.sort()).toEqual([table, `${table}/index/*`]);
  });

  it('reads every IAM user with its tags (GetAccountAuthorizationDetails, on *) only with IamUserMapping=tag', () => {
    expect(template.Parameters?.IamUserMapping?.Default).toBe('email-localpart');
    expect(template.Parameters?.IamUserMapping?.AllowedValues?.sort()).toEqual(['email', 'email-localpart', 'tag']);
    for (const mapping of [undefined, 'email-localpart', 'email']) {
      const granted = actionsOf(botPolicy({ ...(mapping ? { IamUserMapping: mapping } : {}), CustomerManagedPolicyArns: CUSTOM_POLICY }).document);
      for (const action of TAG_MAPPING_ACTIONS) expect(granted.has(action), `${action} with ${mapping ?? 'the default'}`).toBe(false);
    }
    const { document } = botPolicy({ IamUserMapping: 'tag' });
    const statement = document.Statement.find((s) => s.Sid === 'IdentityByEmailTag');
    expect(list(statement?.Action ?? [])).toEqual(TAG_MAPPING_ACTIONS);
    expect(resourcesByAction(document).get('iam:GetAccountAuthorizationDetails')).toEqual(['*']);
    // The per-user listing it replaces is gone: no ListUsers, no ListUserTags.
    for (const action of ['iam:ListUsers', 'iam:ListUserTags']) expect(actionsOf(document).has(action), action).toBe(false);
  });

  it('lets doctor simulate only the bot itself; BotRoleName attaches the policy to that role', () => {
    const self = `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`;
    const withoutRole = botPolicy();
    expect(resourcesByAction(withoutRole.document).get('iam:SimulatePrincipalPolicy')).toEqual([self]);
    expect(withoutRole.roles).toBeUndefined();
    const withRole = botPolicy({ BotRoleName: 'billing-access-bot' });
    expect(resourcesByAction(withRole.document).get('iam:SimulatePrincipalPolicy')?.sort()).toEqual(
      [`arn:aws:iam::${ACCOUNT}:role/billing-access-bot`, self].sort(),
    );
    expect(withRole.roles).toEqual(['billing-access-bot']);
  });

  it('grants access advisor exactly its two actions, whatever the parameters', () => {
    for (const parameters of [{}, EVERYTHING, { IamUserMapping: 'email' }] as Record<string, string>[]) {
      const granted = [...actionsOf(botPolicy(parameters).document)].filter((a) => /LastAccessed/.test(a));
      expect(granted.sort()).toEqual(USAGE_ACTIONS);
    }
    expect([...actionsOf(jsonPolicy)].filter((a) => /LastAccessed/.test(a)).sort()).toEqual(USAGE_ACTIONS);
  });

  it('has an action for every IAM call in src/aws/iam.ts and src/aws/access-advisor.ts', () => {
    // The bot's gateway and access advisor; src/aws/groups.ts is setup's administrator action, checked below as not the bot's.
    const ops = awsOperations(sourceFiles('src/aws').filter((f) => f.path === 'src/aws/iam.ts' || f.path === 'src/aws/access-advisor.ts'));
    const names = ops.map((o) => o.operation);
    // The scan itself works: these are certainly there.
    expect(names).toEqual(
      expect.arrayContaining([
        'AddUserToGroup',
        'RemoveUserFromGroup',
        'GetUser',
        'ListGroupsForUser',
        'GenerateServiceLastAccessedDetails',
        'GetServiceLastAccessedDetails',
      ]),
    );
    const granted = actionsOf(botPolicy(EVERYTHING).document);
    const missing = ops.filter((o) => o.module === '@aws-sdk/client-iam' && !granted.has(`iam:${o.operation}`));
    expect(missing.map((o) => `iam:${o.operation} (${o.file}:${o.line})`)).toEqual([]);
  });

  it('covers every AWS call in src/ (or names why not), and grants no action the code never sends', () => {
    const ops = awsOperations(sourceFiles('src'));
    const granted = actionsOf(botPolicy(EVERYTHING).document);
    const sent = new Set<string>();
    const uncovered: string[] = [];
    for (const op of ops) {
      const action = actionFor(op.module, op.operation);
      sent.add(action);
      if (!granted.has(action) && !(action in NOT_FOR_THE_BOT)) uncovered.push(`${action} (${op.file}:${op.line})`);
    }
    expect(uncovered, 'sent by the code but neither in the policy nor in NOT_FOR_THE_BOT').toEqual([]);
    const unused = [...granted].filter((a) => !sent.has(a));
    expect(unused, 'granted but never sent by the code').toEqual([]);
    for (const action of Object.keys(NOT_FOR_THE_BOT)) expect(granted.has(action), `${action} is listed as not for the bot`).toBe(false);
  });

  it('deploy/bot-iam-policy.json is the same policy, with placeholders', () => {
    const { document } = botPolicy({
      TableName: 'TABLE_NAME',
      BillingGroupNames: 'BillingReadOnly,BillingFull',
      BotRoleName: 'BOT_ROLE_NAME',
      CustomerManagedPolicyArns: `arn:aws:iam::${ACCOUNT}:policy/CUSTOMER_MANAGED_POLICY`,
      IamUserMapping: 'tag',
    });
    const withPlaceholders = JSON.parse(JSON.stringify(document).replaceAll(ACCOUNT, 'ACCOUNT_ID').replaceAll('us-east-1', 'REGION')) as PolicyDocument;
    const normalized = (doc: PolicyDocument) => doc.Statement.map((s) => ({ ...s, Action: list(s.Action).sort(), Resource: list(s.Resource).sort() }));
    expect(normalized(jsonPolicy)).toEqual(normalized(withPlaceholders));
    expect([...actionsOf(jsonPolicy)].sort()).toEqual([...actionsOf(document)].sort());
  });
});

describe('the optional billing groups', () => {
  it('are created only with CreateBillingGroups=true, each with its AWS managed policy', () => {
    const off = render(template);
    expect(Object.values(off).filter((r) => r.Type === 'AWS::IAM::Group')).toEqual([]);

    const on = render(template, { parameters: { CreateBillingGroups: 'true' } });
    const groups = Object.values(on).filter((r) => r.Type === 'AWS::IAM::Group');
    expect(groups.map((g) => [g.Properties.GroupName, g.Properties.ManagedPolicyArns])).toEqual([
      ['BillingReadOnly', ['arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess']],
      ['BillingFull', ['arn:aws:iam::aws:policy/job-function/Billing']],
    ]);
    for (const g of groups) expect(g.Properties.Policies, 'no inline policy on a billing group').toBeUndefined();

    const single = render(template, { parameters: { CreateBillingGroups: 'true', BillingGroupNames: 'ReadOnlyOnly' } });
    expect(Object.values(single).filter((r) => r.Type === 'AWS::IAM::Group')).toHaveLength(1);
  });
});
