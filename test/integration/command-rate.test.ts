/**
 * COMMAND_RATE_PER_MINUTE (PRODUCT §5, §6): one person's commands past the limit are refused in
 * the ack itself, with the limit and when to try again; nothing is stored and nothing reaches the
 * admins. Other people are not affected, and the person's next minute is theirs again.
 */
import { describe, expect, it } from 'vitest';
import { CommandRateLimit } from '../../src/command-rate.js';
import { PEOPLE } from '../support/harness.js';
import { employee, useClockedHarness } from '../support/lifecycle-scenarios.js';
import { ackText, waitForAnswer } from '../support/scenario-helpers.js';

const ASK = 'read-only 7d month-end close for October';

describe('COMMAND_RATE_PER_MINUTE', () => {
  const { start } = useClockedHarness();

  it('refuses the fourth command of a minute at ack time with a clear message; nothing stored, nobody else limited', async () => {
    const h = await start({ env: { COMMAND_RATE_PER_MINUTE: '3' } });
    for (let i = 0; i < 3; i++) expect(ackText(await h.command(employee, 'help'))).toMatch(/request-billing/);

    const refused = await h.command(employee, ASK);
    expect(refused.status).toBe(200);
    expect(ackText(refused)).toMatch(/more than 3 commands in the last minute.*nothing was stored.*try again in \d+ s/s);
    await h.idle();
    expect(h.replies(refused.key)).toEqual([]);
    expect(await h.requestsOf(employee)).toEqual([]);
    expect(h.adminMessages()).toHaveLength(0);

    // Another person's command in the same minute is taken as usual.
    const other = await h.command(PEOPLE.outsider.id, 'help');
    expect(ackText(other)).toMatch(/request-billing/);
  });

  it('is off with 0 (the default, 10, is in the configuration tests)', async () => {
    const h = await start({ env: { COMMAND_RATE_PER_MINUTE: '0' } });
    for (let i = 0; i < 15; i++) expect(ackText(await h.command(employee, 'help'))).toMatch(/request-billing/);
    const answer = await waitForAnswer(h, await h.command(employee, ASK));
    expect(answer).not.toMatch(/commands in the last minute/);
    expect(await h.requestsOf(employee)).toHaveLength(1);
    expect(h.bot.deps.config.commandRatePerMinute).toBe(0);
  });
});

describe('CommandRateLimit', () => {
  it('counts each person apart, and frees the minute again', async () => {
    const limit = new CommandRateLimit(2);
    expect(await limit.take('T1', 'U1')).toEqual({ allowed: true });
    expect(await limit.take('T1', 'U1')).toEqual({ allowed: true });
    const third = await limit.take('T1', 'U1');
    expect(third.allowed).toBe(false);
    expect(third.allowed ? 0 : third.retryInSeconds).toBeGreaterThanOrEqual(1);
    expect(third.allowed ? 0 : third.retryInSeconds).toBeLessThanOrEqual(60);
    expect(await limit.take('T1', 'U2')).toEqual({ allowed: true });
    expect(await limit.take('T2', 'U1')).toEqual({ allowed: true });
    expect(await new CommandRateLimit(0).take('T1', 'U1')).toEqual({ allowed: true });
  });
});
