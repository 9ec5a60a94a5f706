/**
 * The configuration contract (PRODUCT §5): `loadConfig(env)` reads every variable once with
 * zod, names every bad one at once, and is the only reader of `process.env`. One file on
 * purpose: each variable's default, parsing and message sit beside the others, so the contract
 * reads top to bottom as PRODUCT §5 lists it.
 */
import { z } from 'zod';
import type { LevelConfig } from './domain/levels.js';
import { ConfigError } from './errors.js';

/** Words that are subcommands of /request-billing and so can never be level names. */
export const SUBCOMMANDS = ['help', 'status', 'cancel', 'revoke', 'done', 'link', 'summary'] as const;

export const DEFAULT_POLICY_ARNS: Record<string, string> = {
  'read-only': 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess',
  full: 'arn:aws:iam::aws:policy/job-function/Billing',
};

/** PRODUCT §1 Usage evidence: the IAM service namespaces that count as billing. */
export const DEFAULT_BILLING_NAMESPACES: readonly string[] = [
  'aws-portal',
  'billing',
  'budgets',
  'ce',
  'consolidatedbilling',
  'cur',
  'freetier',
  'invoicing',
  'payments',
  'pricing',
  'purchase-orders',
  'sustainability',
  'tax',
];

export type { LevelConfig } from './domain/levels.js';

export type MfaPolicy = 'block' | 'warn' | 'off';
export type IamMode = 'live' | 'dry-run';
export type StoreKind = 'dynamodb' | 'embedded';
export type IdentityMapping = 'email-localpart' | 'email' | 'tag';

export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    mode: 'http' | 'socket';
  };
  http: { port: number; host: string };
  adminChannelId: string;
  adminUserIds: string[];
  adminUsergroupId: string | undefined;
  /** In configured order; the first is the default level. */
  levels: LevelConfig[];
  allowedEmailDomains: string[] | undefined;
  /** BILLING_NAMESPACES, lowercase: what the group guard lets a customer-managed policy allow. */
  billingNamespaces: string[];
  defaultDurationDays: number;
  maxDurationDays: number;
  requireMfa: MfaPolicy;
  pendingTimeoutHours: number;
  /** USAGE_GRACE_HOURS: a grant younger than this is never called unused (access advisor lags by hours). */
  usageGraceHours: number;
  breakGlassMaxHours: number | undefined;
  driftPolicy: 'report' | 'remove';
  iamUserMapping: IdentityMapping;
  iamMode: IamMode;
  store: StoreKind;
  tableName: string;
  dataDir: string;
  summaryCron: string;
  summaryTimezone: string;
  sweepIntervalSeconds: number;
  /** Slash commands one person may send per minute; 0: no limit. */
  commandRatePerMinute: number;
  logLevel: string;
  /** The AWS SDK reads its own variables; this is only the region to use when none is named. */
  aws: { region: string | undefined };
}

const LEVEL_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const IAM_GROUP_NAME = /^[\w+=,.@-]{1,128}$/;
const SLACK_ID = /^[A-Z0-9]{2,20}$/;
/** An IAM service prefix as it stands before the colon of an action (ce, aws-portal, purchase-orders). */
const SERVICE_NAMESPACE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const intIn = (min: number, max: number, fallback: number | undefined) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^\d+$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be from ${min} to ${max}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });

const oneOf = <T extends string>(values: readonly T[], fallback: T) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx): T => {
      if (v === undefined || v === '') return fallback;
      if ((values as readonly string[]).includes(v)) return v as T;
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got "${v}"` });
      return z.NEVER;
    });

/** Parses `a=b,c=d` into ordered pairs, reporting malformed entries. */
function parsePairs(raw: string, ctx: z.RefinementCtx, what: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not ${what}` });
      continue;
    }
    pairs.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return pairs;
}

