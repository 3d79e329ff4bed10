import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';

describe('worker pool shutdown', () => {
  it('stop() resolves even when a worker finds no job just after the stop began (no lost wake-up)', async () => {
    const server = await startTestServer();
    try {
      const pool = server.workers as unknown as { claimSerially: () => Promise<undefined> };
      // Every worker's next claim waits until the test lets it finish — after stop() has begun.
      let finishClaims!: () => void;
      const claimsDone = new Promise<void>((r) => (finishClaims = r));
      pool.claimSerially = async () => {
        await claimsDone;
        return undefined;
      };
      // Wake the workers so that each enters the patched claim.
      (server.workers as unknown as { wake(): void }).wake();
      await new Promise((r) => setTimeout(r, 50));
      const stopped = server.workers.stop();
      finishClaims();
      const outcome = await Promise.race([
        stopped.then(() => 'stopped'),
        new Promise((r) => setTimeout(() => r('hung'), 3000)),
      ]);
      expect(outcome).toBe('stopped');
    } finally {
      await server.close();
    }
  });
});
