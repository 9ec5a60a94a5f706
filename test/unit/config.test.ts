/**
 * One file: every loadConfig section varies the one minimal `base` environment through
 * env()/configError() (only the two short closing sections, loadStoreConfig and wantsColor, do not),
 * so the cases read as one table of what the configuration accepts, defaults and refuses.
 */
import { describe, expect, it } from 'vitest';
import { type Config, DEFAULT_BILLING_NAMESPACES, DEFAULT_POLICY_ARNS, loadConfig, loadStoreConfig, SUBCOMMANDS, wantsColor } from '../../src/config.js';
import { levelNamed } from '../../src/domain/levels.js';
import { ConfigError } from '../../src/errors.js';

const READ_ONLY_ARN = 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess';
const FULL_ARN = 'arn:aws:iam::aws:policy/job-function/Billing';

/** The smallest environment that starts the bot in HTTP mode. */
const base: Record<string, string> = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  ADMIN_CHANNEL_ID: 'C0ADMINS',
  ADMIN_USER_IDS: 'U0ADMIN',
  BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
};

function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...base, ...overrides };
}

/** Runs loadConfig expecting a ConfigError and returns it. */
function configError(input: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted an invalid configuration');
}

/** The variable names a ConfigError's problems are about (the text before the first colon). */
function problemVariables(err: ConfigError): string[] {
  return err.problems.map((p) => p.slice(0, p.indexOf(':')));
}

describe('loadConfig defaults (PRODUCT §4)', () => {
  let config: Config;
  it('loads the minimal environment', () => {
    config = loadConfig(env());
    expect(config).toBeDefined();
  });

  it('uses the documented default for every optional variable', () => {
    config = loadConfig(env());
    expect(config.http).toEqual({ port: 3000, host: '0.0.0.0' });
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.defaultDurationDays).toBe(7);
    expect(config.maxDurationDays).toBe(90);
    expect(config.requireMfa).toBe('block');
    expect(config.iamMode).toBe('dry-run');
    expect(config.store).toBe('embedded');
    expect(config.tableName).toBe('billing-access');
    expect(config.dataDir).toBe('./data');
    expect(config.summaryCron).toBe('0 9 * * 1');
    expect(config.summaryTimezone).toBe('UTC');
    expect(config.sweepIntervalSeconds).toBe(300);
    expect(config.commandRatePerMinute).toBe(10);
    expect(config.pendingTimeoutHours).toBe(24);
    expect(config.breakGlassMaxHours).toBeUndefined();
    expect(config.driftPolicy).toBe('report');
    expect(config.iamUserMapping).toBe('email-localpart');
    expect(config.allowedEmailDomains).toBeUndefined();
  });

  it('gives read-only and full their default managed policies and one approval each', () => {
    config = loadConfig(env());
    expect(config.levels).toEqual([
      { level: 'read-only', groupName: 'BillingReadOnly', policyArn: READ_ONLY_ARN, approvalsRequired: 1 },
      { level: 'full', groupName: 'BillingFull', policyArn: FULL_ARN, approvalsRequired: 1 },
    ]);
    expect(DEFAULT_POLICY_ARNS['read-only']).toBe(READ_ONLY_ARN);
    expect(DEFAULT_POLICY_ARNS.full).toBe(FULL_ARN);
  });

  it('keeps BILLING_GROUPS order: the first pair is the default level', () => {
    config = loadConfig(env({ BILLING_GROUPS: 'full=BillingFull,read-only=BillingReadOnly' }));
    expect(config.levels.map((l) => l.level)).toEqual(['full', 'read-only']);
    expect(levelNamed(config.levels, 'read-only')?.groupName).toBe('BillingReadOnly');
    expect(levelNamed(config.levels, 'admin')).toBeUndefined();
  });

  it('treats empty values (as in a copied .env.example) like unset ones', () => {
    config = loadConfig(env({ PORT: '', REQUIRE_MFA: '', IAM_MODE: '', BILLING_GROUP_POLICIES: '', APPROVALS_REQUIRED: '', SLACK_APP_TOKEN: '' }));
    expect(config.http.port).toBe(3000);
    expect(config.requireMfa).toBe('block');
    expect(config.iamMode).toBe('dry-run');
    expect(config.slack.mode).toBe('http');
  });

  it('accepts explicit values', () => {
    config = loadConfig(
      env({
        PORT: '8080',
        HOST: '127.0.0.1',
        DEFAULT_DURATION_DAYS: '3',
        MAX_DURATION_DAYS: '30',
        REQUIRE_MFA: 'warn',
        IAM_MODE: 'live',
        STORE: 'dynamodb',
        TABLE_NAME: 'my-table',
        DATA_DIR: '/var/lib/bot',
        SUMMARY_CRON: '0 8 * * 5',
        SUMMARY_TIMEZONE: 'Europe/Paris',
        SWEEP_INTERVAL_SECONDS: '60',
        BREAK_GLASS_MAX_HOURS: '4',
        DRIFT_POLICY: 'remove',
        IAM_USER_MAPPING: 'tag',
      }),
    );
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1' });
    expect(config.defaultDurationDays).toBe(3);
    expect(config.maxDurationDays).toBe(30);
    expect(config.requireMfa).toBe('warn');
    expect(config.iamMode).toBe('live');
    expect(config.store).toBe('dynamodb');
    expect(config.tableName).toBe('my-table');
    expect(config.dataDir).toBe('/var/lib/bot');
    expect(config.summaryCron).toBe('0 8 * * 5');
    expect(config.summaryTimezone).toBe('Europe/Paris');
    expect(config.sweepIntervalSeconds).toBe(60);
    expect(config.breakGlassMaxHours).toBe(4);
    expect(config.driftPolicy).toBe('remove');
    expect(config.iamUserMapping).toBe('tag');
  });
});

