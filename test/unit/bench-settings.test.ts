import { describe, expect, it } from 'vitest';
import { extraBotEnv, isComplete, readSettings, sustainedCounts, sustainedLeftover, sustainedPrefill } from '../../bench/settings.js';

describe('bench settings', () => {
  it('a full run with no trial options is complete', () => {
    expect(isComplete(readSettings({}))).toBe(true);
  });

  it('a trial (other sustained rates, bot variables or node arguments) never stands for the bot as shipped', () => {
    for (const env of [{ BENCH_SUSTAINED_RATES: '150' }, { BENCH_BOT_ENV: '{"MALLOC_ARENA_MAX":"2"}' }, { BENCH_BOT_NODE_ARGS: '--trace-gc' }]) {
      expect(isComplete(readSettings(env))).toBe(false);
    }
    expect(isComplete(readSettings({ BENCH_QUICK: '1' }))).toBe(false);
  });

  it('BENCH_SUSTAINED_RATES picks the sustained rates, and refuses what is not a whole rate', () => {
    expect(readSettings({}).sustainedRates).toEqual([50, 150]);
    expect(readSettings({ BENCH_SUSTAINED_RATES: '150' }).sustainedRates).toEqual([150]);
    expect(readSettings({ BENCH_SUSTAINED_RATES: '50, 150' }).sustainedRates).toEqual([50, 150]);
    expect(() => readSettings({ BENCH_SUSTAINED_RATES: 'fast' })).toThrow(/BENCH_SUSTAINED_RATES/);
    expect(() => readSettings({ BENCH_SUSTAINED_RATES: '0' })).toThrow(/BENCH_SUSTAINED_RATES/);
  });

  it('a full run measures each sustained rate in two rounds; each round clicks requests made before it', () => {
    const full = readSettings({});
    expect(sustainedCounts(full)).toEqual([
      { rate: 50, round: 1, commands: 250, clicks: 250 },
      { rate: 50, round: 2, commands: 250, clicks: 250 },
      { rate: 150, round: 1, commands: 750, clicks: 750 },
      { rate: 150, round: 2, commands: 750, clicks: 750 },
    ]);
    // The first 150/s round clicks 750: the prefill's 250 left after the 50/s rounds, and the 500 their commands made.
    expect(sustainedPrefill(full)).toBe(750);
    expect(sustainedLeftover(full)).toBe(750);
    expect(sustainedCounts(readSettings({ BENCH_QUICK: '1' })).map((c) => c.round)).toEqual([1, 1]);
  });

  it('BENCH_BOT_ENV is a JSON object of strings, checked before the run starts', () => {
    expect(extraBotEnv({})).toEqual({});
    expect(extraBotEnv({ BENCH_BOT_ENV: '{"MALLOC_ARENA_MAX":"2"}' })).toEqual({ MALLOC_ARENA_MAX: '2' });
    for (const bad of ['MALLOC_ARENA_MAX=2', '{"MALLOC_ARENA_MAX":2}', '["a"]', 'null']) {
      expect(() => readSettings({ BENCH_BOT_ENV: bad })).toThrow(/BENCH_BOT_ENV/);
    }
  });
});
