/**
 * PRODUCT §3: employees never see raw AWS error text (account ids, role names); they get a short
 * reason and a reference id, while the admin message and the log keep the details. The faults
 * are answered by the IAM proxy in IAM's own error shape, so the bot meets them as the SDK
 * surfaces them from AWS.
 */

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { InjectedError } from '../../testkit/aws-proxy.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { Harness, type HarnessOptions, PEOPLE } from '../support/harness.js';

const employee = PEOPLE.employee.id;

/** What AWS answers a role without the permission: the account id, role and instance are all in the text. */
const accessDenied = (action: string): InjectedError => ({
  status: 403,
  code: 'AccessDenied',
  message: `User: arn:aws:sts::123456789012:assumed-role/BillingBot/i-0abc is not authorized to perform: iam:${action}`,
});

/** Pieces of the raw AWS error that must never reach an employee. */
const RAW_AWS_TEXT = ['arn:aws', '123456789012', 'assumed-role', 'AccessDenied', 'BillingBot', 'i-0abc'];

function expectNoRawAwsText(seen: string): void {
  for (const raw of RAW_AWS_TEXT) expect(seen, `an employee saw "${raw}"`).not.toContain(raw);
}

/** The reference id a user is given ("Reference `ab12cd34`", "(reference `01J…`)"): the handle to the log line. */
function referenceIn(text: string): string {
  const found = /reference\W{0,3}([0-9A-Za-z]{6,})/i.exec(text);
  expect(found, `no reference id in: ${text}`).not.toBeNull();
  return found?.[1] ?? '';
}

/** The bot's JSON log lines, kept as they are written. */
class LogCapture extends Writable {
  private buffered = '';
  readonly lines: Record<string, unknown>[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.buffered += chunk.toString();
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
      newline = this.buffered.indexOf('\n');
    }
    done();
  }

  /** Lines carrying `reference` as one of their values and `detail` anywhere in them. */
  linesWith(reference: string, detail: string): Record<string, unknown>[] {
    return this.lines.filter((line) => Object.values(line).includes(reference) && JSON.stringify(line).includes(detail));
  }
}

