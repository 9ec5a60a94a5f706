import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resetMoto } from '../../testkit/moto.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { FakeSlack } from '../support/fake-slack.js';

/** `npm start` as a user runs it, with only the given environment (no .env file). */
function start(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', DOTENV_CONFIG_PATH: '/dev/null', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The same, without blocking this process (which may be serving the Slack stand-in the bot calls). */
function startAsync(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', DOTENV_CONFIG_PATH: '/dev/null', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe('npm start', () => {
  it('without Slack tokens refuses to start, naming what to set and pointing to the playground', () => {
    const run = start({});
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SLACK_BOT_TOKEN');
    expect(run.stderr).toContain('ADMIN_CHANNEL_ID');
    expect(run.stderr).toContain('npm run playground');
    expect(run.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(run.stdout).toBe('');
  });

  it('names every bad variable in one message', () => {
    const run = start({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'secret',
      ADMIN_CHANNEL_ID: 'CADMIN',
      ADMIN_USER_IDS: 'UADMIN',
      BILLING_GROUPS: 'read-only=BillingReadOnly',
      PORT: 'eighty',
      REQUIRE_MFA: 'sometimes',
      IAM_MODE: 'yolo',
    });
    expect(run.status).toBe(1);
    for (const name of ['PORT', 'REQUIRE_MFA', 'IAM_MODE']) expect(run.stderr).toContain(name);
    expect(run.stderr).not.toContain('npm run playground');
  });

  it('with Slack unreachable, stops within seconds with a message, not a stack trace', () => {
    const run = start({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      ADMIN_CHANNEL_ID: 'CADMIN',
      ADMIN_USER_IDS: 'UADMIN',
      BILLING_GROUPS: 'read-only=BillingReadOnly',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Could not reach Slack at http://127.0.0.1:9/api/');
  });

  it('with STORE=dynamodb and no table, says to run npm run setup', async () => {
    await resetMoto(workerAwsEndpoint());
    const slack = await FakeSlack.start({ botToken: 'xoxb-test', channels: [{ id: 'CADMIN', name: 'admins' }], users: [] });
    try {
      const run = await startAsync({
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'secret',
        SLACK_API_URL: slack.apiUrl,
        ADMIN_CHANNEL_ID: 'CADMIN',
        ADMIN_USER_IDS: 'UADMIN',
        BILLING_GROUPS: 'read-only=BillingReadOnly',
        STORE: 'dynamodb',
        TABLE_NAME: 'no-such-table',
        AWS_ENDPOINT_URL: workerAwsEndpoint(),
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('no-such-table');
      expect(run.stderr).toContain('npm run setup');
    } finally {
      await slack.stop();
    }
  });
});
