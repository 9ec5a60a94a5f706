/**
 * Doctor and audit-export pieces no emulator can drive: policy simulation answers (allowed,
 * denied, refused, assumed roles), the manifest scope reader, dates and CSV quoting.
 */
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsDoctorProbe } from '../../src/aws/doctor-probe.js';
import { csvField, csvLine, jsonLine, parseDateArg } from '../../src/cli/audit-format.js';
import { checkPermissions, checkSettings, manifestBotScopes, type PermissionInput, requiredScopes } from '../../src/doctor/checks.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/service/billing-bot`;

let iam: IAMClient;
let sts: STSClient;
let iamMock: AwsClientStub<IAMClient>;
let stsMock: AwsClientStub<STSClient>;

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

/** Answers SimulatePrincipalPolicy with `decide(action, resource)` for every pair asked. */
function simulate(decide: (action: string, resource: string) => 'allowed' | 'implicitDeny' | 'explicitDeny') {
  iamMock.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
    IsTruncated: false,
    EvaluationResults: (input.ActionNames ?? []).map((action) => ({
      EvalActionName: action,
      EvalResourceName: '*',
      EvalDecision: 'allowed',
      ResourceSpecificResults: (input.ResourceArns ?? []).map((resource) => ({
        EvalResourceName: resource,
        EvalResourceDecision: decide(action, resource),
      })),
    })),
  }));
}

function input(overrides: Partial<PermissionInput> = {}): PermissionInput {
  return {
    probe: new AwsDoctorProbe(iam, sts),
    groups: [{ groupName: 'BillingReadOnly', arn: `arn:aws:iam::${ACCOUNT}:group/BillingReadOnly` }, { groupName: 'BillingFull' }],
    iamMode: 'live',
    iamUserMapping: 'email-localpart',
    table: { arn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/billing-access`, indexNames: ['byStatusCreated'] },
    ...overrides,
  };
}

beforeEach(() => {
  iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  sts = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  iamMock = mockClient(iam);
  stsMock = mockClient(sts);
  stsMock.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-bot/i-0abc`, UserId: 'AROA:i-0abc' });
  iamMock.on(GetRoleCommand).resolves({ Role: { RoleName: 'billing-bot', Arn: ROLE, Path: '/service/', RoleId: 'AROA', CreateDate: new Date() } });
});

