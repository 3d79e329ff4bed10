import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/db.js';
import { jsonOf } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('finding 11: framework errors in the canonical shape; an ignored bootstrap admin is said', () => {
  let database: { url: string; drop(): Promise<void> };
  let server: TestServer;
  beforeAll(async () => {
    database = await createEmptyDatabase();
    await (await startTestServer({ databaseUrl: database.url })).close();
    // Second start on the same database: the administrator exists, the variable is still set.
    server = await startTestServer({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('414 for an over-long URL parameter, with the error shape of every other answer', async () => {
    for (const [method, path] of [
      ['POST', `/ingest/${'a'.repeat(300)}`],
      ['GET', `/api/slots/${'c'.repeat(300)}`],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { method });
      expect(res.status).toBe(414);
      expect(await jsonOf(res)).toEqual({
        error: { code: 'uri_too_long', message: 'A part of the URL is longer than allowed' },
      });
    }
  });

  it('PHOTOCHANGER_BOOTSTRAP_ADMIN set while administrators exist: a warning at start', () => {
    expect(
      server.logLines.some(
        (l) => l.includes('"level":"warn"') && l.includes('PHOTOCHANGER_BOOTSTRAP_ADMIN is ignored'),
      ),
    ).toBe(true);
  });
});
