import type { TestProject } from 'vitest/node';
import { startMoto } from '../testkit/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  provide('awsEndpoint', moto.endpoint);
  return async () => {
    await moto.stop();
  };
}
