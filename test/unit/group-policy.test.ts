/**
 * The group guard's rule (PRODUCT §3), as grant, doctor and the summary apply it: exactly the
 * expected managed policy, no inline policy, and a customer-managed policy whose default version
 * allows billing actions only.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BILLING_NAMESPACES } from '../../src/config.js';
import {
  documentFindings,
  type GroupPolicyInput,
  groupPolicyProblems,
  isAwsManagedPolicy,
  isBillingAction,
  needsPolicyDocument,
  type PolicyVersion,
} from '../../src/domain/group-policy.js';

const AWS_ARN = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
const CUSTOM_ARN = 'arn:aws:iam::123456789012:policy/billing/BillingCustom';
const NAMESPACES = [...DEFAULT_BILLING_NAMESPACES];

const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const allow = (Action: unknown, extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Action, Resource: '*', ...extra });
const version = (document: unknown, versionId = 'v2'): PolicyVersion => ({ policyArn: CUSTOM_ARN, versionId, document });

function problems(overrides: Partial<GroupPolicyInput> = {}) {
  return groupPolicyProblems({ expectedArn: CUSTOM_ARN, attachedPolicyArns: [CUSTOM_ARN], inlinePolicyNames: [], namespaces: NAMESPACES, ...overrides });
}
const texts = (overrides: Partial<GroupPolicyInput> = {}) => problems(overrides).map((p) => p.text);
/** The findings for one statement in an otherwise fine document. */
const findings = (statement: unknown) => documentFindings(doc(statement), NAMESPACES);

describe('groupPolicyProblems: what the group holds', () => {
  it('is empty for a group holding exactly its AWS managed policy, without reading any document', () => {
    expect(groupPolicyProblems({ expectedArn: AWS_ARN, attachedPolicyArns: [AWS_ARN], inlinePolicyNames: [], namespaces: NAMESPACES })).toEqual([]);
    expect(needsPolicyDocument(AWS_ARN, [AWS_ARN])).toBe(false);
    expect(isAwsManagedPolicy(AWS_ARN)).toBe(true);
    expect(isAwsManagedPolicy('arn:aws-us-gov:iam::aws:policy/job-function/Billing')).toBe(true);
    expect(isAwsManagedPolicy(CUSTOM_ARN)).toBe(false);
  });

  it('names a missing expected policy, every other managed policy and every inline policy', () => {
    const found = problems({
      expectedArn: AWS_ARN,
      attachedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess', CUSTOM_ARN],
      inlinePolicyNames: ['sneaky', 'also'],
    });
    expect(found).toEqual([
      { kind: 'missing', subject: AWS_ARN, text: `missing ${AWS_ARN}` },
      {
        kind: 'unexpected',
        subject: 'arn:aws:iam::aws:policy/AdministratorAccess',
        text: 'unexpected managed policy arn:aws:iam::aws:policy/AdministratorAccess',
      },
      { kind: 'unexpected', subject: CUSTOM_ARN, text: `unexpected managed policy ${CUSTOM_ARN}` },
      { kind: 'inline', subject: 'sneaky', text: 'inline policy sneaky' },
      { kind: 'inline', subject: 'also', text: 'inline policy also' },
    ]);
  });

  it('needs the default version of a customer-managed policy the group holds: unread is a problem, never a pass', () => {
    expect(needsPolicyDocument(CUSTOM_ARN, [CUSTOM_ARN])).toBe(true);
    expect(problems()).toEqual([{ kind: 'document', subject: CUSTOM_ARN, text: `${CUSTOM_ARN}: its default version was not read` }]);
    // A version of another policy is not the one asked for.
    expect(problems({ expectedVersion: { ...version(doc(allow('ce:*'))), policyArn: 'arn:aws:iam::123456789012:policy/Other' } })).toHaveLength(1);
  });

  it('does not ask for the document of a customer-managed policy the group does not hold (missing says enough)', () => {
    expect(needsPolicyDocument(CUSTOM_ARN, [AWS_ARN])).toBe(false);
    expect(texts({ attachedPolicyArns: [] })).toEqual([`missing ${CUSTOM_ARN}`]);
  });

  it('is empty for a customer-managed policy that allows billing actions only', () => {
    const document = doc(
      allow(['ce:Get*', 'ce:Describe*', 'budgets:ViewBudget', 'billing:*', 'payments:List*', 'aws-portal:ViewBilling', 'purchase-orders:View*']),
      allow('account:GetAccountInformation'),
      allow(['account:Get*', 'account:List*']),
      { Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } } },
    );
    expect(problems({ expectedVersion: version(document) })).toEqual([]);
  });

  it('names the policy, its default version and the statement that reaches beyond billing', () => {
    const document = doc(allow('ce:Get*'), { Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' });
    expect(problems({ expectedVersion: version(document, 'v7') })).toEqual([
      {
        kind: 'document',
        subject: CUSTOM_ARN,
        text: `${CUSTOM_ARN} (default version v7) statement 2 (Everything) allows * (outside the billing namespaces)`,
      },
    ]);
  });
});

