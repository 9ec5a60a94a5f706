/**
 * `npm run -s audit -- --since <date> [--until <date>] [--format jsonl|csv]`: the audit trail on
 * stdout, one event a line, read from the table page by page (the byAuditMonth index) and
 * written as it comes, waiting whenever stdout is full. Only data goes to stdout; messages go
 * to stderr: first which store it reads (the embedded store's directory, or the DynamoDB table,
 * region and endpoint), last how many events it wrote. Needs only the store variables. Exit 2 on
 * bad arguments, 1 when the store fails (no credentials, an endpoint that does not answer or a
 * held embedded store get doctor's hint, src/environment-hints.ts).
 *
 * A composition root of its own: it opens the DynamoDB client (with src/deps.ts's openDynamo)
 * and closes it when done.
 */
import '../sdk-node-warning.js';
import 'dotenv/config';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDynamo } from '../aws-clients.js';
import { loadStoreConfig, type StoreConfig } from '../config.js';
import type { AuditEvent } from '../domain/request.js';
import { formatHint, heldStoreHint, hintForError } from '../environment-hints.js';
import { ConfigError } from '../errors.js';
import { DocumentTable } from '../store/document-client.js';
import { DynamoRequestStore } from '../store/dynamo-store.js';
import { probeEmbeddedStore } from '../store/embedded-probe.js';
import { describeTable, type TableState } from '../store/table.js';
import { CSV_HEADER, csvLine, jsonLine, parseDateArg } from './audit-format.js';
import { otherDataDirHint, recordEndpoint, shellArgs, storeLabel } from './store-label.js';

const USAGE = `usage: npm run -s audit -- --since <date> [--until <date>] [--format jsonl|csv]
  <date>     an ISO 8601 date (2024-03-01, midnight UTC) or date-time (2024-03-01T09:30:00Z, 2024-03-01T11:30+02:00; no zone means UTC)
  --since    events at or after this time (required)
  --until    events before this time (default: now)
  --format   jsonl (default): one JSON object a line; csv: RFC 4180 with a header row
Columns: requestId, at, actor, from, to, detail. Reads STORE, TABLE_NAME, DATA_DIR and the AWS SDK's variables.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

interface Options {
  since: string;
  until: string;
  format: 'jsonl' | 'csv';
}

const OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readArgs(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseOptions(argv: string[], now: Date): Options | 'help' {
  const values = readArgs(argv);
  if (values.help) return 'help';
  if (values.since === undefined) throw new UsageError('--since <date> is required');
  const since = parseDateArg(values.since);
  if (!since) throw new UsageError(`--since "${values.since}" is not an ISO 8601 date (2024-03-01) or date-time (2024-03-01T09:30:00Z)`);
  let until = now.toISOString();
  if (values.until !== undefined) {
    const parsedUntil = parseDateArg(values.until);
    if (!parsedUntil) throw new UsageError(`--until "${values.until}" is not an ISO 8601 date (2024-03-31) or date-time (2024-03-31T18:00:00Z)`);
    until = parsedUntil;
  }
  if (until <= since) throw new UsageError(`--until (${until}) must be after --since (${since})`);
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError(`--format must be jsonl or csv, got "${format}"`);
  return { since, until, format };
}

/** Writes to stdout, waiting for 'drain' when it is full. false: the reader went away (EPIPE). */
function stdoutWriter(): { write(chunk: string): Promise<boolean> } {
  const out = process.stdout;
  let closed = false;
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else throw err;
  });
  return {
    async write(chunk: string) {
      if (closed) return false;
      if (out.write(chunk)) return true;
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          out.off('error', done);
          out.off('close', done);
          resolve();
        };
        out.once('drain', done);
        out.once('error', done);
        out.once('close', done);
      });
      return !closed;
    },
  };
}

const byTime = (a: AuditEvent, b: AuditEvent) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(process.argv.slice(2), new Date());
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`audit: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stderr.write(USAGE);
    return 0;
  }

  let config: StoreConfig;
  try {
    config = loadStoreConfig({ groups: false });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const again = `npm run -s audit -- ${shellArgs(process.argv.slice(2))}`;
  if (config.store === 'embedded') {
    const probe = await probeEmbeddedStore(config.dataDir);
    const problem =
      probe.state === 'absent'
        ? `no embedded store in ${resolve(config.dataDir)} (STORE=embedded, DATA_DIR): nothing has been recorded there; ${otherDataDirHint(config.dataDir, again)}`
        : probe.state === 'in-use'
          ? formatHint(heldStoreHint(config.dataDir))
          : probe.state === 'unknown'
            ? `the embedded store in ${config.dataDir} did not open: ${probe.why}`
            : undefined;
    if (problem) {
      process.stderr.write(`audit: ${problem}\n`);
      return 1;
    }
  }

  const where = { service: 'DynamoDB' as const, dataDir: config.dataDir };
  let opened: Awaited<ReturnType<typeof openDynamo>>;
  try {
    opened = await openDynamo(config, config.aws);
  } catch (err) {
    const hint = hintForError(err, where);
    if (!hint) throw err;
    process.stderr.write(`audit: ${formatHint(hint)}\n`);
    return 1;
  }
  const { client, embedded } = opened;
  const endpoint = recordEndpoint(client);
  try {
    let table: TableState;
    try {
      table = await describeTable(client, config.tableName);
    } catch (err) {
      const hint = hintForError(err, where);
      if (!hint) throw err;
      process.stderr.write(`audit: could not read ${await storeLabel(config, client, endpoint())}: ${formatHint(hint)}\n`);
      return 1;
    }
    const label = await storeLabel(config, client, endpoint());
    if (!table.exists) {
      const fix =
        config.store === 'embedded'
          ? `the bot creates it at its first start; ${otherDataDirHint(config.dataDir, again)}`
          : 'check TABLE_NAME and the AWS environment, or run npm run setup';
      process.stderr.write(`audit: no ${label}: ${fix}\n`);
      return 1;
    }
    // stdout is the export: which store it came from goes to stderr, before the data.
    process.stderr.write(`audit: reading ${label}\n`);
    const store = new DynamoRequestStore(new DocumentTable(client), config.tableName);
    const out = stdoutWriter();
    const line = options.format === 'csv' ? csvLine : jsonLine;
    if (options.format === 'csv' && !(await out.write(CSV_HEADER))) return 0;
    let events = 0;
    for await (const page of store.auditEventsSince(options.since, options.until)) {
      // The index sorts by time within a month; the store bounds the query by month, not by --until.
      const { since, until } = options;
      const inRange = page.filter((e) => e.at >= since && e.at < until).sort(byTime);
      if (inRange.length === 0) continue;
      events += inRange.length;
      if (!(await out.write(inRange.map(line).join('')))) return 0;
    }
    process.stderr.write(`audit: ${events} event${events === 1 ? '' : 's'} from ${options.since} to ${options.until} (${options.format})\n`);
    if (events === 0 && config.store === 'embedded') process.stderr.write(`audit: if you expected events: ${otherDataDirHint(config.dataDir, again)}\n`);
    return 0;
  } finally {
    client.destroy();
    await embedded?.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`audit failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    process.exitCode = 1;
  },
);
