import { defineConfig } from 'vitest/config';

/** `npm run test:e2e`: the admin UI in Debian's Chromium (playwright-core) against the real server. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
