import { inject } from 'vitest';

/** The emulator this test worker owns (see test/global-setup.ts). */
export function workerAwsEndpoint(): string {
  const endpoints = inject('awsEndpoints');
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  const endpoint = endpoints[(worker - 1) % endpoints.length];
  if (endpoint === undefined) throw new Error(`no emulator for test worker ${worker}`);
  return endpoint;
}