describe('checkPermissions', () => {
  it('✓ when every action is allowed; simulates the role behind an assumed-role session, on the group, user, table and index ARNs', async () => {
    simulate(() => 'allowed');
    const result = await checkPermissions(input());
    expect(result.status).toBe('ok');
    expect(result.detail).toContain(ROLE);
    const asked = iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(new Set(asked.map((a) => a.PolicySourceArn))).toEqual(new Set([ROLE]));
    const pairs = asked.flatMap((a) => (a.ActionNames ?? []).flatMap((action) => (a.ResourceArns ?? []).map((r) => `${action} ${r}`)));
    expect(pairs).toContain(`iam:AddUserToGroup arn:aws:iam::${ACCOUNT}:group/BillingFull`);
    expect(pairs).toContain(`iam:RemoveUserFromGroup arn:aws:iam::${ACCOUNT}:group/BillingReadOnly`);
    expect(pairs).toContain(`iam:ListMFADevices arn:aws:iam::${ACCOUNT}:user/*`);
    expect(pairs).toContain(`dynamodb:UpdateItem arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/billing-access`);
    expect(pairs).toContain(`dynamodb:Query arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/billing-access/index/byStatusCreated`);
    expect(pairs.some((p) => p.startsWith('iam:ListUserTags'))).toBe(false);
  });

  it('✗ naming the denied action and group, with the fix', async () => {
    simulate((action, resource) => (action === 'iam:AddUserToGroup' && resource.endsWith('/BillingFull') ? 'implicitDeny' : 'allowed'));
    const result = await checkPermissions(input());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('iam:AddUserToGroup on group/BillingFull (implicitDeny)');
    expect(result.fix).toMatch(/deploy\//);
  });

  it('probes iam:GetPolicy and iam:GetPolicyVersion on the customer-managed expected policies only, and ✗ when denied', async () => {
    const custom = `arn:aws:iam::${ACCOUNT}:policy/BillingCustom`;
    const pairsAsked = () =>
      iamMock
        .commandCalls(SimulatePrincipalPolicyCommand)
        .map((c) => c.args[0].input)
        .flatMap((a) => (a.ActionNames ?? []).flatMap((action) => (a.ResourceArns ?? []).map((r) => `${action} ${r}`)));
    simulate(() => 'allowed');
    expect((await checkPermissions(input({ policyArns: ['arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess'] }))).status).toBe('ok');
    expect(pairsAsked().filter((p) => p.startsWith('iam:GetPolicy'))).toEqual([]);

    iamMock.resetHistory();
    await checkPermissions(input({ policyArns: ['arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess', custom, custom] }));
    expect(pairsAsked().filter((p) => p.startsWith('iam:GetPolicy'))).toEqual([`iam:GetPolicy ${custom}`, `iam:GetPolicyVersion ${custom}`]);

    simulate((action) => (action === 'iam:GetPolicyVersion' ? 'implicitDeny' : 'allowed'));
    const denied = await checkPermissions(input({ policyArns: [custom] }));
    expect(denied.status).toBe('fail');
    expect(denied.detail).toContain('iam:GetPolicyVersion on policy/BillingCustom (implicitDeny)');
  });

  it('in dry-run a denied write is ⚠ (needed once live), not ✗', async () => {
    simulate((action) => (action === 'iam:AddUserToGroup' ? 'explicitDeny' : 'allowed'));
    const result = await checkPermissions(input({ iamMode: 'dry-run' }));
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/iam:AddUserToGroup .*IAM_MODE=live/);
  });

  it('⚠ could not check when the endpoint cannot simulate (HTTP 500) or the caller may not', async () => {
    iamMock.on(SimulatePrincipalPolicyCommand).rejects(awsError('InternalFailure', 500));
    const unsupported = await checkPermissions(input());
    expect(unsupported.status).toBe('warn');
    expect(unsupported.detail).toMatch(/^could not check: this IAM endpoint does not support iam:SimulatePrincipalPolicy.*HTTP 500/);

    iamMock.on(SimulatePrincipalPolicyCommand).rejects(awsError('AccessDenied', 403));
    const refused = await checkPermissions(input());
    expect(refused.status).toBe('warn');
    expect(refused.detail).toMatch(/^could not check: .* may not call iam:SimulatePrincipalPolicy/);
  });

  it('✗ for root credentials and for credentials that do not work', async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root` });
    expect((await checkPermissions(input())).status).toBe('fail');
    stsMock.on(GetCallerIdentityCommand).rejects(awsError('InvalidClientTokenId', 403));
    const bad = await checkPermissions(input());
    expect(bad.status).toBe('fail');
    expect(bad.detail).toMatch(/InvalidClientTokenId/);
  });
});

describe('manifest scopes', () => {
  const manifest = `display_information:
  name: billing-access
features:
  slash_commands:
    - command: /request-billing
      should_escape: true
oauth_config:
  scopes:
    # what the bot calls
    bot:
      - commands
      - "chat:write"
      - 'im:write'
      - users:read   # profile
      - users:read.email
settings:
  socket_mode_enabled: true
`;

  it('reads oauth_config.scopes.bot (block and flow lists, quoted, commented)', () => {
    expect(manifestBotScopes(manifest)).toEqual(['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email']);
    expect(manifestBotScopes('oauth_config:\n  scopes:\n    bot: [commands, "chat:write"]\n')).toEqual(['commands', 'chat:write']);
    expect(manifestBotScopes('oauth_config:\n  scopes:\n    user:\n      - search:read\n')).toBeUndefined();
    expect(() => manifestBotScopes('oauth_config: [commands\n')).toThrow();
  });

  it('requires usergroups:read only when a user group names the admins', () => {
    expect(requiredScopes(undefined, undefined).scopes).not.toContain('usergroups:read');
    expect(requiredScopes(undefined, 'S0ADMINS').scopes).toContain('usergroups:read');
    expect(requiredScopes(['commands'], 'S0ADMINS')).toEqual({ scopes: ['commands', 'usergroups:read'], source: 'manifest.yml' });
  });

  it('always says the root-only Billing toggle could not be checked, and where to turn it on', () => {
    const line = checkSettings({ iamMode: 'live', store: 'dynamodb', tableName: 't', dataDir: './data', allowedEmailDomains: ['corp.com'] }).at(-1);
    expect(line?.status).toBe('warn');
    expect(line?.title).toMatch(/IAM user and role access to Billing information/);
    expect(line?.detail).toMatch(/^could not check: /);
    expect(line?.fix).toMatch(/root user.*Account settings/);
  });
});

describe('audit export formats', () => {
  it('accepts ISO dates and date-times, as UTC; refuses anything else', () => {
    expect(parseDateArg('2024-03-01')).toBe('2024-03-01T00:00:00.000Z');
    expect(parseDateArg('2024-03-01T09:30:00Z')).toBe('2024-03-01T09:30:00.000Z');
    expect(parseDateArg('2024-03-01T09:30')).toBe('2024-03-01T09:30:00.000Z');
    expect(parseDateArg('2024-03-01T11:30:00.123+02:00')).toBe('2024-03-01T09:30:00.123Z');
    expect(parseDateArg('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    for (const bad of ['2023-02-29', '2024-13-01', '2024-1-1', '01/03/2024', 'yesterday', '2024-03-01T24:00:00Z', '2024-03-01 09:30', '', '1709251200']) {
      expect(parseDateArg(bad), bad).toBeUndefined();
    }
  });

  it('quotes CSV fields with commas, quotes and line breaks, and nothing else', () => {
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    const event = { requestId: '01J', at: '2024-03-01T00:00:00.000Z', actor: 'U1', from: null, to: 'PENDING' as const, detail: 'x,"y"' };
    expect(csvLine(event)).toBe('01J,2024-03-01T00:00:00.000Z,U1,,PENDING,"x,""y"""\r\n');
    expect(JSON.parse(jsonLine(event))).toEqual({ ...event, from: null });
  });
});