describe('loadConfig Slack mode', () => {
  it('is HTTP mode without SLACK_APP_TOKEN', () => {
    const config = loadConfig(env());
    expect(config.slack.mode).toBe('http');
    expect(config.slack.signingSecret).toBe('signing-secret-value');
    expect(config.slack.appToken).toBeUndefined();
    expect(config.slack.botToken).toBe('xoxb-1111-2222-abcdef');
  });

  it('with neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET, names both and says which mode each picks', () => {
    const err = configError(env({ SLACK_SIGNING_SECRET: undefined }));
    expect(problemVariables(err)).toEqual(['SLACK_APP_TOKEN / SLACK_SIGNING_SECRET']);
    const [problem] = err.problems;
    expect(problem).toMatch(/SLACK_APP_TOKEN \(xapp-….*\) for Socket Mode, the manifest’s default/);
    expect(problem).toMatch(/SLACK_SIGNING_SECRET \(.*\) for HTTP mode, with socket_mode_enabled: false and the request URLs https:\/\/<host>\/slack\/events/);
  });

  it('with both set, runs Socket Mode and keeps the signing secret only to say it is unused', () => {
    const config = loadConfig(env({ SLACK_APP_TOKEN: 'xapp-1-A111-222-abc' }));
    expect(config.slack.mode).toBe('socket');
    expect(config.slack.signingSecret).toBe('signing-secret-value');
  });

  it('is Socket Mode with SLACK_APP_TOKEN, where no signing secret is needed', () => {
    const config = loadConfig(env({ SLACK_APP_TOKEN: 'xapp-1-A111-222-abc', SLACK_SIGNING_SECRET: undefined }));
    expect(config.slack.mode).toBe('socket');
    expect(config.slack.appToken).toBe('xapp-1-A111-222-abc');
    expect(config.slack.signingSecret).toBeUndefined();
  });

  it('refuses an app token that is not xapp-', () => {
    const err = configError(env({ SLACK_APP_TOKEN: 'xoxb-wrong-kind' }));
    expect(problemVariables(err)).toContain('SLACK_APP_TOKEN');
    // Without a signing secret, the malformed token is the one problem: no second "set one" line.
    expect(problemVariables(configError(env({ SLACK_APP_TOKEN: 'xoxb-wrong-kind', SLACK_SIGNING_SECRET: undefined })))).toEqual(['SLACK_APP_TOKEN']);
  });

  it('refuses a bot token that is not xoxb-', () => {
    const err = configError(env({ SLACK_BOT_TOKEN: 'xoxp-user-token' }));
    expect(problemVariables(err)).toEqual(['SLACK_BOT_TOKEN']);
  });
});

