/**
 * Child processes of the benchmark: spawned as `node --import tsx <script>` (so the pid is the
 * node process running the script itself, no tsx CLI wrapper in between), read from /proc,
 * and always stopped, also on error or SIGINT.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

const children = new Set<ChildProcess>();

// A last resort when the benchmark dies without running its cleanup: leave nothing running.
process.once('exit', () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

export interface NodeChild {
  child: ChildProcess;
  pid: number;
  spawnedAt: number;
  exited: Promise<void>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Spawns `node [nodeArgs] --import tsx <script> [args]` (or without tsx) in the repository root with exactly `env`
 * (plus PATH and HOME). stdout and stderr go to `logFile` when given (so a chatty child costs the
 * benchmark process nothing), otherwise they are piped.
 */
export function spawnNode(
  script: string,
  options: {
    env: Record<string, string>;
    args?: string[];
    nodeArgs?: string[];
    logFile?: string;
    /** false: plain JavaScript, no tsx loader. */
    tsx?: boolean;
    /** true: a pipe to the child's stdin. */
    stdin?: boolean;
    /** Run on these CPUs only (through taskset, which execs node: the pid stays node's). */
    cpus?: string;
  },
): NodeChild {
  const out = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const spawnedAt = performance.now();
  const loader = options.tsx === false ? [] : ['--import', 'tsx'];
  const nodeCommand = [process.execPath, ...(options.nodeArgs ?? []), ...loader, script, ...(options.args ?? [])];
  const [command, ...args] = options.cpus ? ['taskset', '-c', options.cpus, ...nodeCommand] : nodeCommand;
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      ...options.env,
    },
    stdio: [options.stdin ? 'pipe' : 'ignore', out ?? 'pipe', out ?? 'pipe'],
  });
  if (out !== undefined) closeSync(out);
  if (child.pid === undefined) throw new Error(`could not spawn ${script}`);
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(() => children.delete(child));
  return {
    child,
    pid: child.pid,
    spawnedAt,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Reads the first line a piped child prints, parsed as JSON (how helper servers say where they listen). */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`no answer from child within ${timeoutMs} ms: ${errors.slice(-2000)}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString('utf8')).slice(-4000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buffered.slice(0, newline)) as T);
      } catch (err) {
        reject(err);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (code ${code}) before answering: ${errors.slice(-2000)}`));
    });
  });
}

/** Polls `url` until it answers 200; resolves with the time it did (performance.now()). */
export async function waitForHttp200(url: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process exited before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now();
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) the process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** VmRSS and VmHWM (peak resident set) of the process, in MB, from /proc/<pid>/status. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Samples a process's RSS every `intervalMs` and remembers the largest, per labelled phase. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private phase = 'start';
  readonly maxRssByPhase = new Map<string, number>();

  constructor(
    readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  setPhase(phase: string): void {
    this.sample();
    this.phase = phase;
  }

  sample(): { rss: number; peak: number } | undefined {
    try {
      const m = memoryMb(this.pid);
      this.maxRssByPhase.set(this.phase, Math.max(this.maxRssByPhase.get(this.phase) ?? 0, m.rss));
      return m;
    } catch {
      return undefined;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Where each process runs. In production the services the bot calls (IAM, DynamoDB, Slack) run
 * on other machines; here their emulators share the machine with the bot. So the process under
 * test (the bare Bolt app, then the bot) gets CPU 0 to itself, and this process with everything
 * it starts (emulators, fake Slack, proxies, load generator) stays on the other CPUs: the
 * emulators' work is not charged to the bot, and the baseline runs under the same rule.
 * BENCH_PIN=0, a single CPU or no taskset: no pinning.
 */
export const placement: { underTest?: string; rest?: string } = (() => {
  const n = cpus().length;
  if (process.env.BENCH_PIN === '0' || n < 2) return {};
  try {
    execFileSync('taskset', ['-a', '-cp', `1-${n - 1}`, String(process.pid)], { stdio: 'ignore' });
    return { underTest: '0', rest: `1-${n - 1}` };
  } catch {
    return {};
  }
})();

/** Pids of this process's children whose command line contains `needle`. */
export function childPids(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat?.ppid !== process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(stat.pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Sets a process's nice value (10: yields to others; a negative value, which needs root, goes first); false if not allowed. */
export function setNice(pid: number, nice = 10): boolean {
  try {
    setPriority(pid, nice);
    return true;
  } catch {
    return false;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: its own CPU and that of its reaped children. */
  ticks: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU used by this process and everything below it (live descendants, and reaped ones through
 * cutime/cstime), and by the whole machine, in ms: the difference of two readings shows how much
 * CPU other work on the machine took during a measurement.
 */
export function cpuAccount(): { ours: number; machine: number } {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(entry);
    if (s) stats.set(s.pid, s);
  }
  const children = new Map<number, number[]>();
  for (const s of stats.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  let ours = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop() as number;
    ours += stats.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...nums] = line.trim().split(/\s+/);
  const v = nums.map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  const tick = 1000 / ticksPerSecond();
  return { ours: ours * tick, machine: busy * tick };
}

/** Share of the machine's CPU capacity this benchmark's own processes took between two readings over `wallMs`. */
export function ownCpuShare(before: { ours: number }, after: { ours: number }, wallMs: number): number {
  return (after.ours - before.ours) / (wallMs * cpus().length);
}

/** Share of the machine's CPU capacity that other work took between two readings over `wallMs`. */
export function otherCpuShare(before: { ours: number; machine: number }, after: { ours: number; machine: number }, wallMs: number): number {
  const other = after.machine - before.machine - (after.ours - before.ours);
  return Math.max(0, other) / (wallMs * cpus().length);
}
