import { defineConfig } from 'vitest/config';

// Each worker gets a moto_server of its own (test/global-setup.ts), so files run two at a time.
// An external emulator (TEST_AWS_ENDPOINT_URL) is shared, so then they run one at a time.
const sharedEmulator = Boolean(process.env.TEST_AWS_ENDPOINT_URL);
const workers = sharedEmulator ? 1 : Number(process.env.TEST_WORKERS ?? 2);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-env.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    fileParallelism: workers > 1,
    maxWorkers: workers,
  },
});
