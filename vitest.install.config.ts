import { defineConfig } from 'vitest/config';

/**
 * `npm run test:install`: the README's two commands on a fresh clone, as root in a mode-0700 home
 * and as a regular user (created for the test), then `npm test` inside each clone. Slow (npm ci,
 * builds, two full suites): CI runs it once.
 */
export default defineConfig({
  test: {
    include: ['test/install/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
