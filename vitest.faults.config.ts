import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: outages, crashes, full disks and hostile input against real processes. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
