import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite (npm run test:faults), the browser tests (npm run test:e2e) and the fresh-clone installs (npm run test:install) run on their own.
    exclude: ['test/faults/**', 'test/e2e/**', 'test/install/**', 'test/security/**', 'node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