const idList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const ids = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const id of ids) {
      if (!SLACK_ID.test(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a Slack user id (like U012ABCDEF)` });
    }
    return ids;
  });

const envSchema = z.object({
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xapp-'), {
    message: 'must be an app-level token starting with xapp-',
  }),
  SLACK_API_URL: optionalString.transform((v, ctx) => {
    const url = v ?? 'https://slack.com/api/';
    try {
      new URL(url);
    } catch {
      ctx.addIssue({ code: 'custom', message: `is not a URL: "${url}"` });
      return z.NEVER;
    }
    return url.endsWith('/') ? url : `${url}/`;
  }),
  PORT: intIn(0, 65535, 3000),
  HOST: optionalString.transform((v) => v ?? '0.0.0.0'),
  ADMIN_CHANNEL_ID: optionalString.refine((v) => v === undefined || SLACK_ID.test(v), {
    message: 'must be a Slack channel id (like C012ABCDEF)',
  }),
  ADMIN_USER_IDS: idList,
  ADMIN_USERGROUP_ID: optionalString.refine((v) => v === undefined || SLACK_ID.test(v), {
    message: 'must be a Slack user group id (like S012ABCDEF)',
  }),
  BILLING_GROUPS: optionalString.transform((v, ctx) => {
    if (v === undefined) return [];
    const pairs = parsePairs(v, ctx, 'a level=IAM group pair');
    const seen = new Set<string>();
    for (const [level, group] of pairs) {
      if (!LEVEL_NAME.test(level)) {
        ctx.addIssue({ code: 'custom', message: `level "${level}" must be lowercase letters, digits and dashes` });
      } else if ((SUBCOMMANDS as readonly string[]).includes(level) || level === 'break-glass') {
        ctx.addIssue({ code: 'custom', message: `"${level}" is a subcommand and cannot be a level` });
      }
      if (!IAM_GROUP_NAME.test(group)) ctx.addIssue({ code: 'custom', message: `"${group}" is not a valid IAM group name` });
      if (seen.has(level)) ctx.addIssue({ code: 'custom', message: `level "${level}" is listed twice` });
      seen.add(level);
    }
    return pairs;
  }),
  BILLING_GROUP_POLICIES: optionalString.transform((v, ctx) => {
    if (v === undefined) return new Map<string, string>();
    const pairs = parsePairs(v, ctx, 'a level=policy ARN pair');
    for (const [, arn] of pairs) {
      if (!/^arn:aws[\w-]*:iam::(aws|\d{12}):policy\/.+/.test(arn)) {
        ctx.addIssue({ code: 'custom', message: `"${arn}" is not a managed policy ARN` });
      }
    }
    return new Map(pairs);
  }),
  ALLOWED_EMAIL_DOMAINS: optionalString.transform((v) =>
    v === undefined
      ? undefined
      : [
          ...new Set(
            v
              .split(',')
              .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
              .filter(Boolean),
          ),
        ],
  ),
  BILLING_NAMESPACES: optionalString.transform((v, ctx) => {
    if (v === undefined) return [...DEFAULT_BILLING_NAMESPACES];
    const names = [
      ...new Set(
        v
          .split(',')
          .map((n) => n.trim().toLowerCase())
          .filter(Boolean),
      ),
    ];
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'names no namespace (leave it unset for the default list)' });
    for (const name of names) {
      if (!SERVICE_NAMESPACE.test(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is not an IAM service namespace (like ce or purchase-orders)` });
      // account:* can close the account or change its contacts; its reads are allowed on their own.
      else if (name === 'account')
        ctx.addIssue({ code: 'custom', message: '"account" is not a billing namespace (account:Get* and account:List* are allowed without it)' });
    }
    return names;
  }),
  DEFAULT_DURATION_DAYS: intIn(1, 3650, 7),
  MAX_DURATION_DAYS: intIn(1, 3650, 90),
  REQUIRE_MFA: oneOf(['block', 'warn', 'off'] as const, 'block'),
  APPROVALS_REQUIRED: optionalString.transform((v, ctx) => {
    const out = new Map<string, number>();
    if (v === undefined) return out;
    for (const [level, n] of parsePairs(v, ctx, 'a level=number pair')) {
      if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 5) {
        ctx.addIssue({ code: 'custom', message: `"${level}=${n}": approvals must be a whole number from 1 to 5` });
      } else out.set(level, Number(n));
    }
    return out;
  }),
  PENDING_TIMEOUT_HOURS: intIn(1, 24 * 30, 24),
  USAGE_GRACE_HOURS: intIn(0, 24 * 30, 24),
  BREAK_GLASS_MAX_HOURS: intIn(1, 72, undefined),
  DRIFT_POLICY: oneOf(['report', 'remove'] as const, 'report'),
  IAM_USER_MAPPING: oneOf(['email-localpart', 'email', 'tag'] as const, 'email-localpart'),
  IAM_MODE: oneOf(['live', 'dry-run'] as const, 'dry-run'),
  STORE: oneOf(['dynamodb', 'embedded'] as const, 'embedded'),
  TABLE_NAME: optionalString.transform((v, ctx) => {
    const name = v ?? 'billing-access';
    if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
      ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid DynamoDB table name` });
    }
    return name;
  }),
  DATA_DIR: optionalString.transform((v) => v ?? './data'),
  SUMMARY_CRON: optionalString.transform((v, ctx) => {
    const cron = v ?? '0 9 * * 1';
    if (cron.split(/\s+/).length !== 5) {
      ctx.addIssue({ code: 'custom', message: `must be a 5-field cron expression, got "${cron}"` });
    }
    return cron;
  }),
  SUMMARY_TIMEZONE: optionalString.transform((v, ctx) => {
    const tz = v ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${tz}" is not an IANA time zone (like Europe/Paris)` });
    }
    return tz;
  }),
  SWEEP_INTERVAL_SECONDS: intIn(5, 3600, 300),
  COMMAND_RATE_PER_MINUTE: intIn(0, 100_000, 10),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
});

