import type { TestProject } from 'vitest/node';
import { startMoto } from '../testkit/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One emulator per test worker: worker N (VITEST_POOL_ID) uses awsEndpoints[N - 1]. */
    awsEndpoints: string[];
  }
}

/**
 * Test files run two at a time, and each integration file resets its emulator between tests, so
 * every worker gets a moto_server of its own. With TEST_AWS_ENDPOINT_URL set, the one external
 * endpoint is shared and the config runs files one at a time.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workers = Math.max(1, project.config.maxWorkers ?? 1);
  const motos = await Promise.all(Array.from({ length: workers }, () => startMoto()));
  project.provide(
    'awsEndpoints',
    motos.map((moto) => moto.endpoint),
  );
  return async () => {
    await Promise.all(motos.map((moto) => moto.stop()));
  };
}
