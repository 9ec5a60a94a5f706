/**
 * `npm run -s audit` as a child process against a dynalite table seeded through the real store:
 * JSON lines and CSV round-trip to exactly what the store holds, --since/--until bound it,
 * stderr names the store read, and bad arguments print nothing on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest, AuditEvent, RequestStatus } from '../../src/domain/request.js';
import { formatHint, heldStoreHint } from '../../src/environment-hints.js';
import { DynamoRequestStore } from '../../src/store/dynamo-store.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../src/store/embedded.js';
import { ensureTable } from '../../src/store/table.js';
import { seededChange } from '../support/changes.js';
import { buildRequest } from '../support/requests.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TABLE = 'billing-access-audit';
const RUN_TIMEOUT_MS = 60_000;
const TRICKY = 'denied: "not now", ask again\nafter the audit, ok?';
/** Five of these in one month pass DynamoDB's 1 MB page size, so that month comes back in more than one page. */
const BULKY = 'x'.repeat(300_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', DOTENV_CONFIG_PATH: '/dev/null', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${RUN_TIMEOUT_MS} ms\nstderr:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

/** RFC 4180: quoted fields may hold commas, doubled quotes, CR and LF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`a bare line break outside quotes at ${i}`);
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('the last row has no CRLF');
  return rows;
}

type Exported = { requestId: string; at: string; actor: string; from: string | null; to: string; detail: string | null };

const normalize = (e: AuditEvent): Exported => ({ requestId: e.requestId, at: e.at, actor: e.actor, from: e.from ?? null, to: e.to, detail: e.detail ?? null });

function request(id: string, createdAt: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return buildRequest({ id, iamUserName: `user-${id.slice(-6).toLowerCase()}`, createdAt, ...overrides });
}

// Each test starts the CLI as a process (about 2 s each on an idle machine, far more on a loaded one).
describe('npm run audit', { timeout: 120_000 }, () => {
  let dynalite: EmbeddedDynamo;
  let dynamo: DynamoDBClient;
  let store: DynamoRequestStore;
  const ids: string[] = [];
  let env: Record<string, string>;

  /** Creates a request at `steps[0].at` and moves it through the other steps, each an audit event. */
  async function seed(steps: { at: string; to: RequestStatus; actor: string; detail: string }[]): Promise<string> {
    const [first, ...rest] = steps;
    if (!first) throw new Error('no steps');
    const id = ulid(Date.parse(first.at));
    let current = request(id, first.at, { status: first.to });
    await store.create(current, { actor: first.actor, detail: first.detail });
    for (const step of rest) current = await store.update(current, seededChange(current, step.to, step.at, { actor: step.actor, detail: step.detail }));
    ids.push(id);
    return id;
  }

  beforeAll(async () => {
    dynalite = await startEmbeddedDynamo(null);
    dynamo = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ensureTable(dynamo, TABLE);
    store = new DynamoRequestStore(DynamoDBDocumentClient.from(dynamo), TABLE);
    env = {
      STORE: 'dynamodb',
      TABLE_NAME: TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };

    // Entirely before --since.
    await seed([
      { at: '2023-12-10T09:00:00.000Z', to: 'PENDING', actor: 'U0EMPLOYEE', detail: 'requested read-only for 7 days' },
      { at: '2023-12-10T10:00:00.000Z', to: 'DENIED', actor: 'U0ADMIN1', detail: 'not now' },
    ]);
    // Straddles --since: only its January events are exported.
    await seed([
      { at: '2023-12-31T23:59:59.999Z', to: 'PENDING', actor: 'U0EMPLOYEE', detail: 'requested full for 1 day' },
      { at: '2024-01-01T00:00:00.000Z', to: 'APPROVED', actor: 'U0ADMIN2', detail: 'approved (1 of 1)' },
      { at: '2024-01-01T00:00:01.000Z', to: 'ACTIVE', actor: 'system', detail: 'added user to BillingFull' },
    ]);
    // January into February, with a detail holding a comma, quotes and a newline.
    await seed([
      { at: '2024-01-20T08:00:00.000Z', to: 'PENDING', actor: 'U0EMPLOYEE', detail: 'requested read-only for 30 days' },
      { at: '2024-01-31T23:00:00.000Z', to: 'APPROVED', actor: 'U0ADMIN1', detail: TRICKY },
      { at: '2024-02-01T01:00:00.000Z', to: 'FAILED', actor: 'system', detail: 'AccessDenied, "iam:AddUserToGroup"\r\nretry later' },
      { at: '2024-02-02T09:00:00.000Z', to: 'APPROVED', actor: 'U0ADMIN2', detail: 'retry' },
      { at: '2024-02-02T09:00:05.000Z', to: 'ACTIVE', actor: 'system', detail: '' },
    ]);
    // February, bulky enough for the month to come back in more than one page.
    for (let i = 0; i < 5; i++) {
      await seed([{ at: `2024-02-1${i}T12:00:00.000Z`, to: 'PENDING', actor: `U0BULK${i}`, detail: `${i}:${BULKY}` }]);
    }
  });

  afterAll(async () => {
    dynamo?.destroy();
    await dynalite?.close();
  });

  /** What the store holds for every seeded request, in [since, until), in time order. */
  async function expected(since: string, until = '9999'): Promise<Exported[]> {
    const all: Exported[] = [];
    for (const id of ids) all.push(...(await store.auditEvents(id)).map(normalize));
    return all.filter((e) => e.at >= since && e.at < until).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  function byRequest(events: Exported[]): Map<string, Exported[]> {
    const map = new Map<string, Exported[]>();
    for (const e of events) map.set(e.requestId, [...(map.get(e.requestId) ?? []), e]);
    return map;
  }

  it('jsonl (the default): one event a line, exactly the store’s events since the date, in time order, nothing else on stdout', async () => {
    const out = await run(`${ROOT}node_modules/.bin/tsx`, ['src/cli/audit.ts', '--since', '2024-01-01'], env);
    expect(out.code, out.stderr).toBe(0);
    // Which store it read comes first, on stderr: the table, its region and the endpoint the SDK called.
    expect(out.stderr.split('\n')[0]).toBe(`audit: reading DynamoDB table ${TABLE} in us-east-1 at ${dynalite.endpoint} (STORE=dynamodb)`);
    expect(out.stdout.endsWith('\n')).toBe(true);
    const lines = out.stdout.slice(0, -1).split('\n');
    const events = lines.map((l) => JSON.parse(l) as Exported);
    for (const e of events) expect(Object.keys(e)).toEqual(['requestId', 'at', 'actor', 'from', 'to', 'detail']);

    const want = await expected('2024-01-01T00:00:00.000Z');
    expect(want.length).toBe(2 + 5 + 5);
    expect(events).toHaveLength(want.length);
    const got = byRequest(events);
    for (const [id, list] of byRequest(want)) expect(got.get(id), `events of ${id}`).toEqual(list);
    expect([...got.keys()].sort()).toEqual([...byRequest(want).keys()].sort());
    const times = events.map((e) => e.at);
    expect(times).toEqual([...times].sort());

    expect(events.some((e) => e.at < '2024-01-01')).toBe(false);
    expect(events.find((e) => e.detail === TRICKY)?.to).toBe('APPROVED');
    expect(events.filter((e) => e.detail?.endsWith(BULKY))).toHaveLength(5);
    let februaryPages = 0;
    for await (const page of store.auditEventsSince('2024-02-01T00:00:00.000Z', '2024-02-28T00:00:00.000Z')) if (page.length > 0) februaryPages++;
    expect(februaryPages, 'the export crossed a page boundary').toBeGreaterThan(1);
    expect(events.find((e) => e.to === 'PENDING' && e.at === '2024-01-20T08:00:00.000Z')?.from).toBeNull();
  });

  it('csv: a header and RFC 4180 quoting; parsed back it equals the store’s events', async () => {
    const out = await run(`${ROOT}node_modules/.bin/tsx`, ['src/cli/audit.ts', '--since', '2024-01-01T00:00:00Z', '--format', 'csv'], env);
    expect(out.code, out.stderr).toBe(0);
    const [header, ...rows] = parseCsv(out.stdout);
    expect(header).toEqual(['requestId', 'at', 'actor', 'from', 'to', 'detail']);
    const events: Exported[] = rows.map((r) => {
      expect(r).toHaveLength(6);
      const [requestId, at, actor, from, to, detail] = r as [string, string, string, string, string, string];
      return { requestId, at, actor, from: from === '' ? null : from, to, detail };
    });
    const want = (await expected('2024-01-01T00:00:00.000Z')).map((e) => ({ ...e, detail: e.detail ?? '' }));
    expect(events).toHaveLength(want.length);
    const got = byRequest(events);
    for (const [id, list] of byRequest(want)) expect(got.get(id), `events of ${id}`).toEqual(list);
    expect(out.stdout).toContain(`"${TRICKY.replace(/"/g, '""')}"`);
  });

  it('--until bounds the export (exclusive); npm run -s audit prints only the data', async () => {
    const out = await run('npm', ['run', '-s', 'audit', '--', '--since', '2024-01-01', '--until', '2024-02-01', '--format', 'jsonl'], env);
    expect(out.code, out.stderr).toBe(0);
    const events = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Exported);
    const want = await expected('2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z');
    expect(want.length).toBe(4);
    expect(events).toEqual(want);
  });

  it('a bad --since (or --format, or no --since): exit 2, a message on stderr, nothing on stdout', async () => {
    const cases = [
      ['--since', 'last tuesday'],
      ['--since', '2024-02-30'],
      ['--since', '2024-01-01T25:00:00Z'],
      ['--since', '2024-01-01', '--format', 'xml'],
      ['--since', '2024-03-01', '--until', '2024-02-01'],
      [],
    ];
    const runs: Run[] = [];
    for (const args of cases) runs.push(await run(`${ROOT}node_modules/.bin/tsx`, ['src/cli/audit.ts', ...args], env));
    runs.forEach((out, i) => {
      const args = cases[i]?.join(' ') ?? '';
      expect(out.code, `${args}: ${out.stderr}`).toBe(2);
      expect(out.stdout, args).toBe('');
      expect(out.stderr, args).toMatch(/^audit: .+\nusage: npm run -s audit -- --since <date>/);
    });
    expect(runs[0]?.stderr).toContain('--since "last tuesday" is not an ISO 8601 date');
  });

  it('STORE=embedded while another process holds DATA_DIR: exit 1 saying so, nothing on stdout', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'audit-embedded-'));
    const holder = await startEmbeddedDynamo(dataDir);
    const client = new DynamoDBClient({ endpoint: holder.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await ensureTable(client, TABLE);
      const out = await run(`${ROOT}node_modules/.bin/tsx`, ['src/cli/audit.ts', '--since', '2024-01-01'], { ...env, STORE: 'embedded', DATA_DIR: dataDir });
      expect(out.code, out.stderr).toBe(1);
      expect(out.stdout).toBe('');
      // doctor's and setup's words for it (src/environment-hints.ts).
      expect(out.stderr.trim()).toBe(`audit: ${formatHint(heldStoreHint(dataDir))}`);
    } finally {
      client.destroy();
      await holder.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
