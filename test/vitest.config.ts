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
  },
});