describe('loadConfig reports every problem at once', () => {
  it('names a bad PORT, a bad REQUIRE_MFA, a missing SLACK_BOT_TOKEN and a missing ADMIN_CHANNEL_ID together', () => {
    const err = configError(env({ PORT: 'eighty', REQUIRE_MFA: 'sometimes', SLACK_BOT_TOKEN: undefined, ADMIN_CHANNEL_ID: undefined }));
    const vars = problemVariables(err);
    for (const name of ['PORT', 'REQUIRE_MFA', 'SLACK_BOT_TOKEN', 'ADMIN_CHANNEL_ID']) expect(vars).toContain(name);
    expect(err.problems).toHaveLength(4);
    for (const name of ['PORT', 'REQUIRE_MFA', 'SLACK_BOT_TOKEN', 'ADMIN_CHANNEL_ID']) expect(err.message).toContain(name);
  });

  it('names many more bad variables in one error', () => {
    const err = configError({
      PORT: '70000',
      IAM_MODE: 'yolo',
      STORE: 'postgres',
      SUMMARY_CRON: 'every monday',
      SUMMARY_TIMEZONE: 'Mars/Olympus',
      SWEEP_INTERVAL_SECONDS: '1',
      SLACK_API_URL: 'not a url',
    });
    const vars = problemVariables(err);
    for (const name of [
      'PORT',
      'IAM_MODE',
      'STORE',
      'SUMMARY_CRON',
      'SUMMARY_TIMEZONE',
      'SWEEP_INTERVAL_SECONDS',
      'SLACK_API_URL',
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN / SLACK_SIGNING_SECRET',
      'ADMIN_CHANNEL_ID',
      'BILLING_GROUPS',
    ]) {
      expect(vars).toContain(name);
    }
    expect(err.problems.some((p) => p.startsWith('ADMIN_USER_IDS / ADMIN_USERGROUP_ID'))).toBe(true);
  });

  it('requires an admin list or an admin user group, and either one is enough', () => {
    const err = configError(env({ ADMIN_USER_IDS: undefined }));
    expect(err.problems.join('\n')).toContain('ADMIN_USERGROUP_ID');
    expect(loadConfig(env({ ADMIN_USER_IDS: undefined, ADMIN_USERGROUP_ID: 'S0ADMINS' })).adminUsergroupId).toBe('S0ADMINS');
    expect(loadConfig(env({ ADMIN_USER_IDS: 'U0AAA, U0BBB' })).adminUserIds).toEqual(['U0AAA', 'U0BBB']);
  });

  it('refuses an admin id that is not a Slack id', () => {
    const err = configError(env({ ADMIN_USER_IDS: 'U0ADMIN,@jane' }));
    expect(problemVariables(err)).toEqual(['ADMIN_USER_IDS']);
    expect(err.problems[0]).toContain('@jane');
  });

  it('requires BILLING_GROUPS', () => {
    const err = configError(env({ BILLING_GROUPS: undefined }));
    expect(problemVariables(err)).toEqual(['BILLING_GROUPS']);
  });

  it('refuses a malformed BILLING_GROUPS pair', () => {
    const err = configError(env({ BILLING_GROUPS: 'read-only=BillingReadOnly,full' }));
    expect(problemVariables(err)).toContain('BILLING_GROUPS');
  });
});

describe('loadConfig levels', () => {
  it.each([...SUBCOMMANDS, 'break-glass'])('refuses the subcommand word %s as a level', (word) => {
    const err = configError(env({ BILLING_GROUPS: `read-only=BillingReadOnly,${word}=BillingOther`, BILLING_GROUP_POLICIES: `${word}=${READ_ONLY_ARN}` }));
    expect(problemVariables(err)).toContain('BILLING_GROUPS');
    expect(err.problems.join('\n')).toContain(`"${word}"`);
  });

  it('has the seven documented subcommands', () => {
    expect([...SUBCOMMANDS].sort()).toEqual(['cancel', 'done', 'help', 'link', 'revoke', 'status', 'summary']);
  });

  it('refuses a level other than read-only/full without a BILLING_GROUP_POLICIES entry', () => {
    const err = configError(env({ BILLING_GROUPS: 'read-only=BillingReadOnly,cost-explorer=BillingCE' }));
    expect(problemVariables(err)).toEqual(['BILLING_GROUP_POLICIES']);
    expect(err.problems[0]).toContain('cost-explorer');
  });

  it('accepts such a level with its policy, and lets an entry override a default', () => {
    const customArn = 'arn:aws:iam::123456789012:policy/CostExplorerOnly';
    const config = loadConfig(
      env({
        BILLING_GROUPS: 'read-only=BillingReadOnly,cost-explorer=BillingCE',
        BILLING_GROUP_POLICIES: `cost-explorer=${customArn},read-only=arn:aws:iam::123456789012:policy/MyReadOnly`,
      }),
    );
    expect(levelNamed(config.levels, 'cost-explorer')?.policyArn).toBe(customArn);
    expect(levelNamed(config.levels, 'read-only')?.policyArn).toBe('arn:aws:iam::123456789012:policy/MyReadOnly');
  });

  it('refuses a BILLING_GROUP_POLICIES entry for an unknown level and a value that is not a policy ARN', () => {
    expect(problemVariables(configError(env({ BILLING_GROUP_POLICIES: `admin=${READ_ONLY_ARN}` })))).toEqual(['BILLING_GROUP_POLICIES']);
    expect(problemVariables(configError(env({ BILLING_GROUP_POLICIES: 'full=AdministratorAccess' })))).toContain('BILLING_GROUP_POLICIES');
  });

  it('reads APPROVALS_REQUIRED per level', () => {
    const config = loadConfig(env({ APPROVALS_REQUIRED: 'full=2' }));
    expect(levelNamed(config.levels, 'full')?.approvalsRequired).toBe(2);
    expect(levelNamed(config.levels, 'read-only')?.approvalsRequired).toBe(1);
  });

  it('refuses APPROVALS_REQUIRED for an unknown level', () => {
    const err = configError(env({ APPROVALS_REQUIRED: 'admin=2' }));
    expect(problemVariables(err)).toEqual(['APPROVALS_REQUIRED']);
    expect(err.problems[0]).toContain('"admin"');
  });

  it('refuses APPROVALS_REQUIRED that is not a small whole number', () => {
    expect(problemVariables(configError(env({ APPROVALS_REQUIRED: 'full=0' })))).toContain('APPROVALS_REQUIRED');
    expect(problemVariables(configError(env({ APPROVALS_REQUIRED: 'full=two' })))).toContain('APPROVALS_REQUIRED');
  });
});