describe('documentFindings: the statements of a customer-managed policy', () => {
  it('refuses Action "*", as a string or in a list', () => {
    expect(findings(allow('*'))).toEqual(['statement 1 allows * (outside the billing namespaces)']);
    expect(findings(allow(['ce:Get*', '*']))).toEqual(['statement 1 allows * (outside the billing namespaces)']);
  });

  it('refuses an action of another namespace, naming each one', () => {
    expect(findings(allow(['ce:GetCostAndUsage', 'iam:CreateUser', 's3:GetObject']))).toEqual([
      'statement 1 allows iam:CreateUser, s3:GetObject (outside the billing namespaces)',
    ]);
    expect(findings(allow('iam:*'))).toHaveLength(1);
  });

  it('refuses a wildcard in the namespace part, even one that could only mean billing', () => {
    for (const action of ['c*:*', 'ce*:Get*', '*:GetCostAndUsage', 'c?:Get*', 'billin?:*']) {
      expect(findings(allow(action)), action).toEqual([`statement 1 allows ${action} (outside the billing namespaces)`]);
    }
  });

  it('compares namespaces case-insensitively, both ways', () => {
    expect(findings(allow(['CE:GetCostAndUsage', 'Billing:View*', 'ACCOUNT:GETCONTACTINFORMATION']))).toEqual([]);
    expect(findings(allow('IAM:PassRole'))).toHaveLength(1);
    expect(documentFindings(doc(allow('ce:Get*')), ['CE'])).toEqual([]);
  });

  it('allows account:Get* and account:List* only: account:*, account:Put* and others are refused', () => {
    expect(findings(allow(['account:Get*', 'account:List*', 'account:GetAlternateContact', 'account:ListRegions']))).toEqual([]);
    for (const action of [
      'account:*',
      'account:Put*',
      'account:PutAlternateContact',
      'account:CloseAccount',
      'account:G*',
      'account:*Get*',
      'account:EnableRegion',
    ]) {
      expect(findings(allow(action)), action).toEqual([`statement 1 allows ${action} (outside the billing namespaces)`]);
    }
  });

  it('refuses NotAction and NotResource in any statement, Deny included', () => {
    expect(findings({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })).toEqual(['statement 1 uses NotAction']);
    expect(findings(allow('ce:Get*', { Resource: undefined, NotResource: 'arn:aws:s3:::secret' }))).toEqual(['statement 1 uses NotResource']);
    expect(findings({ Effect: 'Deny', NotAction: 'ce:*', Resource: '*' })).toEqual(['statement 1 uses NotAction']);
    expect(findings({ Effect: 'Deny', Action: 'iam:*', NotResource: '*' })).toEqual(['statement 1 uses NotResource']);
    expect(findings({ Effect: 'Allow', NotAction: 'ce:*', NotResource: '*' })).toEqual(['statement 1 uses NotAction', 'statement 1 uses NotResource']);
    expect(findings(allow('s3:*', { Resource: undefined, NotResource: '*' }))).toEqual([
      'statement 1 uses NotResource',
      'statement 1 allows s3:* (outside the billing namespaces)',
    ]);
  });

  it('lets a Deny statement only restrict: any action may be denied', () => {
    expect(findings({ Effect: 'Deny', Action: ['*', 'iam:*', 'c*:*'], Resource: '*' })).toEqual([]);
  });

  it('reads an Effect that is neither Allow nor Deny as Allow', () => {
    expect(findings({ Effect: 'allow', Action: 'iam:*', Resource: '*' })).toHaveLength(1);
    expect(findings({ Action: 'iam:*', Resource: '*' })).toHaveLength(1);
  });

  it('accepts a single statement object as well as a list, and numbers statements from 1', () => {
    expect(documentFindings({ Version: '2012-10-17', Statement: allow('ce:*') }, NAMESPACES)).toEqual([]);
    expect(documentFindings({ Version: '2012-10-17', Statement: allow('s3:*') }, NAMESPACES)).toEqual([
      'statement 1 allows s3:* (outside the billing namespaces)',
    ]);
    expect(documentFindings(doc(allow('ce:*'), allow('ce:*'), allow('ec2:*')), NAMESPACES)).toEqual([
      'statement 3 allows ec2:* (outside the billing namespaces)',
    ]);
  });

  it('refuses what it cannot read: not a document, no statements, a statement without a usable Action', () => {
    for (const document of ['not json', null, 42, [], {}, { Statement: 'x' }]) {
      expect(documentFindings(document, NAMESPACES), JSON.stringify(document)).toEqual(['is not a readable policy document']);
    }
    expect(findings('ce:*')).toEqual(['statement 1 is not a policy statement']);
    expect(findings({ Effect: 'Allow', Resource: '*' })).toEqual(['statement 1 has no readable Action']);
    expect(findings(allow([]))).toEqual(['statement 1 has no readable Action']);
    expect(findings(allow(['ce:*', 7]))).toEqual(['statement 1 has no readable Action']);
  });

  it('follows BILLING_NAMESPACES: a namespace left out is outside billing', () => {
    expect(documentFindings(doc(allow(['ce:*', 'tax:*'])), ['ce'])).toEqual(['statement 1 allows tax:* (outside the billing namespaces)']);
  });
});

describe('isBillingAction', () => {
  const ns = new Set(NAMESPACES);
  it('needs a service and a colon', () => {
    expect(isBillingAction('ce', ns)).toBe(false);
    expect(isBillingAction(':Get*', ns)).toBe(false);
    expect(isBillingAction(' ce:GetCostAndUsage ', ns)).toBe(true);
  });
});
