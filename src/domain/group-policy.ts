/**
 * The group guard (PRODUCT §3): a billing group is granted only while it holds exactly its
 * level's managed policy and no inline policy, and, when that policy is customer-managed, only
 * while its default version allows nothing outside the billing namespaces. Pure: the callers
 * read IAM (grant, doctor, summary) and all three judge what they read here.
 */

/** The default version of a managed policy, as read from IAM. */
export interface PolicyVersion {
  policyArn: string;
  versionId: string;
  /** The parsed JSON document; anything that was not JSON is passed on as it came, and refused. */
  document: unknown;
}

export type GroupPolicyProblemKind = 'missing' | 'unexpected' | 'inline' | 'document';

export interface GroupPolicyProblem {
  kind: GroupPolicyProblemKind;
  /** The policy ARN (missing, unexpected, document) or the inline policy's name. */
  subject: string;
  /** What was found, fit for an admin message, an audit event and doctor. */
  text: string;
}

export interface GroupPolicyInput {
  /** The level's expected managed policy (BILLING_GROUP_POLICIES). */
  expectedArn: string;
  attachedPolicyArns: readonly string[];
  inlinePolicyNames: readonly string[];
  /** The expected policy's default version: required when it is customer-managed and attached. */
  expectedVersion?: PolicyVersion | undefined;
  /** BILLING_NAMESPACES. */
  namespaces: readonly string[];
}

/**
 * AWS edits its own managed policies only within their purpose, and the bot cannot change that:
 * they are trusted by ARN. Anything else (an account's own policy) can be edited by whoever
 * holds iam:CreatePolicyVersion, so its document is read.
 */
export function isAwsManagedPolicy(policyArn: string): boolean {
  return /^arn:aws[\w-]*:iam::aws:policy\//.test(policyArn);
}

/** Whether the guard needs the expected policy's default version to judge this group. */
export function needsPolicyDocument(expectedArn: string, attachedPolicyArns: readonly string[]): boolean {
  return !isAwsManagedPolicy(expectedArn) && attachedPolicyArns.includes(expectedArn);
}

/** Everything wrong with a billing group's policies; empty when it may be granted. */
export function groupPolicyProblems(input: GroupPolicyInput): GroupPolicyProblem[] {
  const { expectedArn, attachedPolicyArns, inlinePolicyNames } = input;
  const problems: GroupPolicyProblem[] = [];
  if (!attachedPolicyArns.includes(expectedArn)) problems.push({ kind: 'missing', subject: expectedArn, text: `missing ${expectedArn}` });
  for (const arn of attachedPolicyArns) {
    if (arn !== expectedArn) problems.push({ kind: 'unexpected', subject: arn, text: `unexpected managed policy ${arn}` });
  }
  for (const name of inlinePolicyNames) problems.push({ kind: 'inline', subject: name, text: `inline policy ${name}` });
  if (needsPolicyDocument(expectedArn, attachedPolicyArns)) problems.push(...versionProblems(expectedArn, input.expectedVersion, input.namespaces));
  return problems;
}

function versionProblems(expectedArn: string, version: PolicyVersion | undefined, namespaces: readonly string[]): GroupPolicyProblem[] {
  if (version?.policyArn !== expectedArn) {
    // A caller that did not read the document must never be taken as "nothing found".
    return [{ kind: 'document', subject: expectedArn, text: `${expectedArn}: its default version was not read` }];
  }
  const where = `${expectedArn} (default version ${version.versionId})`;
  return documentFindings(version.document, namespaces).map((finding) => ({ kind: 'document', subject: expectedArn, text: `${where} ${finding}` }));
}

/**
 * What in a policy document reaches beyond billing: a statement that allows an action outside
 * the namespaces (read-only account:Get and account:List aside), or any NotAction or
 * NotResource, whose meaning is "everything except", whatever the effect.
 */
export function documentFindings(document: unknown, namespaces: readonly string[]): string[] {
  const statements = isRecord(document) ? document.Statement : undefined;
  const list = Array.isArray(statements) ? statements : isRecord(statements) ? [statements] : undefined;
  if (!list) return ['is not a readable policy document'];
  const allowed = new Set(namespaces.map((n) => n.toLowerCase()));
  return list.flatMap((statement, i) => statementFindings(statement, allowed).map((finding) => `statement ${label(statement, i)} ${finding}`));
}

function label(statement: unknown, index: number): string {
  const sid = isRecord(statement) && typeof statement.Sid === 'string' && statement.Sid ? ` (${statement.Sid})` : '';
  return `${index + 1}${sid}`;
}

function statementFindings(statement: unknown, namespaces: ReadonlySet<string>): string[] {
  if (!isRecord(statement)) return ['is not a policy statement'];
  const findings: string[] = [];
  if ('NotAction' in statement) findings.push('uses NotAction');
  if ('NotResource' in statement) findings.push('uses NotResource');
  // A Deny only takes away; any other Effect value is read as Allow rather than trusted.
  if (statement.Effect === 'Deny' || 'NotAction' in statement) return findings;
  const actions = stringList(statement.Action);
  if (!actions) return [...findings, 'has no readable Action'];
  const outside = actions.filter((action) => !isBillingAction(action, namespaces));
  if (outside.length > 0) findings.push(`allows ${outside.join(', ')} (outside the billing namespaces)`);
  return findings;
}

/** `ce:GetCostAndUsage`, `billing:*`, `account:GetContactInformation`: yes. `*`, `c*:*`, `account:*`, `s3:Get*`: no. */
export function isBillingAction(action: string, namespaces: ReadonlySet<string>): boolean {
  const trimmed = action.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0) return false;
  const service = trimmed.slice(0, colon).toLowerCase();
  // A wildcard in the service part can match services outside billing (c* matches cloudtrail).
  if (/[*?]/.test(service)) return false;
  if (namespaces.has(service)) return true;
  // Only reads of the account: account:* and account:Put* can change contacts, regions or close it.
  return service === 'account' && /^(get|list)/i.test(trimmed.slice(colon + 1));
}

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
