/**
 * The bot as it ships: an esbuild bundle built as `npm run build` builds it (ESM, split, the work
 * thread an entry of its own beside main.js) and run by plain `node`, as the Docker image runs
 * it. Built once per run into its temp folder, with the benchmark's comparison bot
 * (bench/bot-variant.ts) as a third entry over the same chunks. dynalite (only for
 * STORE=embedded) stays outside the bundle, as in dist/, and resolves from the repository's
 * node_modules, linked into the bundle's folder (ESM imports do not read NODE_PATH).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from './procs.js';

export interface BotBundle {
  dir: string;
  /** All the bundle's files (entries and chunks). */
  bytes: number;
  build_ms: number;
}

export async function buildBotBundle(logDir: string): Promise<BotBundle> {
  const esbuild = await import('esbuild');
  const dir = join(logDir, 'bundle');
  const started = performance.now();
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src/main.ts'), join(ROOT, 'src/work-thread.ts'), join(ROOT, 'bench/bot-variant.ts')],
    // Flat, as in dist/: the bot finds work-thread.js beside its own chunk.
    entryNames: '[name]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['dynalite'],
    outdir: dir,
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  // As the image has dist/ beside node_modules/.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const bytes = Object.values(result.metafile?.outputs ?? {}).reduce((total, output) => total + output.bytes, 0) || Number.NaN;
  return { dir, bytes, build_ms: performance.now() - started };
}

/** The bundle's file for an entry script of the repository (src/main.ts → main.js). */
export function bundledEntry(bundle: BotBundle, script: string): string {
  return join(bundle.dir, basename(script).replace(/\.ts$/, '.js'));
}
