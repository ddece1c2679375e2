import { defineConfig } from 'vitest/config';

// Integration tests each create their own throwaway databases, so files may run in parallel;
// the machine has two cores, so keep the pool small.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.{ts,tsx}'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 3,
    globalSetup: ['test/helpers/global-setup.ts'],
    // records what cesar prints and returns, for the secret scan at the end of the run (capture.ts)
    setupFiles: ['test/helpers/capture-setup.ts'],
  },
});
