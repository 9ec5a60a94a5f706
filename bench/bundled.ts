/**
 * The same bot as one esbuild bundle run by plain `node` (no tsx loader, no TypeScript at start):
 * how much of start-up and memory the way it is launched costs. Built into the run's temp
 * folder; dynalite (only for STORE=embedded) stays outside the bundle and resolves from
 * node_modules through NODE_PATH.
 */
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
  const outfile = join(logDir, 'bundle', 'main.cjs');
  const built = performance.now();
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    external: ['dynalite'],
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const buildMs = performance.now() - built;
  const bytes = result.metafile?.outputs[Object.keys(result.metafile.outputs)[0] ?? '']?.bytes ?? Number.NaN;
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
