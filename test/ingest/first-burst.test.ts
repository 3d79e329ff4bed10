import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordChecksComputed } from '../../src/auth/passwords.js';
import { jpegBytes, multipartBody, rawPost } from '../support/http.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/**
 * After a restart the server knows no password verdict yet. Booths behind one address (a venue's
 * NAT, a reverse proxy) that all send their first photos at once, with the right password, must all
 * get their photos: their checks share one argon2 verification and count as one attempt, so the
 * wrong-password throttle (5 free failures) is not tripped by them.
 */
describe('the first photos after a restart, all at once from one address', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Ten booths behind one router: the address's share of the queue is raised to the whole cap
    // (docs/configuration.md, PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS).
    server = await startTestServer({
      env: { PHOTOCHANGER_INGEST_FREE_FAILURES: '5', PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '12' },
    });
  });
  afterAll(() => server.close());

  it('are all answered, with one argon2 verification', async () => {
    const photo = await jpegBytes(320, 240);
    const before = passwordChecksComputed();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const { body, contentType } = multipartBody([
          { name: 'password', value: TEST_INGEST_PASSWORD },
          { name: 'fileToUpload', value: photo, filename: `shot-${i}.jpg`, contentType: 'image/jpeg' },
        ]);
        return rawPost(
          server.url,
          `/ingest/slot-00${(i % 3) + 1}`,
          body,
          { 'Content-Type': contentType },
          { localAddress: '127.0.0.7' },
        );
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(passwordChecksComputed() - before).toBe(1);
  });
});
