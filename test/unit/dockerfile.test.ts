/**
 * The Dockerfile: two linters from npm find nothing, the image follows the rules the README
 * promises (multi-stage Node 22, production files only, non-root, health check), and the bundle
 * the build stage makes really runs on its own, the way the runtime stage holds it: dist/ and
 * nothing else.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { BOT_NODE_FLAGS } from '../../src/node-flags.js';
import { ROOT } from '../support/source-scan.js';

const DOCKERFILE_PATH = join(ROOT, 'Dockerfile');
const DOCKERFILE = readFileSync(DOCKERFILE_PATH, 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined; comments and blank lines dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (!buffer && !line.trim())) return;
    if (!buffer) start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = buffer.trim().match(/^(\S+)\s*(.*)$/s);
    if (match) out.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: start });
    buffer = '';
  });
  return out;
}

/** The instructions of each stage, by FROM. */
function stages(all: Instruction[]): { from: string; name?: string; body: Instruction[] }[] {
  const out: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const ins of all) {
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/);
      out.push({ from: image, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), body: [] });
    } else out.at(-1)?.body.push(ins);
  }
  return out;
}

const all = instructions(DOCKERFILE);
const allStages = stages(all);
const runtime = allStages.at(-1);
const find = (body: Instruction[], keyword: string) => body.filter((i) => i.keyword === keyword);

/** The runtime stage's exec-form CMD, e.g. ['node', '--max-old-space-size=128', …, 'dist/main.js']. */
function runtimeCommand(): string[] {
  return JSON.parse(find(runtime?.body ?? [], 'CMD').at(-1)?.args ?? '[]') as string[];
}

/** The HEALTHCHECK's exec-form command, e.g. ['node', '-e', '…']. */
function healthcheckCommand(): string[] {
  const hc = find(runtime?.body ?? [], 'HEALTHCHECK')[0];
  const json = hc?.args.match(/\bCMD\s+(\[.*\])\s*$/s)?.[1];
  if (!json) throw new Error('HEALTHCHECK has no exec-form CMD');
  return JSON.parse(json) as string[];
}

describe('Dockerfile lint', () => {
  it('dockerfilelint finds no issue', () => {
    const bin = join(ROOT, 'node_modules/.bin/dockerfilelint');
    const out = spawnSync(bin, ['-o', 'json', DOCKERFILE_PATH], { encoding: 'utf8', timeout: 30_000 });
    expect(out.error).toBeUndefined();
    const report = JSON.parse(out.stdout) as { totalIssues: number; files: { issues: { line: string; title: string; content: string }[] }[] };
    expect(report.files.flatMap((f) => f.issues.map((i) => `line ${i.line}: ${i.title}: ${i.content}`))).toEqual([]);
    expect(report.totalIssues).toBe(0);
    expect(out.status).toBe(0);
  });

  it('dockerfile-utils (the Docker language service’s validator) reports no error or warning', () => {
    const problems = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });
});

describe('Dockerfile structure', () => {
  it('is multi-stage on Node 22 images, the runtime stage taking files from the build stage', () => {
    expect(allStages.length).toBeGreaterThanOrEqual(2);
    for (const stage of allStages) expect(stage.from).toMatch(/^node:22(-[a-z0-9.-]+)?$/);
    const build = allStages[0];
    expect(build?.name).toBeTruthy();
    const copies = find(runtime?.body ?? [], 'COPY');
    expect(copies.some((c) => c.args.includes(`--from=${build?.name}`))).toBe(true);
  });

  it('builds with npm ci from the lock file and the npm build script', () => {
    const runs = find(allStages[0]?.body ?? [], 'RUN').map((r) => r.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/esbuild .*--bundle .*--platform=node .*--format=esm .*--target=node22/);
    expect(pkg.scripts.build).toContain('createRequire(import.meta.url)');
  });

  it('ships no dev dependencies and no sources in the runtime stage', () => {
    const body = runtime?.body ?? [];
    for (const run of find(body, 'RUN')) {
      if (/\bnpm (ci|install|i)\b/.test(run.args)) expect(run.args, `line ${run.line}`).toMatch(/--omit=dev|--production/);
    }
    for (const copy of find(body, 'COPY')) {
      expect(copy.args, `line ${copy.line}`).not.toMatch(/\b(src|handlers|test|node_modules)\b(?!\/)/);
    }
    expect(find(body, 'ENV').some((e) => /\bNODE_ENV=production\b/.test(e.args))).toBe(true);
  });

  it('runs as a non-root user from before CMD to the end', () => {
    const body = runtime?.body ?? [];
    const users = find(body, 'USER');
    const last = users.at(-1);
    expect(last, 'a USER instruction in the runtime stage').toBeDefined();
    expect(last?.args).not.toMatch(/^(root|0)(:|$)/);
    const cmd = find(body, 'CMD').at(-1);
    expect(cmd && last && last.line < cmd.line).toBe(true);
  });

  it('exposes 3000, starts `node dist/main.js` with the bot’s heap flags, and checks health over HTTP with node', () => {
    const body = runtime?.body ?? [];
    expect(find(body, 'EXPOSE').map((e) => e.args)).toContain('3000');
    expect(runtimeCommand()).toEqual(['node', ...BOT_NODE_FLAGS, 'dist/main.js']);
    expect(find(body, 'HEALTHCHECK')).toHaveLength(1);
    const command = healthcheckCommand();
    expect(command[0]).toBe('node');
    const script = command.join(' ');
    expect(script).toContain('http://127.0.0.1:');
    expect(script).toContain('/healthz');
    expect(script).toContain('process.env.PORT');
    expect(script).not.toMatch(/\b(curl|wget)\b/);
  });

  it('.dockerignore keeps local state, secrets and tests out, but not what the build copies', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', '.env', '.git', 'test', 'dist', 'data']) expect(ignored, entry).toContain(entry);
    expect(ignored.some((e) => e.startsWith('bench/results'))).toBe(true);
    // Every local source of a COPY exists and is not ignored.
    for (const copy of all.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, source)), `${source} (line ${copy.line})`).toBe(true);
        expect(ignored, `${source} is copied but ignored`).not.toContain(source);
      }
    }
  });
});

