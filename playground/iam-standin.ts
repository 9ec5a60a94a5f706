/**
 * A local stand-in for AWS IAM (and STS GetCallerIdentity), for the playground: a node:http
 * server on 127.0.0.1 that speaks the AWS Query API as iam.amazonaws.com does. Requests are
 * form-encoded (`Action=GetUser&Version=2010-05-08&UserName=…`, or the same in a GET query);
 * answers are XML in IAM's namespace (`<GetUserResponse><GetUserResult>…`), and errors are IAM's
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>` with IAM's HTTP status, so the AWS
 * SDK parses both exactly as it parses AWS's own (a missing user is a NoSuchEntityException).
 *
 * It answers the actions the bot calls (src/aws/iam.ts, and access advisor's usage evidence in
 * src/aws/access-advisor.ts), the ones `setup --groups` calls
 * (CreateGroup, AttachGroupPolicy), doctor's GetRole, and STS GetCallerIdentity (AWS_ENDPOINT_URL
 * sends STS here too); any other action (doctor's SimulatePrincipalPolicy among them) gets IAM's
 * InvalidAction error naming the ones it knows. Signatures are not checked: the SDK signs every
 * request, and nothing here is worth protecting. The account lives in iam-account.ts, the wire
 * format in query-api.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IamAccount, IamFault, type IamGroup, type IamUser, type Tag } from './iam-account.js';
import { checkedName, errorXml, escapeXml, leaf, listParam, members, node, type Params, paginate, required, requiredName } from './query-api.js';

export const IAM_VERSION = '2010-05-08';
export const STS_VERSION = '2011-06-15';
const IAM_NAMESPACE = `https://iam.amazonaws.com/doc/${IAM_VERSION}/`;
const STS_NAMESPACE = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;
/** Far above any Query API request the SDK sends. */
const MAX_BODY_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

function userXml(u: IamUser, withTags = false): string {
  return (
    leaf('Path', '/') +
    leaf('UserName', u.userName) +
    leaf('UserId', u.userId) +
    leaf('Arn', u.arn) +
    leaf('CreateDate', u.createDate) +
    leaf('PasswordLastUsed', u.passwordLastUsed) +
    (withTags && u.tags.length ? tagsXml(u.tags) : '')
  );
}

function tagsXml(tags: readonly Tag[]): string {
  return members(
    'Tags',
    tags.map((t) => leaf('Key', t.key) + leaf('Value', t.value)),
  );
}

function groupXml(g: IamGroup): string {
  return leaf('Path', '/') + leaf('GroupName', g.groupName) + leaf('GroupId', g.groupId) + leaf('Arn', g.arn) + leaf('CreateDate', g.createDate);
}

