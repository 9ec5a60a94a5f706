import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface MotoHandle {
  endpoint: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 3_000;
const STDERR_TAIL_CHARS = 4_000;

/** Endpoint -> whether it is a moto server (cached per process). */
const motoEndpoints = new Map<string, boolean>();

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitForExit(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a moto_server (IAM + DynamoDB emulator) on a free local port, or reuses the
 * endpoint in TEST_AWS_ENDPOINT_URL when set.
 */
export async function startMoto(): Promise<MotoHandle> {
  const external = process.env.TEST_AWS_ENDPOINT_URL;
  if (external) {
    return { endpoint: external.replace(/\/+$/, ''), stop: async () => {} };
  }

  const binary = findOnPath('moto_server');
  if (!binary) {
    throw new Error("moto_server not found: pip install 'moto[server]==5.2.1' (or set TEST_AWS_ENDPOINT_URL to a running IAM+DynamoDB emulator)");
  }

  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = 'no response yet';
  for (;;) {
    if (spawnError) {
      throw new Error(`moto_server failed to start: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited early (code ${child.exitCode}, signal ${child.signalCode}); output tail:\n${output}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      await stopProcess(child);
      throw new Error(`moto_server did not come up on ${endpoint} within ${STARTUP_TIMEOUT_MS / 1000}s (${lastProblem}); output tail:\n${output}`);
    }
    await sleep(100);
  }

  motoEndpoints.set(endpoint, true);
  return { endpoint, stop: () => stopProcess(child) };
}

async function isMoto(endpoint: string): Promise<boolean> {
  const cached = motoEndpoints.get(endpoint);
  if (cached !== undefined) return cached;
  let result = false;
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(5_000) });
    const body = await response.text();
    result = response.status === 200 && /<title>\s*Moto\s*<\/title>/i.test(body);
  } catch {
    result = false;
  }
  motoEndpoints.set(endpoint, result);
  return result;
}

/** Wipes all emulated AWS state. Does nothing for an endpoint that is not a moto server. */
export async function resetMoto(endpoint: string): Promise<void> {
  const base = endpoint.replace(/\/+$/, '');
  if (!(await isMoto(base))) return;
  const response = await fetch(`${base}/moto-api/reset`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  const body = await response.text();
  if (response.status !== 200) {
    throw new Error(`moto reset failed on ${base}: HTTP ${response.status} ${body.slice(0, 500)}`);
  }
}
