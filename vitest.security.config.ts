import { defineConfig } from 'vitest/config';

/**
 * `npm run test:security`: hostile clients against a real server, each a finding of
 * docs/security.md. Bounded in count and time; traffic only to 127.0.0.0/8 (source addresses such
 * as 127.0.0.2 stand for different clients).
 */
export default defineConfig({
  test: {
    include: ['test/security/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