function policyName(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** Attached managed policies: `AttachedPolicies` in list answers, `AttachedManagedPolicies` in account details. */
function attachedPoliciesXml(name: 'AttachedPolicies' | 'AttachedManagedPolicies', arns: readonly string[]): string {
  return members(
    name,
    arns.map((arn) => leaf('PolicyName', policyName(arn)) + leaf('PolicyArn', arn)),
  );
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/** Access advisor's names for the billing services; other namespaces are shown as they are. */
const SERVICE_NAMES: Record<string, string> = {
  'aws-portal': 'AWS Billing Console',
  billing: 'AWS Billing',
  budgets: 'AWS Budget Service',
  ce: 'AWS Cost Explorer Service',
  cur: 'AWS Cost and Usage Report',
  payments: 'AWS Payments',
  account: 'AWS Account',
};

/** What a handler returns: the inside of `<ActionResult>`, or null for actions that answer without one. */
type Handler = (p: Params) => string | null;

export interface RecordedIamCall {
  service: 'iam' | 'sts';
  action: string;
  /** IAM's error code when the call was refused. */
  error?: string;
}

export interface IamStandInOptions {
  account: IamAccount;
  /** The IAM user the caller is (what STS GetCallerIdentity and GetUser without a name answer). */
  callerUserName: string;
  /** Listen on this port (default: a free one). Always 127.0.0.1. */
  port?: number;
}

export class IamStandIn {
  /** `http://127.0.0.1:<port>`: what AWS_ENDPOINT_URL is set to. */
  readonly endpoint: string;
  readonly account: IamAccount;
  private readonly callerUserName: string;
  private readonly callLog: RecordedIamCall[] = [];
  private readonly advisorJobs = new Map<string, { userName: string; createdAt: Date }>();

  private readonly iamActions: Record<string, Handler> = {
    GetUser: (p) => node('User', userXml(this.account.user(this.userParam(p)), true)),
    GetLoginProfile: (p) => this.getLoginProfile(requiredName(p, 'UserName')),
    ListMFADevices: (p) => {
      const user = this.account.user(this.userParam(p));
      const { page, more } = paginate(user.mfaDevices, p);
      return (
        members(
          'MFADevices',
          page.map((d) => leaf('UserName', user.userName) + leaf('SerialNumber', d.serialNumber) + leaf('EnableDate', d.enableDate)),
        ) + more
      );
    },
    ListGroupsForUser: (p) => {
      const { page, more } = paginate(this.account.groupsOf(requiredName(p, 'UserName')), p);
      return members('Groups', page.map(groupXml)) + more;
    },
    ListAccessKeys: (p) => {
      const user = this.account.user(this.userParam(p));
      const { page, more } = paginate(user.accessKeys, p);
      return (
        members(
          'AccessKeyMetadata',
          page.map((k) => leaf('UserName', user.userName) + leaf('AccessKeyId', k.accessKeyId) + leaf('Status', k.status) + leaf('CreateDate', k.createDate)),
        ) + more
      );
    },
    ListUserTags: (p) => {
      const { page, more } = paginate(this.account.user(requiredName(p, 'UserName')).tags, p);
      return (
        members(
          'Tags',
          page.map((t) => leaf('Key', t.key) + leaf('Value', t.value)),
        ) + more
      );
    },
    // Users of this account hold no policies of their own: access comes through groups.
    ListAttachedUserPolicies: (p) => {
      this.account.user(requiredName(p, 'UserName'));
      return node('AttachedPolicies') + leaf('IsTruncated', false);
    },
    ListUserPolicies: (p) => {
      this.account.user(requiredName(p, 'UserName'));
      return node('PolicyNames') + leaf('IsTruncated', false);
    },
    GetGroup: (p) => {
      const group = this.account.group(requiredName(p, 'GroupName'));
      const { page, more } = paginate(group.members, p);
      return (
        node('Group', groupXml(group)) +
        members(
          'Users',
          page.map((u) => userXml(u)),
        ) +
        more
      );
    },
    CreateGroup: (p) => node('Group', groupXml(this.account.createGroup(requiredName(p, 'GroupName')))),
    ListAttachedGroupPolicies: (p) => {
      const { page, more } = paginate(this.account.group(requiredName(p, 'GroupName')).attachedPolicyArns, p);
      return attachedPoliciesXml('AttachedPolicies', page) + more;
    },
    ListGroupPolicies: (p) => {
      const { page, more } = paginate([...this.account.group(requiredName(p, 'GroupName')).inlinePolicies.keys()], p);
      return node('PolicyNames', ...page.map((name) => `<member>${escapeXml(name)}</member>`)) + more;
    },
    GetGroupPolicy: (p) => {
      const groupName = requiredName(p, 'GroupName');
      const name = requiredName(p, 'PolicyName');
      const document = this.account.inlineGroupPolicy(groupName, name);
      return leaf('GroupName', this.account.group(groupName).groupName) + leaf('PolicyName', name) + leaf('PolicyDocument', encodeURIComponent(document));
    },
    AttachGroupPolicy: (p) => {
      this.account.attachGroupPolicy(requiredName(p, 'GroupName'), required(p, 'PolicyArn'));
      return null;
    },
    DetachGroupPolicy: (p) => {
      this.account.detachGroupPolicy(requiredName(p, 'GroupName'), required(p, 'PolicyArn'));
      return null;
    },
    AddUserToGroup: (p) => {
      this.account.addUserToGroup(requiredName(p, 'UserName'), requiredName(p, 'GroupName'));
      return null;
    },
    RemoveUserFromGroup: (p) => {
      this.account.removeUserFromGroup(requiredName(p, 'UserName'), requiredName(p, 'GroupName'));
      return null;
    },
    GetPolicy: (p) => {
      const policy = this.account.policy(required(p, 'PolicyArn'));
      const attachments = this.account.groups().filter((g) => g.attachedPolicyArns.includes(policy.arn)).length;
      return node(
        'Policy',
        leaf('PolicyName', policy.policyName) +
          leaf('PolicyId', policy.policyId) +
          leaf('Arn', policy.arn) +
          leaf('Path', '/') +
          leaf('DefaultVersionId', policy.defaultVersionId) +
          leaf('AttachmentCount', attachments) +
          leaf('IsAttachable', true) +
          leaf('CreateDate', policy.createDate) +
          leaf('UpdateDate', policy.createDate),
      );
    },
    GetPolicyVersion: (p) => {
      const policy = this.account.policy(required(p, 'PolicyArn'));
      const versionId = required(p, 'VersionId');
      if (versionId !== policy.defaultVersionId)
        throw new IamFault('NoSuchEntity', 404, `Policy ${policy.arn} version ${versionId} does not exist or is not attachable.`);
      // IAM returns policy documents URL-encoded.
      return node(
        'PolicyVersion',
        leaf('Document', encodeURIComponent(policy.document)) +
          leaf('VersionId', versionId) +
          leaf('IsDefaultVersion', true) +
          leaf('CreateDate', policy.createDate),
      );
    },
    GetAccountSummary: () =>
      node('SummaryMap', ...Object.entries(this.account.summary()).map(([key, value]) => node('entry', leaf('key', key), leaf('value', value)))),
    GetAccountAuthorizationDetails: (p) => this.authorizationDetails(p),
    // Access advisor: a job per request, done at once (IAM takes seconds; the bot polls either way).
    GenerateServiceLastAccessedDetails: (p) => {
      const user = this.account.userByArn(required(p, 'Arn'));
      const granularity = p.get('Granularity') ?? 'SERVICE_LEVEL';
      if (granularity !== 'SERVICE_LEVEL')
        throw new IamFault('InvalidInput', 400, `This IAM stand-in answers Granularity SERVICE_LEVEL only, not ${granularity}.`);
      const jobId = randomUUID();
      this.advisorJobs.set(jobId, { userName: user.userName, createdAt: new Date() });
      return leaf('JobId', jobId);
    },
    GetServiceLastAccessedDetails: (p) => this.serviceLastAccessed(p),
    // The account has no roles: doctor asks for the bot's role only when it runs as one.
    GetRole: (p) => {
      const roleName = requiredName(p, 'RoleName');
      throw new IamFault('NoSuchEntity', 404, `The role with name ${roleName} cannot be found.`);
    },
  };

  private readonly stsActions: Record<string, Handler> = {
    GetCallerIdentity: () => {
      const caller = this.account.user(this.callerUserName);
      return leaf('UserId', caller.userId) + leaf('Account', this.account.accountId) + leaf('Arn', caller.arn);
    },
  };

  private constructor(
    private readonly server: Server,
    port: number,
    options: IamStandInOptions,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.account = options.account;
    this.callerUserName = options.callerUserName;
  }

  static async start(options: IamStandInOptions): Promise<IamStandIn> {
    options.account.user(options.callerUserName);
    let standIn: IamStandIn | undefined;
    const server = createServer((req, res) => {
      if (!standIn) return send(res, 503, errorXml(IAM_NAMESPACE, 'ServiceUnavailable', 'Starting.'));
      standIn.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, errorXml(IAM_NAMESPACE, 'ServiceFailure', err instanceof Error ? err.message : String(err)));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    standIn = new IamStandIn(server, (server.address() as AddressInfo).port, options);
    return standIn;
  }

  /** Every call answered so far, in order. */
  calls(action?: string): RecordedIamCall[] {
    return this.callLog.filter((c) => action === undefined || c.action === action);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private userParam(p: Params): string {
    const name = p.get('UserName');
    return name === null ? this.callerUserName : checkedName(name, 'UserName');
  }

  private getLoginProfile(userName: string): string {
    const user = this.account.user(userName);
    if (!user.loginProfileCreated) throw new IamFault('NoSuchEntity', 404, `Login Profile for User ${user.userName} cannot be found.`);
    return node('LoginProfile', leaf('UserName', user.userName) + leaf('CreateDate', user.loginProfileCreated) + leaf('PasswordResetRequired', false));
  }

  /** The services the job's user may use through their groups, and when each was last used (if ever). */
  private serviceLastAccessed(p: Params): string {
    const jobId = required(p, 'JobId');
    const job = this.advisorJobs.get(jobId);
    if (!job) throw new IamFault('NoSuchEntity', 404, `The job with ID ${jobId} cannot be found.`);
    const user = this.account.user(job.userName);
    const used = new Map(user.lastAccessed.map((use) => [use.namespace, use.at]));
    const namespaces = [...new Set([...this.account.allowedNamespaces(user.userName), ...used.keys()])].sort();
    const { page, more } = paginate(namespaces, p);
    const services = page.map((namespace) => {
      const at = used.get(namespace);
      return (
        leaf('ServiceName', SERVICE_NAMES[namespace] ?? namespace) +
        leaf('ServiceNamespace', namespace) +
        (at ? leaf('LastAuthenticated', at) + leaf('LastAuthenticatedEntity', user.arn) + leaf('LastAuthenticatedRegion', 'us-east-1') : '') +
        leaf('TotalAuthenticatedEntities', at ? 1 : 0)
      );
    });
    return (
      leaf('JobStatus', 'COMPLETED') +
      leaf('JobType', 'SERVICE_LEVEL') +
      leaf('JobCreationDate', job.createdAt) +
      members('ServicesLastAccessed', services) +
      leaf('JobCompletionDate', job.createdAt) +
      more
    );
  }

  /** Users and groups with what they hold, paged together; roles and customer policies: none here. */
  private authorizationDetails(p: Params): string {
    const filter = listParam(p, 'Filter');
    const wants = (kind: string) => filter.length === 0 || filter.includes(kind);
    const entries: ({ user: IamUser } | { group: IamGroup })[] = [
      ...(wants('User') ? this.account.users().map((user) => ({ user })) : []),
      ...(wants('Group') ? this.account.groups().map((group) => ({ group })) : []),
    ];
    const { page, more } = paginate(entries, p);
    const users = page.flatMap((e) =>
      'user' in e
        ? [
            userXml(e.user) +
              node('UserPolicyList') +
              node('GroupList', ...this.account.groupsOf(e.user.userName).map((g) => `<member>${escapeXml(g.groupName)}</member>`)) +
              node('AttachedManagedPolicies') +
              (e.user.tags.length ? tagsXml(e.user.tags) : ''),
          ]
        : [],
    );
    const groups = page.flatMap((e) =>
      'group' in e
        ? [
            groupXml(e.group) +
              members(
                'GroupPolicyList',
                [...e.group.inlinePolicies].map(([name, doc]) => leaf('PolicyName', name) + leaf('PolicyDocument', encodeURIComponent(doc))),
              ) +
              attachedPoliciesXml('AttachedManagedPolicies', e.group.attachedPolicyArns),
          ]
        : [],
    );
    return members('UserDetailList', users) + members('GroupDetailList', groups) + node('RoleDetailList') + node('Policies') + more;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.endpoint);
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, errorXml(IAM_NAMESPACE, 'RequestEntityTooLarge', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`));
    const params = new URLSearchParams(url.search);
    for (const [key, value] of new URLSearchParams(body)) params.append(key, value);

    const service = serviceOf(params.get('Version'), req.headers.authorization);
    const namespace = service === 'sts' ? STS_NAMESPACE : IAM_NAMESPACE;
    const action = params.get('Action');
    if (!action) return send(res, 400, errorXml(namespace, 'MissingAction', 'The request must contain the parameter Action.'));
    if (!service) {
      return send(
        res,
        400,
        errorXml(IAM_NAMESPACE, 'MissingParameter', `The request must contain the parameter Version (${IAM_VERSION} for IAM, ${STS_VERSION} for STS).`),
      );
    }
    const actions = service === 'sts' ? this.stsActions : this.iamActions;
    const handler = Object.hasOwn(actions, action) ? actions[action] : undefined;
    try {
      if (!handler) {
        throw new IamFault(
          'InvalidAction',
          400,
          `Could not find operation ${action} for version ${service === 'sts' ? STS_VERSION : IAM_VERSION}. This IAM stand-in answers ${Object.keys(actions).join(', ')}.`,
        );
      }
      const result = handler(params);
      this.callLog.push({ service, action });
      const requestId = randomUUID();
      send(
        res,
        200,
        `<${action}Response xmlns="${namespace}">${result === null ? '' : `<${action}Result>${result}</${action}Result>`}${node('ResponseMetadata', leaf('RequestId', requestId))}</${action}Response>`,
        requestId,
      );
    } catch (err) {
      if (!(err instanceof IamFault)) throw err;
      this.callLog.push({ service, action, error: err.code });
      send(res, err.status, errorXml(namespace, err.code, err.message));
    }
  }
}

/** STS or IAM, by the API version the request names (or, without one, by its signature's credential scope). */
function serviceOf(version: string | null, authorization: string | undefined): 'iam' | 'sts' | undefined {
  if (version === STS_VERSION) return 'sts';
  if (version === IAM_VERSION) return 'iam';
  if (version !== null) return undefined;
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/(iam|sts)\//.exec(authorization ?? '');
  return scope?.[1] === 'sts' ? 'sts' : scope?.[1] === 'iam' ? 'iam' : undefined;
}

function send(res: ServerResponse, status: number, xml: string, requestId = randomUUID()): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
  res.end(xml);
}

/** The request body, or undefined when it passes MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
