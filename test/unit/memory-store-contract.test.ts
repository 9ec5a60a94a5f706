/**
 * The in-memory store the unit and model-based tests use keeps the contract the DynamoDB store
 * keeps on dynalite and moto (test/integration/store-contract.test.ts): the fake cannot drift.
 */
import { describe } from 'vitest';
import { MemoryRequestStore } from '../support/memory-store.js';
import { storeContract } from '../support/store-contract.js';

describe('MemoryRequestStore keeps the RequestStore contract', () => {
  // Every call runs to its end before another starts: conditional writes are atomic.
  storeContract(async () => new MemoryRequestStore(), { atomicConditionalWrites: true });
});
