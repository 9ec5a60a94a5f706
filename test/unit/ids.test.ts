import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { monotonicUlids, newUlid } from '../../src/ids.js';

describe('ULIDs from batched random bytes (src/ids.ts)', () => {
  it('are valid ULIDs at the time given, or now', () => {
    const at = Date.parse('2026-12-03T10:00:00.000Z');
    const id = newUlid(at);
    expect(isValid(id)).toBe(true);
    expect(decodeTime(id)).toBe(at);
    const before = Date.now();
    expect(decodeTime(newUlid())).toBeGreaterThanOrEqual(before);
  });

  it('never repeat across batches of random bytes, and every character of the random part is used', () => {
    const ids = Array.from({ length: 5_000 }, () => newUlid(1_000));
    expect(new Set(ids).size).toBe(ids.length);
    // 5,000 ids × 16 random characters: each of the 32 characters about 2,500 times.
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(10)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    for (const n of counts.values()) expect(n).toBeGreaterThan(2_000);
  });

  it('made by one monotonic factory, sort in the order made within one millisecond', () => {
    const next = monotonicUlids();
    const ids = Array.from({ length: 1_000 }, () => next(5_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