type Env = Record<string, string | undefined>;
type Variables = z.infer<typeof envSchema>;
type VariableName = keyof Variables;

/** Parses the named variables, each on its own so that one bad value does not hide another. */
function parseVariables(env: Env, names: readonly VariableName[]): { e: Variables; problems: string[]; failed: Set<string> } {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const result = (envSchema.shape[name] as z.ZodType).safeParse(env[name]);
    if (result.success) values[name] = result.data;
    else for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
  }
  const failed = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
  return { e: values as Variables, problems, failed };
}

/** The levels of BILLING_GROUPS with their policies and approvals; problems are added to `problems`. */
function levelsOf(
  e: Pick<Variables, 'BILLING_GROUPS' | 'BILLING_GROUP_POLICIES' | 'APPROVALS_REQUIRED'>,
  failed: Set<string>,
  problems: string[],
): LevelConfig[] {
  if (!failed.has('BILLING_GROUPS') && e.BILLING_GROUPS.length === 0) {
    problems.push('BILLING_GROUPS: required, e.g. read-only=BillingReadOnly,full=BillingFull');
  }
  const configured = new Set((e.BILLING_GROUPS ?? []).map(([level]) => level));
  for (const level of e.BILLING_GROUP_POLICIES?.keys() ?? []) {
    if (!configured.has(level)) problems.push(`BILLING_GROUP_POLICIES: level "${level}" is not in BILLING_GROUPS`);
  }
  for (const level of e.APPROVALS_REQUIRED?.keys() ?? []) {
    if (!configured.has(level)) problems.push(`APPROVALS_REQUIRED: level "${level}" is not in BILLING_GROUPS`);
  }
  const levels: LevelConfig[] = [];
  for (const [level, groupName] of e.BILLING_GROUPS ?? []) {
    const policyArn = e.BILLING_GROUP_POLICIES?.get(level) ?? DEFAULT_POLICY_ARNS[level];
    if (!policyArn) {
      problems.push(`BILLING_GROUP_POLICIES: level "${level}" needs a managed policy ARN (e.g. ${level}=arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess)`);
      continue;
    }
    levels.push({ level, groupName, policyArn, approvalsRequired: e.APPROVALS_REQUIRED?.get(level) ?? 1 });
  }
  return levels;
}

/** The SDK has no default region: when neither the environment nor a profile names one, us-east-1. */
function awsOf(env: Env): Config['aws'] {
  return { region: env.AWS_REGION || env.AWS_DEFAULT_REGION || env.AWS_PROFILE ? undefined : 'us-east-1' };
}

/**
 * Reads and validates the configuration (from `process.env` unless given). This module is the
 * only reader of the environment: everything else receives a `Config`. Throws a ConfigError
 * naming every bad variable at once.
 */
