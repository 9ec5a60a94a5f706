/**
 * The same bot as an esbuild bundle run by plain `node` (no tsx loader, no TypeScript at start):
 * how much of start-up and memory the way it is launched costs. Built into the run's temp
 * folder; dynalite (only for STORE=embedded) stays outside the bundle and resolves from
 * node_modules through NODE_PATH.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOT_NODE_FLAGS } from '../src/node-flags.js';
import { freePort } from '../testkit/moto.js';
import { memoryMb, placement, ROOT, spawnNode, waitForHttp200 } from './procs.js';
import { botEnv, type Rig, type Stoppers } from './rig.js';

export interface BundledStart {
  bundle_bytes: number;
  build_ms: number;
  startup_ms: number;
  rss_mb_after_start: number;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export async function startBundledBot(stoppers: Stoppers, rig: Rig, logDir: string, table: string): Promise<BundledStart> {
  const esbuild = await import('esbuild');
  const outdir = join(logDir, 'bundle');
  const built = performance.now();
  // As `npm run build` makes it: ESM, the work thread an entry of its own beside main.js.
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src/main.ts'), join(ROOT, 'src/work-thread.ts')],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    external: ['dynalite'],
    outdir,
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
  writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
  const outfile = join(outdir, 'main.js');
  const buildMs = performance.now() - built;
  const bytes = Object.values(result.metafile?.outputs ?? {}).reduce((total, output) => total + output.bytes, 0) || Number.NaN;
  const port = await freePort();
  const child = spawnNode(outfile, {
    ...(placement.underTest ? { cpus: placement.underTest } : {}),
    tsx: false,
    nodeArgs: [...BOT_NODE_FLAGS, ...(process.env.BENCH_BOT_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])],
    env: {
      ...botEnv({ slackApiUrl: rig.slack.apiUrl, dynamoUrl: rig.dynamoProxy.url, iamUrl: rig.iamProxy.url }, port, table),
      // The start-up STS lookup goes to moto directly (live mode stops without an answer).
      AWS_ENDPOINT_URL_STS: rig.moto.endpoint,
      NODE_PATH: join(ROOT, 'node_modules'),
    },
    logFile: join(logDir, 'bot-bundled.log'),
  });
  stoppers.add('bundled bot', () => child.stop('SIGTERM', 10_000));
  const ready = await waitForHttp200(`http://127.0.0.1:${port}/healthz`, 30_000, () => child.child.exitCode === null);
  return {
    bundle_bytes: bytes,
    build_ms: buildMs,
    startup_ms: ready - child.spawnedAt,
    rss_mb_after_start: memoryMb(child.pid).rss,
    pid: child.pid,
    url: `http://127.0.0.1:${port}/slack/events`,
    stop: () => child.stop('SIGTERM', 10_000),
  };
}
