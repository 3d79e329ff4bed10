import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/providers/http.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('finding 10: upstream text never reaches the booth, and keys never reach records or logs', () => {
  let gemini: GeminiFake;
  let server: TestServer;
  beforeAll(async () => {
    gemini = await startGeminiFake({ apiKey: 'AIzaSyD-THE-REAL-KEY-0123456789abcdefXYZ' });
    server = await startTestServer({
      env: { PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl, PHOTOCHANGER_GEMINI_API_KEY: gemini.apiKey },
    });
    await server.database.db
      .updateTable('slot')
      .set({ provider: 'gemini', operation: 'edit', settings: JSON.stringify({ prompt: 'paint' }) })
      .where('id', '=', 'slot-004')
      .execute();
  });
  afterAll(async () => {
    await server?.close();
    await gemini?.close();
  });

  it('an upstream echoing the key (whole, truncated, base64, hex) in its error: the booth reads our words; the job record and logs keep a scrubbed excerpt', async () => {
    const key = gemini.apiKey;
    const echo = `API key ${key.slice(0, 24)}… not valid; as base64 ${Buffer.from(key).toString('base64')}; hex ${Buffer.from(key).toString('hex').slice(0, 40)}; again ${key}`;
    gemini.setBehaviour({ kind: 'error', status: 400, message: echo });
    const res = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: await jpegBytes() });
    expect(res.status).toBe(502);
    const text = JSON.stringify(await jsonOf(res));
    expect(text).not.toContain('not valid');
    expect(text).not.toContain(key.slice(0, 12));
    const body = JSON.parse(text);
    expect(body.error.details).toEqual({ job_id: expect.any(String), reason: 'auth_failed' });

    const job = (await (
      await fetch(`${server.url}/api/jobs/${body.error.details.job_id}`, { headers: authHeader(server) })
    ).json()) as { failure_detail: { message: string } };
    const record = JSON.stringify(job);
    for (const leak of [
      key.slice(0, 12),
      Buffer.from(key).toString('base64').slice(0, 16),
      Buffer.from(key).toString('hex').slice(0, 20),
    ]) {
      expect(record).not.toContain(leak);
      expect(server.logLines.join('\n')).not.toContain(leak);
    }
    expect(job.failure_detail.message).toContain('[redacted]');
  });

  it('a key echoed as upper-case hex, or as base64 of a part that starts anywhere, is scrubbed', () => {
    const key = 'k3y-Quartz-Lantern-9876-Meadow';
    const bytes = Buffer.from(key);
    for (const echoed of [
      bytes.toString('hex').toUpperCase().slice(4, 40),
      bytes.subarray(1, 25).toString('base64'),
      bytes.subarray(2, 26).toString('base64'),
      bytes.subarray(4, 28).toString('base64url'),
    ]) {
      const masked = maskSecrets(`upstream said: ${echoed} (end)`, [key]);
      expect(masked, echoed).toBe('upstream said: [redacted] (end)');
    }
  });

  it('key-shaped strings of any provider are scrubbed', () => {
    expect(maskSecrets('use sk-proj-ABCDEFGH12345678 or AIzaSyQWERTYUIOP1234567 with Bearer abc.def')).toBe(
      'use [redacted] or [redacted] with [redacted]',
    );
  });
});
