/** doctor: settings no API can confirm (ALLOWED_EMAIL_DOMAINS, dry-run, the root-only Billing toggle), and the Node runtime. */
import type { Config } from '../config.js';
import { nodeSupportNote, SUPPORTED_NODE_MAJOR } from '../node-support.js';
import { type CheckResult, couldNotCheck, ok, warn } from './results.js';

/** How to turn on the root-only toggle; shown by doctor (and fit for help texts). */
const ROOT_TOGGLE_HOWTO =
  'as the account’s root user, open Account settings (https://console.aws.amazon.com/billing/home#/account), ' +
  'find "IAM user and role access to Billing information", choose Edit, tick "Activate IAM Access" and Update; ' +
  'until then group members are refused in the Billing console whatever their policies say';

export function checkSettings(config: Pick<Config, 'iamMode' | 'store' | 'tableName' | 'dataDir' | 'allowedEmailDomains'>): CheckResult[] {
  const results: CheckResult[] = [];
  results.push(
    config.iamMode === 'live'
      ? ok('Settings', 'IAM_MODE', 'live: approvals add users to the IAM groups and expiries remove them')
      : warn(
          'Settings',
          'IAM_MODE',
          'dry-run: nothing is changed in IAM (requests are shown and recorded as if granted)',
          'set IAM_MODE=live when the checks above pass',
        ),
  );
  results.push(
    config.store === 'dynamodb'
      ? ok('Settings', 'STORE', `dynamodb, table ${config.tableName}: replicas can share it`)
      : ok('Settings', 'STORE', `embedded in ${config.dataDir}, table ${config.tableName}: one process only (replicas need STORE=dynamodb)`),
  );
  results.push(
    config.allowedEmailDomains && config.allowedEmailDomains.length > 0
      ? ok('Settings', 'ALLOWED_EMAIL_DOMAINS', config.allowedEmailDomains.join(', '))
      : warn(
          'Settings',
          'ALLOWED_EMAIL_DOMAINS',
          'unset: a Slack email of any domain maps to an IAM user (jane.doe@partner.com could become jane.doe)',
          'set ALLOWED_EMAIL_DOMAINS to your company’s email domain, e.g. ALLOWED_EMAIL_DOMAINS=corp.com (IAM_USER_MAPPING=email-localpart takes exactly one; email or tag take several)',
        ),
  );
  results.push(
    couldNotCheck(
      'Settings',
      'AWS account: "IAM user and role access to Billing information"',
      'it is a root-only account setting and no public API reads it',
      ROOT_TOGGLE_HOWTO,
    ),
  );
  return results;
}

/** The Node version doctor runs on (`process.versions.node`): ✓ from Node 22 LTS on, ⚠ below it, in the bot's one line. */
export function checkRuntime(nodeVersion: string): CheckResult {
  const note = nodeSupportNote(nodeVersion);
  return note
    ? warn('Settings', 'Node runtime', note, `run the bot on Node ${SUPPORTED_NODE_MAJOR} (nvm install reads .nvmrc; the Docker image has it)`)
    : ok('Settings', 'Node runtime', `${nodeVersion}: a supported runtime`);
}