describe('the bundle (npm run build), run as the runtime stage holds it', () => {
  const work = mkdtempSync(join(tmpdir(), 'billing-bundle-'));
  let fakeSlack: Server | undefined;
  let bot: ChildProcess | undefined;
  afterAll(async () => {
    if (bot && bot.exitCode === null) bot.kill('SIGKILL');
    await new Promise<void>((resolve) => (fakeSlack ? fakeSlack.close(() => resolve()) : resolve()));
    rmSync(work, { recursive: true, force: true });
  });

  it('builds dist/ and copies it to a folder with no node_modules around it', () => {
    const out = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(out.status, out.stderr).toBe(0);
    expect(existsSync(join(ROOT, 'dist/main.js'))).toBe(true);
    expect(JSON.parse(readFileSync(join(ROOT, 'dist/package.json'), 'utf8'))).toMatchObject({ type: 'module' });
    cpSync(join(ROOT, 'dist'), join(work, 'dist'), { recursive: true });
    expect(existsSync(join(work, 'node_modules'))).toBe(false);
  }, 70_000);

  it('exits 1 with the configuration message, not a module error, when nothing is configured', () => {
    const out = spawnSync(process.execPath, ['dist/main.js'], { cwd: work, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
    expect(out.stderr).toContain('SLACK_BOT_TOKEN');
    expect(out.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)|No native build/);
    expect(out.status).toBe(1);
  });

  it('starts on the embedded store (dynalite and LevelDB from dist/node_modules), answers /healthz and the HEALTHCHECK, stops on SIGTERM', async () => {
    fakeSlack = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, team_id: 'T0BUNDLE', user_id: 'U0BOT', bot_id: 'B0BOT', url: 'https://bundle.slack.test/' }));
      });
    });
    await new Promise<void>((resolve) => fakeSlack?.listen(0, '127.0.0.1', () => resolve()));
    const slackPort = (fakeSlack.address() as AddressInfo).port;

    bot = spawn(process.execPath, runtimeCommand().slice(1), {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: 'xoxb-bundle-test',
        SLACK_SIGNING_SECRET: 'bundle-test-secret',
        SLACK_API_URL: `http://127.0.0.1:${slackPort}/api/`,
        ADMIN_CHANNEL_ID: 'C0ADMIN',
        ADMIN_USER_IDS: 'U0ADMIN',
        BILLING_GROUPS: 'read-only=BillingReadOnly',
        STORE: 'embedded',
        DATA_DIR: join(work, 'data'),
        PORT: '0',
        HOST: '127.0.0.1',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    bot.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "started" log line within 25 s; stderr: ${stderr}`)), 25_000);
      bot?.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const started = stdout.split('\n').find((l) => l.includes('"event":"started"'));
        if (started) {
          clearTimeout(timer);
          resolve((JSON.parse(started) as { port: number }).port);
        }
      });
      bot?.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bundle exited with ${code}; stderr: ${stderr}`));
      });
    });
    expect(existsSync(join(work, 'data', 'CURRENT')), 'LevelDB files in DATA_DIR').toBe(true);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);

    const [command, ...args] = healthcheckCommand();
    expect(command).toBe('node');
    const check = (env: Record<string, string>) => spawnSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 }).status;
    expect(check({ PORT: String(port) }), 'HEALTHCHECK against the running bot').toBe(0);

    const exited = new Promise<number | null>((resolve) => bot?.once('exit', (code) => resolve(code)));
    bot.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('"event":"stopped"');
    expect(check({ PORT: String(port) }), 'HEALTHCHECK with nothing listening').toBe(1);
  }, 45_000);
});
