/**
 * The heap flags of src/node-flags.ts are the ones every launch of the bot uses: `npm start`
 * (package.json) and the Docker image (its CMD, checked in dockerfile.test.ts); the playground,
 * the benchmark and the process tests (crash, SIGTERM) import them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOT_NODE_FLAGS } from '../../src/node-flags.js';
import { ROOT } from '../support/source-scan.js';

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('the bot’s node flags', () => {
  it('npm start runs src/main.ts under node with exactly these flags before the tsx loader', () => {
    expect(scripts.start).toBe(`node ${BOT_NODE_FLAGS.join(' ')} --import tsx src/main.ts`);
  });

  it('cap the heap without taking it below what the bot needs', () => {
    const oldSpace = Number(BOT_NODE_FLAGS.find((f) => f.startsWith('--max-old-space-size='))?.split('=')[1]);
    // The live heap measured under load is about 35 MB; keep well over three times that.
    expect(oldSpace).toBeGreaterThanOrEqual(112);
  });

  it('the playground, the benchmark and the crash and SIGTERM tests launch the bot with them', () => {
    for (const file of ['playground/main.ts', 'bench/rig.ts', 'test/support/bot-process.ts']) {
      expect(readFileSync(join(ROOT, file), 'utf8'), file).toMatch(/\.\.\.BOT_NODE_FLAGS/);
    }
  });
});