export function loadConfig(env: Env = process.env): Config {
  const { e, problems, failed } = parseVariables(env, Object.keys(envSchema.shape) as VariableName[]);

  if (!e.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: required (the bot token, xoxb-…, from your Slack app)');
  else if (!e.SLACK_BOT_TOKEN.startsWith('xoxb-')) problems.push('SLACK_BOT_TOKEN: must be a bot token starting with xoxb-');
  const mode = e.SLACK_APP_TOKEN ? 'socket' : 'http';
  // Neither mode's setting: say how to pick one (a malformed app token has its own message).
  if (mode === 'http' && !e.SLACK_SIGNING_SECRET && !failed.has('SLACK_APP_TOKEN')) {
    problems.push(
      'SLACK_APP_TOKEN / SLACK_SIGNING_SECRET: set one to pick how Slack reaches the bot: SLACK_APP_TOKEN (xapp-…, Basic Information → App-Level Tokens, scope connections:write) for Socket Mode, the manifest’s default; or SLACK_SIGNING_SECRET (Basic Information → Signing Secret) for HTTP mode, with socket_mode_enabled: false and the request URLs https://<host>/slack/events in manifest.yml',
    );
  }
  if (!failed.has('ADMIN_CHANNEL_ID') && !e.ADMIN_CHANNEL_ID) problems.push('ADMIN_CHANNEL_ID: required (the channel where approvals are posted)');
  if (!failed.has('ADMIN_USER_IDS') && e.ADMIN_USER_IDS.length === 0 && !e.ADMIN_USERGROUP_ID) {
    problems.push('ADMIN_USER_IDS / ADMIN_USERGROUP_ID: set at least one (who may approve)');
  }
  if (e.DEFAULT_DURATION_DAYS !== undefined && e.MAX_DURATION_DAYS !== undefined) {
    if (e.DEFAULT_DURATION_DAYS > e.MAX_DURATION_DAYS) {
      problems.push(`DEFAULT_DURATION_DAYS: ${e.DEFAULT_DURATION_DAYS} is more than MAX_DURATION_DAYS (${e.MAX_DURATION_DAYS})`);
    }
  }
  const domains = e.ALLOWED_EMAIL_DOMAINS ?? [];
  if (e.IAM_USER_MAPPING === 'email-localpart' && domains.length > 1) {
    problems.push(
      `IAM_USER_MAPPING: email-localpart maps boss@${domains[0]} and boss@${domains[1]} to one IAM user, so it needs exactly one domain in ALLOWED_EMAIL_DOMAINS (set ${domains.length}); use IAM_USER_MAPPING=email or IAM_USER_MAPPING=tag for several domains`,
    );
  }
  const levels = levelsOf(e, failed, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN as string,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
      mode,
    },
    http: { port: e.PORT as number, host: e.HOST },
    adminChannelId: e.ADMIN_CHANNEL_ID as string,
    adminUserIds: e.ADMIN_USER_IDS,
    adminUsergroupId: e.ADMIN_USERGROUP_ID,
    levels,
    allowedEmailDomains: e.ALLOWED_EMAIL_DOMAINS,
    billingNamespaces: e.BILLING_NAMESPACES,
    defaultDurationDays: e.DEFAULT_DURATION_DAYS as number,
    maxDurationDays: e.MAX_DURATION_DAYS as number,
    requireMfa: e.REQUIRE_MFA,
    pendingTimeoutHours: e.PENDING_TIMEOUT_HOURS as number,
    usageGraceHours: e.USAGE_GRACE_HOURS as number,
    breakGlassMaxHours: e.BREAK_GLASS_MAX_HOURS,
    driftPolicy: e.DRIFT_POLICY,
    iamUserMapping: e.IAM_USER_MAPPING,
    iamMode: e.IAM_MODE,
    store: e.STORE,
    tableName: e.TABLE_NAME,
    dataDir: e.DATA_DIR,
    summaryCron: e.SUMMARY_CRON,
    summaryTimezone: e.SUMMARY_TIMEZONE,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS as number,
    commandRatePerMinute: e.COMMAND_RATE_PER_MINUTE as number,
    logLevel: e.LOG_LEVEL,
    aws: awsOf(env),
  };
}

/** What the store tools (setup, audit) need: no Slack, no admins. */
export interface StoreConfig {
  store: StoreKind;
  tableName: string;
  dataDir: string;
  aws: Config['aws'];
  /** Read and checked only when asked for (`setup --groups`); otherwise empty. */
  levels: LevelConfig[];
}

/**
 * The store's (and, with `groups`, BILLING_GROUPS') variables only, validated like loadConfig's:
 * the tools that only touch the table work without Slack settings, and a bad Slack setting does
 * not stop them.
 */
export function loadStoreConfig(options: { groups: boolean }, env: Env = process.env): StoreConfig {
  const names: VariableName[] = ['STORE', 'TABLE_NAME', 'DATA_DIR'];
  if (options.groups) names.push('BILLING_GROUPS', 'BILLING_GROUP_POLICIES', 'APPROVALS_REQUIRED');
  const { e, problems, failed } = parseVariables(env, names);
  const levels = options.groups ? levelsOf(e, failed, problems) : [];
  if (problems.length > 0) throw new ConfigError(problems);
  return { store: e.STORE, tableName: e.TABLE_NAME, dataDir: e.DATA_DIR, aws: awsOf(env), levels };
}

/** Colour on a terminal unless NO_COLOR is set (https://no-color.org). */
export function wantsColor(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}
