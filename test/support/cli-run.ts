/** `npm run setup | audit | doctor` (and other commands of the repository) as child processes, with only the environment a test gives them. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type CliName = 'setup' | 'audit' | 'doctor';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A command in the repository root as a child process, with exactly `env` (plus PATH and HOME,
 * and no .env of the developer's). Past `timeoutMs` it is killed: `onTimeout` 'reject' fails the
 * run, 'resolve' hands back what it printed (a process that should have exited on its own, whose
 * exit code the test then checks).
 */
export function runProcess(
  what: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  onTimeout: 'reject' | 'resolve' = 'reject',
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      // No .env of the developer's and none of the test process's AWS variables: the test's are all the process sees.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', DOTENV_CONFIG_PATH: '/dev/null', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      if (onTimeout === 'reject') reject(new Error(`${what} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function runCli(cli: CliName, env: Record<string, string>, args: string[] = [], timeoutMs = 90_000): Promise<CliRun> {
  return runProcess(cli, `${ROOT}node_modules/.bin/tsx`, [`src/cli/${cli}.ts`, ...args], env, timeoutMs);
}

export const explain = (run: CliRun) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
