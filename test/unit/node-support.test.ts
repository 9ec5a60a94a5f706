/**
 * Node 22 LTS is the supported runtime everywhere the project names one (package.json engines,
 * .nvmrc, the Docker image), and the bot's own one line below it (src/node-support.ts).
 * That the SDK's nine-line warning stays off in a real CLI process: test/integration/cli-hints.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRuntime } from '../../src/doctor/checks.js';
import { nodeSupportNote, SDK_NODE_WARNING_SWITCH, SUPPORTED_NODE_MAJOR, silenceSdkNodeWarning } from '../../src/node-support.js';
import { ROOT } from '../support/source-scan.js';

describe('the supported Node version', () => {
  it('is 22, and package.json engines, .nvmrc and every FROM of the Dockerfile say so', () => {
    expect(SUPPORTED_NODE_MAJOR).toBe(22);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } };
    expect(pkg.engines?.node).toBe(`>=${SUPPORTED_NODE_MAJOR}`);
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim()).toBe(String(SUPPORTED_NODE_MAJOR));
    const froms = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => /^FROM\s/i.test(line));
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toMatch(new RegExp(`^FROM node:${SUPPORTED_NODE_MAJOR}[-\\s]`, 'i'));
  });

  it('below it, one line of the bot’s own; from it on, nothing', () => {
    expect(nodeSupportNote('20.20.2')).toBe('Node 20.20.2 is past its end of life; Node 22 LTS is the supported runtime');
    expect(nodeSupportNote('v18.19.0')).toMatch(/^Node 18\.19\.0 is past its end of life/);
    expect(nodeSupportNote('20.20.2')).not.toContain('\n');
    for (const version of ['22.0.0', 'v22.12.0', '24.1.0']) expect(nodeSupportNote(version), version).toBeUndefined();
  });

  it('doctor’s Node runtime line: ⚠ with that line below 22, ✓ from 22 on', () => {
    expect(checkRuntime('20.20.2')).toMatchObject({ section: 'Settings', status: 'warn', title: 'Node runtime', detail: nodeSupportNote('20.20.2') });
    expect(checkRuntime('20.20.2').fix).toMatch(/\.nvmrc/);
    expect(checkRuntime('22.12.0')).toMatchObject({ status: 'ok', title: 'Node runtime' });
  });
});

describe('silenceSdkNodeWarning', () => {
  it('sets the AWS SDK’s switch when the environment does not, and leaves a value it finds alone', () => {
    const unset: Record<string, string | undefined> = {};
    silenceSdkNodeWarning(unset);
    expect(unset).toEqual({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    const asked: Record<string, string | undefined> = { [SDK_NODE_WARNING_SWITCH]: 'false' };
    silenceSdkNodeWarning(asked);
    expect(asked[SDK_NODE_WARNING_SWITCH]).toBe('false');
  });

  it('names the variable the installed AWS SDK really reads', () => {
    const sdk = readFileSync(join(ROOT, 'node_modules/@aws-sdk/core/dist-cjs/submodules/client/index.js'), 'utf8');
    expect(sdk).toContain(`process.env.${SDK_NODE_WARNING_SWITCH} === "true"`);
  });
});
