/**
 * Graceful shutdown of the real bot process: SIGTERM while a grant is in flight (its
 * AddUserToGroup held at the AWS proxy) stops new work at once, finishes the grant, and exits 0.
 */

import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORK_THREAD_NICE } from '../../src/post-ack/thread-priority.js';
import { ACTION } from '../../src/slack/ids.js';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { buildBlockAction, buildCommand } from '../../testkit/slack-payloads.js';
import { postToBot } from '../../testkit/slack-signing.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { BotProcess } from '../support/bot-process.js';
import { ADMIN_CHANNEL, PEOPLE, SIGNING_SECRET, TEAM } from '../support/harness.js';
import { eventually, ProcessRig } from '../support/process-rig.js';

const TABLE = 'billing-access-sigterm';
const employee = PEOPLE.employee.id;
const { admin1 } = PEOPLE;

/** The exit code of the process BotProcess spawned (tsx, which exits with its child's code). */
function exitCodeOf(bot: BotProcess): number | null {
  const child = (bot as unknown as { child?: ChildProcess }).child;
  if (!child || typeof child.exitCode === 'undefined') throw new Error('BotProcess no longer exposes its child process: read the exit code another way');
  return child.exitCode;
}

/** true when nothing accepts a connection on the bot's port any more. */
async function refusesConnections(bot: BotProcess): Promise<boolean> {
  try {
    await fetch(bot.url('/healthz'), { signal: AbortSignal.timeout(1_000) });
    return false;
  } catch {
    return true;
  }
}

describe('SIGTERM with a grant in flight', () => {
  let rig: ProcessRig;
  let bot: BotProcess | undefined;

  beforeEach(async () => {
    rig = await ProcessRig.start(workerAwsEndpoint(), TABLE);
  });

  afterEach(async () => {
    rig?.proxy.release('AddUserToGroup');
    await bot?.kill();
    bot = undefined;
    await BotProcess.killAll();
    await rig?.stop();
  });

  it('stops taking requests at once, finishes the held AddUserToGroup, and exits 0 on its own with the grant ACTIVE', async () => {
    rig.proxy.hold('AddUserToGroup');
    const started = await BotProcess.start(
      await rig.botEnv({
        // Long enough that no sweep recovers the APPROVED request: only the in-flight work can finish it.
        SWEEP_INTERVAL_SECONDS: '600',
      }),
    );
    bot = started;
    const logs = () => `bot output:\n${started.logTail}`;

    const command = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildCommand({ user_id: employee, team_id: TEAM, text: 'read-only 7d month-end close for October', response_url: rig.slack.responseUrl('request') }),
    );
    expect(command.status).toBe(200);
    const request = await eventually(
      'the request with its admin message in the table',
      async () => (await rig.store.listByRequester(employee)).find((r) => r.adminMessage !== undefined),
      10_000,
      logs,
    );
    const click = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildBlockAction({
        userId: admin1.id,
        channelId: ADMIN_CHANNEL,
        actionId: ACTION.approve,
        value: request.id,
        responseUrl: rig.slack.responseUrl('approve'),
      }),
    );
    expect(click.status).toBe(200);
    await eventually('AddUserToGroup to reach the proxy', async () => rig.proxy.held('AddUserToGroup') >= 1, 10_000, logs);
    expect((await rig.store.get(request.id))?.status).toBe('APPROVED');

    // SIGTERM to the tsx process only, as a container runtime sends it to PID 1: tsx relays it to the node process running main.ts.
    const pid = started.pid;
    if (pid === undefined) throw new Error('the bot has no pid');
    process.kill(pid, 'SIGTERM');
    await eventually('the bot to log that it is stopping', async () => started.logTail.includes('"event":"stopping"'), 10_000, logs);
    await eventually('the bot to stop accepting connections', () => refusesConnections(started), 10_000, logs);

    // Stopped taking work: a new signed request is not accepted while the grant is still in flight.
    const late = await postToBot(
      started.url(),
      SIGNING_SECRET,
      buildCommand({ user_id: employee, team_id: TEAM, text: 'full 1d quarterly forecast review', response_url: rig.slack.responseUrl('late') }),
    ).then(
      (res) => `HTTP ${res.status}`,
      (err: unknown) => `refused: ${err instanceof Error ? err.message : String(err)}`,
    );
    expect(late).not.toBe('HTTP 200');
    expect(started.alive, `the bot exited before its in-flight grant finished\n${logs()}`).toBe(true);
    expect((await rig.store.get(request.id))?.status).toBe('APPROVED');

    rig.proxy.release('AddUserToGroup');
    await eventually('the bot to exit on its own', async () => !started.alive, 20_000, logs);
    expect(exitCodeOf(started), logs()).toBe(0);
    expect(started.logTail).toContain('"event":"stopped"');
    // The work thread's last line, logged as it finished the grant: its batched lines are written before it ends.
    expect(started.logTail).toContain('"event":"grant.completed"');

    // Nothing in flight was lost: the grant is ACTIVE, in IAM, audited, and the requester was told.
    const active = await rig.store.get(request.id);
    expect(active?.status).toBe('ACTIVE');
    expect(active?.expiresAt).toBeTruthy();
    expect(await groupsOf(rig.iam, 'jane.doe')).toContain('BillingReadOnly');
    const events = await rig.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    expect(events.at(-1)?.actor).toBe(admin1.id);
    expect(rig.slack.messages(`D${employee}`).some((m) => /approved by/i.test(m.text))).toBe(true);
    expect(rig.proxy.count('AddUserToGroup')).toBe(1);

    // The request sent after SIGTERM left nothing behind.
    const mine = await rig.store.listByRequester(employee);
    expect(mine.map((r) => r.id)).toEqual([request.id]);
    expect(rig.slack.responses('late')).toEqual([]);
  }, 90_000);
});

/** Each thread of a process and its nice value (Linux: /proc/<pid>/task/<tid>/stat, field 19). */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The command name may hold spaces: the fields after it start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[16]));
  }
  return nices;
}

describe.runIf(process.platform === 'linux')('npm start: the thread that answers Slack and the work thread', () => {
  let rig: ProcessRig;
  let bot: BotProcess | undefined;

  beforeEach(async () => {
    rig = await ProcessRig.start(workerAwsEndpoint(), TABLE);
  });

  afterEach(async () => {
    await bot?.kill();
    await BotProcess.killAll();
    await rig?.stop();
  });

  it('answers Slack at normal priority and does the post-ack work in a thread at WORK_THREAD_NICE, which answers /healthz', async () => {
    bot = await BotProcess.start(await rig.botEnv());
    const pid = bot.pid as number;
    const nices = threadNices(pid);
    expect(nices.get(pid)).toBe(0);
    expect([...nices.values()].filter((nice) => nice === WORK_THREAD_NICE)).toHaveLength(1);
    expect((await bot.healthz()).status).toBe(200);
  });
});