describe('employees never see raw AWS error text', () => {
  let h: Harness | undefined;
  let log: LogCapture;

  const start = async (options: Partial<HarnessOptions> = {}): Promise<Harness> => {
    log = new LogCapture();
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), logDestination: log, ...options });
    return h;
  };

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('a slash command while the IAM user cannot be read (ListMFADevices and ListGroupsForUser denied): a short reason and a reference, nothing stored, the AWS detail in the log under that reference', async () => {
    const bot = await start();
    const denied = accessDenied('ListMFADevices');
    bot.iamProxy.failNext('ListMFADevices', denied);
    bot.iamProxy.failNext('ListGroupsForUser', accessDenied('ListGroupsForUser'));

    const res = await bot.command(employee, 'read-only 7d month-end close for October');
    expect(res.status).toBe(200);
    const reply = await bot.waitForReply(res.key);
    await bot.idle();

    expect(bot.iamProxy.failed('ListMFADevices')).toBe(1);
    expectNoRawAwsText(JSON.stringify(bot.slack.responses(res.key).map((r) => r.body)));
    expect(reply).toMatch(/could not|nothing was/i);
    const reference = referenceIn(reply);
    expect(await bot.requestsOf(employee)).toEqual([]);
    expect(bot.adminMessages()).toHaveLength(0);
    expect(bot.iamProxy.count('AddUserToGroup')).toBe(0);
    expect(log.linesWith(reference, denied.message), 'a log line with the reference and the AWS detail').not.toHaveLength(0);
  });

  it('the request modal while the IAM user cannot be read (ListMFADevices and ListGroupsForUser denied): the DM has a short reason and a reference, nothing stored, the detail in the log', async () => {
    const bot = await start();
    const denied = accessDenied('ListMFADevices');
    bot.iamProxy.failNext('ListMFADevices', denied);
    bot.iamProxy.failNext('ListGroupsForUser', accessDenied('ListGroupsForUser'));

    const res = await bot.submitRequestModal(employee, { level: 'read-only', duration: '7', justification: 'month-end close for October' });
    expect(res.status).toBe(200);
    const dm = await bot.slack.waitFor(() => bot.dms(employee)[0]);
    await bot.idle();

    expect(bot.iamProxy.failed('ListMFADevices')).toBe(1);
    expectNoRawAwsText(JSON.stringify(bot.dms(employee)));
    expect(dm.text).toMatch(/not sent|could not|nothing was/i);
    const reference = referenceIn(dm.text);
    expect(await bot.requestsOf(employee)).toEqual([]);
    expect(bot.adminMessages()).toHaveLength(0);
    expect(log.linesWith(reference, denied.message), 'a log line with the reference and the AWS detail').not.toHaveLength(0);
  });

  it('an approval whose AddUserToGroup is denied: FAILED, the admin message keeps the AWS error, the requester DM has a reference and no raw AWS text', async () => {
    const bot = await start();
    const request = await bot.requestByText(employee, 'read-only 7d month-end close for October');
    const denied = accessDenied('AddUserToGroup');
    // Every attempt is denied, however many the SDK makes.
    bot.iamProxy.failNext('AddUserToGroup', denied, { times: Number.POSITIVE_INFINITY });

    const click = await bot.click(PEOPLE.admin1.id, 'approve', request.id);
    expect(click.status).toBe(200);
    const failed = await bot.waitForStatus(request.id, 'FAILED');
    await bot.slack.waitFor(() => bot.dms(employee).length > 0);
    await bot.idle();

    expect(bot.iamProxy.failed('AddUserToGroup')).toBeGreaterThanOrEqual(1);
    expect(bot.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    expect(await groupsOf(bot.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expect(failed.failure?.name).toBe('AccessDenied');
    expect(failed.failure?.message).toContain(denied.message);

    // The admins see what AWS said, so they can fix the bot's role.
    const [adminMessage] = bot.adminMessages();
    const adminSeen = `${adminMessage?.text ?? ''} ${JSON.stringify(adminMessage?.blocks ?? [])}`;
    expect(adminSeen).toContain('AccessDenied');
    expect(adminSeen).toContain(denied.message);
    expect(JSON.stringify(adminMessage?.blocks)).toContain('"Retry"');

    const dms = bot.dms(employee);
    expect(dms).toHaveLength(1);
    expectNoRawAwsText(JSON.stringify(dms));
    const reference = referenceIn(dms[0]?.text ?? '');
    expect(log.linesWith(reference, denied.message), 'a log line with the reference and the AWS detail').not.toHaveLength(0);
  });

  it('a break-glass whose AddUserToGroup is denied: the ephemeral reply has a reference and no raw AWS text', async () => {
    const bot = await start({ env: { BREAK_GLASS_MAX_HOURS: '4' } });
    const denied = accessDenied('AddUserToGroup');
    bot.iamProxy.failNext('AddUserToGroup', denied, { times: Number.POSITIVE_INFINITY });

    const res = await bot.command(employee, 'read-only break-glass production outage, need cost data now');
    expect(res.status).toBe(200);
    const reply = await bot.waitForReply(res.key);
    await bot.idle();

    expect(bot.iamProxy.failed('AddUserToGroup')).toBeGreaterThanOrEqual(1);
    expect(bot.iamProxy.forwarded('AddUserToGroup')).toBe(0);
    expect(await groupsOf(bot.iam, 'jane.doe')).not.toContain('BillingReadOnly');
    expectNoRawAwsText(JSON.stringify(bot.slack.responses(res.key).map((r) => r.body)));
    const reference = referenceIn(reply);
    const [stored] = await bot.requestsOf(employee);
    expect(stored?.status).toBe('FAILED');
    // Whatever else the requester is told (the FAILED notice) follows the same rule.
    expectNoRawAwsText(JSON.stringify(bot.dms(employee)));
    expect(log.linesWith(reference, denied.message), 'a log line with the reference and the AWS detail').not.toHaveLength(0);
  });
});
