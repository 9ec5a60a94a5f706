/**
 * ULIDs (request ids, write ids, audit and lock keys) with their random part drawn from the
 * operating system's CSPRNG in batches: ulid's own source asks Web Crypto for one byte per
 * character (16 calls per id), and `ulid()` looks that source up again on every call.
 */
import { randomFillSync } from 'node:crypto';
import { monotonicFactory, type PRNG, ulid } from 'ulid';

const pool = new Uint8Array(256);
let next = pool.length;

/** A fraction in [0, 1) from one random byte, as ulid's own source gives (each of its 32 characters equally likely). */
const pooledRandom: PRNG = () => {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return (pool[next++] as number) / 256;
};

/** A new ULID at `time` (ms since the epoch; now when absent). */
export function newUlid(time?: number): string {
  return ulid(time, pooledRandom);
}

/** ULIDs that sort in the order made, even within one millisecond (request ids). */
export function monotonicUlids(): (time?: number) => string {
  return monotonicFactory(pooledRandom);
}