describe('loadConfig durations', () => {
  it('refuses DEFAULT_DURATION_DAYS greater than MAX_DURATION_DAYS', () => {
    const err = configError(env({ DEFAULT_DURATION_DAYS: '30', MAX_DURATION_DAYS: '14' }));
    expect(problemVariables(err)).toEqual(['DEFAULT_DURATION_DAYS']);
    expect(err.problems[0]).toContain('14');
  });

  it('refuses the default DEFAULT_DURATION_DAYS (7) above a smaller MAX_DURATION_DAYS', () => {
    expect(problemVariables(configError(env({ MAX_DURATION_DAYS: '5' })))).toEqual(['DEFAULT_DURATION_DAYS']);
  });

  it('accepts DEFAULT_DURATION_DAYS equal to MAX_DURATION_DAYS', () => {
    const config = loadConfig(env({ DEFAULT_DURATION_DAYS: '14', MAX_DURATION_DAYS: '14' }));
    expect(config.defaultDurationDays).toBe(14);
    expect(config.maxDurationDays).toBe(14);
  });

  it.each(['0', '-1', '1.5', 'seven'])('refuses DEFAULT_DURATION_DAYS=%s', (value) => {
    expect(problemVariables(configError(env({ DEFAULT_DURATION_DAYS: value })))).toContain('DEFAULT_DURATION_DAYS');
  });
});

describe('loadConfig normalisation', () => {
  it('normalises ALLOWED_EMAIL_DOMAINS: trimmed, lowercase, no @, no empty entries', () => {
    const config = loadConfig(env({ ALLOWED_EMAIL_DOMAINS: ' Corp.COM, @Example.org ,, sub.Corp.com ', IAM_USER_MAPPING: 'email' }));
    expect(config.allowedEmailDomains).toEqual(['corp.com', 'example.org', 'sub.corp.com']);
  });

  it('adds a trailing slash to SLACK_API_URL', () => {
    expect(loadConfig(env({ SLACK_API_URL: 'http://127.0.0.1:4000/api' })).slack.apiUrl).toBe('http://127.0.0.1:4000/api/');
  });

  it('keeps a SLACK_API_URL that already ends in a slash', () => {
    expect(loadConfig(env({ SLACK_API_URL: 'http://127.0.0.1:4000/api/' })).slack.apiUrl).toBe('http://127.0.0.1:4000/api/');
  });

  it('uses us-east-1 only when no region or profile is named', () => {
    expect(loadConfig(env()).aws.region).toBe('us-east-1');
    expect(loadConfig(env({ AWS_REGION: 'eu-west-1' })).aws.region).toBeUndefined();
    expect(loadConfig(env({ AWS_PROFILE: 'billing' })).aws.region).toBeUndefined();
  });
});

