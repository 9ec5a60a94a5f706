import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { EmbeddedStoreInUseError } from '../errors.js';
import { probeEmbeddedStore } from './embedded-probe.js';

export interface EmbeddedDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * STORE=embedded: a DynamoDB-compatible server (dynalite, LevelDB on disk in `dataDir`)
 * inside this process, on loopback only. One process at a time: replicas need STORE=dynamodb.
 * `dataDir: null` keeps everything in memory (tests, benchmarks).
 */
export async function startEmbeddedDynamo(dataDir: string | null): Promise<EmbeddedDynamo> {
  if (dataDir) {
    // dynalite opens LevelDB lazily and would fail on the first request; look first and say why.
    if ((await probeEmbeddedStore(dataDir)).state === 'in-use') {
      throw new EmbeddedStoreInUseError(
        `The embedded store in ${dataDir} is in use by another process (it serves one process only). Stop the other bot, use another DATA_DIR, or STORE=dynamodb for several replicas.`,
      );
    }
    await mkdir(dataDir, { recursive: true });
  }
  // Loaded here, not at start-up: a bot on STORE=dynamodb never needs it.
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dataDir ? { path: dataDir } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
