/**
 * The bot as a separate OS process, launched as `npm start` launches it (node with the bot's heap
 * flags and the tsx loader), for tests that must kill it for real. It is started in its own
 * process group and signals go to the whole group: SIGKILL leaves nothing running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BOT_NODE_FLAGS } from '../../src/node-flags.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT_TAIL_CHARS = 8_000;

export interface HealthAnswer {
  status: number;
  body: { ok?: boolean; lastSweep?: string | null; error?: string; requestId?: string };
}

const running = new Set<BotProcess>();

// If the test runner exits with a bot still up (a crash, a timeout), take its process group down too.
process.once('exit', () => {
  for (const bot of running) {
    const pid = bot.pid;
    if (pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export class BotProcess {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  /**
   * Spawns the bot with exactly `env` (plus PATH and HOME; no .env file is read) and waits
   * until GET /healthz on `env.PORT` answers 200.
   */
  static async start(env: Record<string, string>, options: { readyTimeoutMs?: number } = {}): Promise<BotProcess> {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port <= 0) throw new Error('BotProcess needs a fixed PORT in its env');
    const child = spawn(process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        DOTENV_CONFIG_PATH: '/dev/null',
        ...env,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bot = new BotProcess(child, port);
    running.add(bot);
    try {
      await bot.waitUntilHealthy(options.readyTimeoutMs ?? 30_000);
    } catch (err) {
      await bot.kill();
      throw err;
    }
    return bot;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last few KB of the process's stdout and stderr (for failure messages). */
  get logTail(): string {
    return this.output;
  }

  url(path = '/slack/events'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async healthz(): Promise<HealthAnswer> {
    const res = await fetch(this.url('/healthz'), { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.json()) as HealthAnswer['body'] };
  }

  private async waitUntilHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`the bot exited before it was ready (code ${this.child.exitCode}, signal ${this.child.signalCode}):\n${this.output}`);
      try {
        const answer = await this.healthz();
        if (answer.status === 200) return;
        last = `HTTP ${answer.status} ${JSON.stringify(answer.body)}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the bot did not answer /healthz with 200 within ${timeoutMs} ms (${last}):\n${this.output}`);
  }

  /**
   * Sends `signal` to the bot's whole process group, waits for it to exit and for its port to
   * stop answering.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    const deadline = Date.now() + timeoutMs;
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    for (;;) {
      let answering = true;
      try {
        await fetch(this.url('/healthz'), { signal: AbortSignal.timeout(500) });
      } catch {
        answering = false;
      }
      if (!answering) break;
      if (Date.now() >= deadline) throw new Error(`the bot on port ${this.port} still answers after ${signal}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    running.delete(this);
  }

  /** Kills every bot process started here that is still running. */
  static async killAll(): Promise<void> {
    for (const bot of [...running]) await bot.kill();
  }
}