describe('loadConfig: the identity mapping is one-to-one (PRODUCT §1 Identity)', () => {
  it('refuses email-localpart with two domains, naming email and tag as the alternatives', () => {
    const error = configError(env({ IAM_USER_MAPPING: 'email-localpart', ALLOWED_EMAIL_DOMAINS: 'corp.com,corp.io' }));
    expect(problemVariables(error)).toContain('IAM_USER_MAPPING');
    const problem = error.problems.find((p) => p.startsWith('IAM_USER_MAPPING'));
    expect(problem).toContain('IAM_USER_MAPPING=email ');
    expect(problem).toContain('IAM_USER_MAPPING=tag');
  });

  it('refuses the default mapping (email-localpart) with two domains too', () => {
    expect(problemVariables(configError(env({ ALLOWED_EMAIL_DOMAINS: 'corp.com, corp.io' })))).toContain('IAM_USER_MAPPING');
  });

  it('takes email-localpart with one domain or none (doctor warns while unset), and email or tag with several', () => {
    expect(loadConfig(env({ ALLOWED_EMAIL_DOMAINS: 'corp.com' })).iamUserMapping).toBe('email-localpart');
    expect(loadConfig(env({})).allowedEmailDomains).toBeUndefined();
    expect(loadConfig(env({ IAM_USER_MAPPING: 'email', ALLOWED_EMAIL_DOMAINS: 'corp.com,corp.io' })).allowedEmailDomains).toHaveLength(2);
    expect(loadConfig(env({ IAM_USER_MAPPING: 'tag', ALLOWED_EMAIL_DOMAINS: 'corp.com,corp.io' })).allowedEmailDomains).toHaveLength(2);
  });
});

describe('loadConfig BILLING_NAMESPACES', () => {
  const DEFAULTS = [
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

  it('defaults to the billing namespaces of PRODUCT §1, also when empty', () => {
    expect(loadConfig(env()).billingNamespaces).toEqual(DEFAULTS);
    expect(loadConfig(env({ BILLING_NAMESPACES: '' })).billingNamespaces).toEqual(DEFAULTS);
    expect(DEFAULT_BILLING_NAMESPACES).toEqual(DEFAULTS);
  });

  it('reads a comma list: trimmed, lowercase, each once', () => {
    expect(loadConfig(env({ BILLING_NAMESPACES: ' CE, billing ,,ce,Purchase-Orders' })).billingNamespaces).toEqual(['ce', 'billing', 'purchase-orders']);
  });

  it('refuses what is not an IAM service namespace, naming each, and account (only its reads are billing)', () => {
    const err = configError(env({ BILLING_NAMESPACES: 'ce,c*,billing:*,aws portal,-ce,account' }));
    const problems = err.problems.filter((p) => p.startsWith('BILLING_NAMESPACES:'));
    expect(problems).toHaveLength(5);
    for (const bad of ['"c*"', '"billing:*"', '"aws portal"', '"-ce"', '"account"']) expect(problems.join('\n')).toContain(bad);
    expect(problemVariables(configError(env({ BILLING_NAMESPACES: '*' })))).toEqual(['BILLING_NAMESPACES']);
    expect(problemVariables(configError(env({ BILLING_NAMESPACES: ' , ' })))).toEqual(['BILLING_NAMESPACES']);
  });
});

describe('loadStoreConfig (setup, audit)', () => {
  it('needs no Slack or admin settings, and ignores bad ones', () => {
    const config = loadStoreConfig({ groups: false }, { STORE: 'dynamodb', TABLE_NAME: 'billing-prod', SLACK_BOT_TOKEN: 'not-a-token', PORT: 'x' });
    expect(config).toEqual({ store: 'dynamodb', tableName: 'billing-prod', dataDir: './data', aws: { region: 'us-east-1' }, levels: [] });
  });

  it('names every bad store variable at once', () => {
    try {
      loadStoreConfig({ groups: false }, { STORE: 'mysql', TABLE_NAME: 'x' });
      throw new Error('accepted an invalid store configuration');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect(problemVariables(err as ConfigError)).toEqual(['STORE', 'TABLE_NAME']);
    }
  });

  it('with groups, reads and checks BILLING_GROUPS as loadConfig does', () => {
    const config = loadStoreConfig({ groups: true }, { BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull' });
    expect(config.levels.map((l) => [l.level, l.groupName, l.policyArn])).toEqual([
      ['read-only', 'BillingReadOnly', READ_ONLY_ARN],
      ['full', 'BillingFull', FULL_ARN],
    ]);
    expect(() => loadStoreConfig({ groups: true }, {})).toThrow(/BILLING_GROUPS: required/);
    expect(() => loadStoreConfig({ groups: true }, { BILLING_GROUPS: 'custom=Custom' })).toThrow(/level "custom" needs a managed policy ARN/);
  });
});

describe('wantsColor', () => {
  it('colours a terminal unless NO_COLOR is set, and never a pipe', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor({}, {})).toBe(false);
  });
});
