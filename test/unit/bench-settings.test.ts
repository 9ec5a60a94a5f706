import { describe, expect, it } from 'vitest';
import { extraBotEnv, isComplete, readSettings } from '../../bench/settings.js';

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

  it('BENCH_BOT_ENV is a JSON object of strings, checked before the run starts', () => {
    expect(extraBotEnv({})).toEqual({});
    expect(extraBotEnv({ BENCH_BOT_ENV: '{"MALLOC_ARENA_MAX":"2"}' })).toEqual({ MALLOC_ARENA_MAX: '2' });
    for (const bad of ['MALLOC_ARENA_MAX=2', '{"MALLOC_ARENA_MAX":2}', '["a"]', 'null']) {
      expect(() => readSettings({ BENCH_BOT_ENV: bad })).toThrow(/BENCH_BOT_ENV/);
    }
  });
});
