/**
 * The start-up block and the `started` log fields: what each Slack mode, store, IAM mode and
 * AWS identity looks like, the Node note, and that no secret reaches either.
 */
import { describe, expect, it } from 'vitest';
import type { CallerIdentity } from '../../src/aws/caller-identity.js';
import { loadConfig } from '../../src/config.js';
import { liveModeRefusal, renderStartupSummary, type StartupFacts, startupLogFields } from '../../src/startup-summary.js';

const SIGNING_SECRET = 'signing-secret-value-0123';
const APP_TOKEN = 'xapp-1-A111-222-abcdef';
const ACCOUNT = '123456789012';
const IDENTITY: CallerIdentity = { found: true, account: ACCOUNT, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-bot/task` };
const NO_CREDENTIALS: CallerIdentity = {
  found: false,
  problem: 'no-credentials',
  reason: 'no AWS credentials',
  fix: 'set AWS credentials where the bot runs (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance or task role)',
};

/** The facts of a bot started from this environment (over a minimal HTTP-mode one). */
function facts(env: Record<string, string | undefined> = {}, overrides: Partial<StartupFacts> = {}): StartupFacts {
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    ADMIN_CHANNEL_ID: 'C0ADMINS',
    ADMIN_USER_IDS: 'U0ALICE,U0BOB',
    BILLING_GROUPS: 'read-only=BillingReadOnly,full=BillingFull',
    ...env,
  });
  return { config, port: config.http.port, identity: IDENTITY, nodeVersion: 'v22.11.0', nextSummaryAt: new Date('2030-01-07T09:00:00.000Z'), ...overrides };
}

/** The block's line for a label, with its continuation lines. */
function section(block: string, label: string): string[] {
  const lines = block.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(`${label} `));
  if (start < 0) throw new Error(`no ${label} line in\n${block}`);
  const out = [lines[start]?.trim().slice(label.length).trim() ?? ''];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s{6,}\S/.test(line) || /^ {2}\S/.test(line)) break;
    out.push(line.trim());
  }
  return out;
}

describe('renderStartupSummary', () => {
  it('HTTP mode: where Slack posts, the table, live IAM and the AWS identity, levels, admins and schedules', () => {
    const block = renderStartupSummary(
      facts(
        {
          HOST: '127.0.0.1',
          PORT: '3100',
          STORE: 'dynamodb',
          TABLE_NAME: 'billing-prod',
          IAM_MODE: 'live',
          APPROVALS_REQUIRED: 'full=2',
          ADMIN_USERGROUP_ID: 'S0ADMINS',
          SWEEP_INTERVAL_SECONDS: '120',
          SUMMARY_CRON: '0 8 * * 5',
          SUMMARY_TIMEZONE: 'Europe/Paris',
        },
        { port: 3100 },
      ),
    );
    expect(block.split('\n')[0]).toBe('billing-access bot started');
    expect(block.endsWith('\n')).toBe(true);
    expect(section(block, 'Slack')).toEqual(['HTTP mode: Slack posts slash commands and clicks to http://127.0.0.1:3100/slack/events']);
    expect(section(block, 'Health')).toEqual(['GET http://127.0.0.1:3100/healthz']);
    expect(section(block, 'Store')).toEqual(['DynamoDB table billing-prod (STORE=dynamodb)']);
    expect(section(block, 'IAM')).toEqual(['IAM_MODE=live: approvals add IAM users to the billing groups, expiries remove them']);
    expect(section(block, 'AWS')).toEqual([`account ${ACCOUNT} as arn:aws:sts::${ACCOUNT}:assumed-role/billing-bot/task`]);
    expect(section(block, 'Node')).toEqual(['v22.11.0']);
    expect(section(block, 'Levels')).toEqual(['read-only → IAM group BillingReadOnly (default), full → IAM group BillingFull (2 approvals)']);
    expect(section(block, 'Admins')).toEqual(['channel C0ADMINS; users U0ALICE, U0BOB; user group S0ADMINS']);
    expect(section(block, 'Schedules')).toEqual(['sweep every 120 s; summary "0 8 * * 5" in Europe/Paris (next 2030-01-07T09:00:00.000Z)']);
    expect(block).not.toContain(SIGNING_SECRET);
  });

  it('the bound port, not PORT=0, and an IPv6 host in brackets', () => {
    const block = renderStartupSummary(facts({ PORT: '0', HOST: '::1' }, { port: 41234 }));
    expect(section(block, 'Slack')[0]).toContain('http://[::1]:41234/slack/events');
  });

  it('Socket Mode: no public URL; with a signing secret too, says it is unused', () => {
    const both = renderStartupSummary(facts({ SLACK_APP_TOKEN: APP_TOKEN }));
    expect(section(both, 'Slack')).toEqual(['Socket Mode (no public URL needed)', 'SLACK_SIGNING_SECRET is set but unused in Socket Mode']);
    expect(section(both, 'Health')).toEqual(['GET http://0.0.0.0:3000/healthz']);
    expect(both).not.toContain('/slack/events');
    expect(both).not.toContain(SIGNING_SECRET);
    expect(both).not.toContain(APP_TOKEN);

    const socketOnly = renderStartupSummary(facts({ SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: undefined }));
    expect(section(socketOnly, 'Slack')).toEqual(['Socket Mode (no public URL needed)']);
    expect(socketOnly).not.toContain('unused');
  });

  it('the embedded store: its data directory and that it serves one process', () => {
    const block = renderStartupSummary(facts({ DATA_DIR: '/var/lib/billing' }));
    expect(section(block, 'Store')).toEqual([
      'embedded store in /var/lib/billing (STORE=embedded, table billing-access): one process only; replicas need STORE=dynamodb',
    ]);
  });

  it('dry-run without AWS credentials: says so, what it means for each mode, and how to give it AWS', () => {
    const block = renderStartupSummary(facts({}, { identity: NO_CREDENTIALS }));
    expect(section(block, 'IAM')).toEqual(['IAM_MODE=dry-run: IAM is read but never changed; every Slack message is marked [dry-run]']);
    expect(section(block, 'AWS')).toEqual([
      'no AWS credentials: IAM checks are skipped in dry-run; live mode refuses to start',
      `to use AWS: ${NO_CREDENTIALS.found ? '' : NO_CREDENTIALS.fix}`,
    ]);
  });

  it('an older Node: runs, with doctor’s note that Node 22 is the supported runtime', () => {
    expect(section(renderStartupSummary(facts({}, { nodeVersion: 'v20.20.2' })), 'Node')).toEqual([
      'v20.20.2 (Node 20.20.2 is past its end of life; Node 22 LTS is the supported runtime)',
    ]);
    expect(section(renderStartupSummary(facts({}, { nodeVersion: 'v24.1.0' })), 'Node')).toEqual(['v24.1.0']);
  });

  it('a summary schedule with no next firing: no "next"', () => {
    const block = renderStartupSummary(facts({}, { nextSummaryAt: null }));
    expect(section(block, 'Schedules')).toEqual(['sweep every 300 s; summary "0 9 * * 1" in UTC']);
  });
});

describe('startupLogFields', () => {
  it('carries the same facts as the block, and no secret', () => {
    const fields = startupLogFields(facts({ SLACK_APP_TOKEN: APP_TOKEN, STORE: 'dynamodb' }));
    expect(fields).toMatchObject({
      mode: 'socket',
      unusedSigningSecret: true,
      store: 'dynamodb',
      table: 'billing-access',
      iamMode: 'dry-run',
      awsAccount: ACCOUNT,
      awsIdentity: IDENTITY.found ? IDENTITY.arn : '',
      node: 'v22.11.0',
      levels: [
        { level: 'read-only', group: 'BillingReadOnly', approvals: 1 },
        { level: 'full', group: 'BillingFull', approvals: 1 },
      ],
      adminChannel: 'C0ADMINS',
      adminUsers: ['U0ALICE', 'U0BOB'],
      sweepIntervalSeconds: 300,
    });
    expect(fields.endpoint).toBeUndefined();
    const text = JSON.stringify(fields);
    expect(text).not.toContain(SIGNING_SECRET);
    expect(text).not.toContain(APP_TOKEN);
    expect(text).not.toContain('xoxb-');
  });

  it('HTTP mode names the endpoint; without an identity, the problem', () => {
    const fields = startupLogFields(facts({ HOST: '127.0.0.1' }, { identity: NO_CREDENTIALS }));
    expect(fields).toMatchObject({ mode: 'http', path: '/slack/events', endpoint: 'http://127.0.0.1:3000/slack/events', awsProblem: 'no AWS credentials' });
    expect(fields.unusedSigningSecret).toBeUndefined();
    expect(fields.awsAccount).toBeUndefined();
  });
});

describe('liveModeRefusal', () => {
  it('says what failed, the fix, and that dry-run works without AWS', () => {
    if (NO_CREDENTIALS.found) throw new Error('unreachable');
    const message = liveModeRefusal(NO_CREDENTIALS);
    expect(message).toMatch(/^billing-access bot cannot start: IAM_MODE=live .* no usable AWS identity: no AWS credentials\./);
    expect(message).toContain(`Fix: ${NO_CREDENTIALS.fix}.`);
    expect(message).toContain('IAM_MODE=dry-run');
  });
});
