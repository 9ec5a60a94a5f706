/**
 * What `npm start` says about itself when it is up (PRODUCT §4): one readable block for the
 * person at the terminal (Slack mode and endpoint, store, IAM mode, the AWS identity, Node,
 * levels, admins, schedules), the same facts as fields of the JSON `started` log line, and the
 * refusal live mode gives without an AWS identity. Pure: the facts come in, text goes out.
 */
import type { CallerIdentity } from './aws/caller-identity.js';
import type { Config } from './config.js';
import { nodeSupportNote } from './node-support.js';

export interface StartupFacts {
  config: Pick<
    Config,
    | 'http'
    | 'store'
    | 'tableName'
    | 'dataDir'
    | 'iamMode'
    | 'levels'
    | 'adminChannelId'
    | 'adminUserIds'
    | 'adminUsergroupId'
    | 'sweepIntervalSeconds'
    | 'summaryCron'
    | 'summaryTimezone'
  > & { slack: Pick<Config['slack'], 'mode' | 'signingSecret'> };
  /** The HTTP port actually bound (PORT=0 picks one). */
  port: number;
  identity: CallerIdentity;
  /** `process.versions.node`, e.g. `22.11.0`. */
  nodeVersion: string;
  /** The weekly summary's next firing, when the schedule has one. */
  nextSummaryAt?: Date | null;
}

/** `host:port` as a URL authority (an IPv6 address goes in brackets). */
function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where Slack must post in HTTP mode; undefined in Socket Mode. */
function slackEndpoint(facts: Pick<StartupFacts, 'config' | 'port'>): string | undefined {
  return facts.config.slack.mode === 'http' ? `http://${authority(facts.config.http.host, facts.port)}/slack/events` : undefined;
}

/** True when both modes' settings are given: Socket Mode runs and the signing secret is not used. */
export function signingSecretUnused(config: StartupFacts['config']): boolean {
  return config.slack.mode === 'socket' && config.slack.signingSecret !== undefined;
}

function slackLines(facts: StartupFacts): string[] {
  const endpoint = slackEndpoint(facts);
  if (endpoint) return [`HTTP mode: Slack posts slash commands and clicks to ${endpoint}`];
  const lines = ['Socket Mode (no public URL needed)'];
  if (signingSecretUnused(facts.config)) lines.push('SLACK_SIGNING_SECRET is set but unused in Socket Mode');
  return lines;
}

/** In either mode the bot's HTTP server is bound to HOST and the port it got. */
function healthLine(facts: StartupFacts): string {
  return `GET http://${authority(facts.config.http.host, facts.port)}/healthz`;
}

function storeLine(config: StartupFacts['config']): string {
  return config.store === 'embedded'
    ? `embedded store in ${config.dataDir} (STORE=embedded, table ${config.tableName}): one process only; replicas need STORE=dynamodb`
    : `DynamoDB table ${config.tableName} (STORE=dynamodb)`;
}

function iamLine(config: StartupFacts['config']): string {
  return config.iamMode === 'live'
    ? 'IAM_MODE=live: approvals add IAM users to the billing groups, expiries remove them'
    : 'IAM_MODE=dry-run: IAM is read but never changed; every Slack message is marked [dry-run]';
}

function awsLines(identity: CallerIdentity): string[] {
  if (identity.found) return [`account ${identity.account} as ${identity.arn}`];
  return [`${identity.reason}: IAM checks are skipped in dry-run; live mode refuses to start`, `to use AWS: ${identity.fix}`];
}

/** The version, with doctor's one-line note below the supported Node. */
function nodeLine(version: string): string {
  const note = nodeSupportNote(version);
  return note ? `${version} (${note})` : version;
}

function levelsLine(levels: StartupFacts['config']['levels']): string {
  return levels
    .map((l, i) => {
      const notes = [...(i === 0 ? ['default'] : []), ...(l.approvalsRequired > 1 ? [`${l.approvalsRequired} approvals`] : [])];
      return `${l.level} → IAM group ${l.groupName}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    })
    .join(', ');
}

function adminsLine(config: StartupFacts['config']): string {
  const who = [
    ...(config.adminUserIds.length > 0 ? [`users ${config.adminUserIds.join(', ')}`] : []),
    ...(config.adminUsergroupId ? [`user group ${config.adminUsergroupId}`] : []),
  ];
  return `channel ${config.adminChannelId}; ${who.join('; ')}`;
}

function schedulesLine(facts: StartupFacts): string {
  const { config } = facts;
  const next = facts.nextSummaryAt ? ` (next ${facts.nextSummaryAt.toISOString()})` : '';
  return `sweep every ${config.sweepIntervalSeconds} s; summary "${config.summaryCron}" in ${config.summaryTimezone}${next}`;
}

/** The start-up block: a heading, then one labelled line (or a few) per subject. Ends with a newline. */
export function renderStartupSummary(facts: StartupFacts): string {
  const { config } = facts;
  const rows: [string, string[]][] = [
    ['Slack', slackLines(facts)],
    ['Health', [healthLine(facts)]],
    ['Store', [storeLine(config)]],
    ['IAM', [iamLine(config)]],
    ['AWS', awsLines(facts.identity)],
    ['Node', [nodeLine(facts.nodeVersion)]],
    ['Levels', [levelsLine(config.levels)]],
    ['Admins', [adminsLine(config)]],
    ['Schedules', [schedulesLine(facts)]],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const body = rows.flatMap(([label, lines]) => lines.map((line, i) => `  ${(i === 0 ? label : '').padEnd(width)}${line}`));
  return `billing-access bot started\n${body.join('\n')}\n`;
}

/** The same facts as fields of the `started` log line (no secret: only whether one is set). */
export function startupLogFields(facts: StartupFacts): Record<string, unknown> {
  const { config, identity } = facts;
  return {
    mode: config.slack.mode,
    port: facts.port,
    path: config.slack.mode === 'http' ? '/slack/events' : undefined,
    endpoint: slackEndpoint(facts),
    unusedSigningSecret: signingSecretUnused(config) || undefined,
    store: config.store,
    dataDir: config.store === 'embedded' ? config.dataDir : undefined,
    table: config.tableName,
    iamMode: config.iamMode,
    awsAccount: identity.found ? identity.account : undefined,
    awsIdentity: identity.found ? identity.arn : undefined,
    awsProblem: identity.found ? undefined : identity.reason,
    node: facts.nodeVersion,
    levels: config.levels.map((l) => ({ level: l.level, group: l.groupName, approvals: l.approvalsRequired })),
    adminChannel: config.adminChannelId,
    adminUsers: config.adminUserIds,
    adminUsergroup: config.adminUsergroupId,
    sweepIntervalSeconds: config.sweepIntervalSeconds,
    summaryCron: config.summaryCron,
    summaryTimezone: config.summaryTimezone,
  };
}

/** Why live mode will not start without an AWS identity, and the two ways on. */
export function liveModeRefusal(identity: Extract<CallerIdentity, { found: false }>): string {
  return [
    `billing-access bot cannot start: IAM_MODE=live changes IAM, and it has no usable AWS identity: ${identity.reason}.`,
    `Fix: ${identity.fix}.`,
    'Or set IAM_MODE=dry-run to try the bot without AWS (IAM is read where it can be, never changed).',
  ].join('\n');
}
