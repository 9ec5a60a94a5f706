/**
 * Whether the embedded store (dynalite's LevelDB in DATA_DIR) can be opened by this process.
 * It serves one process at a time, and dynalite opens it lazily and throws from a callback when
 * another process holds it, so the CLIs look before they start it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type EmbeddedProbe = { state: 'absent' } | { state: 'free' } | { state: 'in-use' } | { state: 'unknown'; why: string };

interface LevelDb {
  open(options?: { createIfMissing?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function probeEmbeddedStore(dataDir: string): Promise<EmbeddedProbe> {
  if (!existsSync(join(dataDir, 'CURRENT'))) return { state: 'absent' };
  // dynalite's own LevelDB binding, named at run time: the project does not depend on it directly.
  const name = 'level';
  let Level: new (path: string) => LevelDb;
  try {
    ({ Level } = (await import(name)) as { Level: new (path: string) => LevelDb });
  } catch (err) {
    return { state: 'unknown', why: `the LevelDB binding did not load (${err instanceof Error ? err.message : String(err)})` };
  }
  const db = new Level(dataDir);
  try {
    await db.open({ createIfMissing: false });
    await db.close();
    return { state: 'free' };
  } catch (err) {
    const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    if (code === 'LEVEL_LOCKED') return { state: 'in-use' };
    return { state: 'unknown', why: `${code ?? 'error'}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
