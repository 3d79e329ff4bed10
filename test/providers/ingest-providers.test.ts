import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { RESULT_JPEG, RESULT_PNG } from '../support/fakes/common.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import { startOpenAIFake, type OpenAIFake } from '../support/fakes/openai.js';
import { eventually } from '../support/fakes/request.js';
import { startTurbotextFake, type TurbotextFake } from '../support/fakes/turbotext.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/**
 * Whole booth ingests through the real server and the real drivers, over real HTTP to fake
 * provider servers on 127.0.0.1 (the same fakes as the driver tests).
 */
describe('booth ingests through the AI providers', () => {
  let gemini: GeminiFake;
  let openai: OpenAIFake;
  let turbotext: TurbotextFake;
  let server: TestServer;
  let photo: Buffer;

  beforeAll(async () => {
    [gemini, openai, turbotext] = await Promise.all([startGeminiFake(), startOpenAIFake(), startTurbotextFake()]);
    const port = await freePort();
    server = await startTestServer({
      env: {
        PHOTOCHANGER_PORT: String(port),
        PHOTOCHANGER_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl,
        PHOTOCHANGER_GEMINI_API_KEY: gemini.apiKey,
        PHOTOCHANGER_GEMINI_MAX_CONCURRENCY: '2',
        // Every request comes from 127.0.0.1: its share of the queue is the whole cap here.
        PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '12',
        PHOTOCHANGER_OPENAI_BASE_URL: openai.baseUrl,
        // No OpenAI key in the environment: the admin settings provide it (or nothing does).
        PHOTOCHANGER_TURBOTEXT_BASE_URL: turbotext.baseUrl,
        PHOTOCHANGER_TURBOTEXT_API_KEY: turbotext.apiKey,
        PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '4',
      },
    });
    photo = await jpegBytes(320, 240);
    const set = (id: string, provider: string, operation: string, settings: Record<string, unknown>) =>
      server.database.db
        .updateTable('slot')
        .set({ provider, operation, settings: JSON.stringify(settings) })
        .where('id', '=', id)
        .execute();
    await set('slot-006', 'gemini', 'edit', {
      model: 'gemini-3.1-flash-lite-image',
      prompt: 'Turn the guest into a watercolour painting',
    });
    await set('slot-007', 'openai', 'edit', { prompt: 'Make it a comic book cover' });
    await set('slot-008', 'turbotext', 'generate_image2image', {
      prompt: 'A portrait in the style of Repin',
      strength: 40,
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([gemini?.close(), openai?.close(), turbotext?.close()]);
  });
  beforeEach(() => {
    gemini.requests.length = 0;
    openai.requests.length = 0;
    gemini.setBehaviour({ kind: 'image' });
    openai.setBehaviour({ kind: 'image' });
    turbotext.setBehaviour({ kind: 'result', reconnects: 1 });
  });

  const job = (id: string) =>
    server.database.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const ingest = (slot: string) => postIngest(server.url, slot, { password: TEST_INGEST_PASSWORD, file: photo });

  it('Gemini: 200 with the provider image; the wire request carries the photo and prompt; the call is recorded', async () => {
    const res = await ingest('slot-006');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(RESULT_PNG)).toBe(true);
    expect(gemini.requests).toHaveLength(1);
    const req = gemini.requests[0]!;
    expect(req.path).toBe('/v1beta/models/gemini-3.1-flash-lite-image:generateContent');
    expect(req.headers['x-goog-api-key']).toBe(gemini.apiKey);
    const body = JSON.stringify(req.json);
    expect(body).toContain('Turn the guest into a watercolour painting');
    expect(body).toContain(photo.toString('base64').slice(0, 64));

    const row = await job(res.headers.get('x-job-id')!);
    expect(row.provider_calls).toEqual([
      expect.objectContaining({
        provider: 'gemini',
        model: 'gemini-3.1-flash-lite-image',
        attempt: 1,
        outcome: 'success',
        responseId: expect.any(String),
      }),
    ]);
    const logged = server.logLines.filter((l) => l.includes(row.id) && l.includes('"providerCall"'));
    expect(logged.length).toBeGreaterThan(0);
    // No base64 payload in any log line.
    expect(server.logLines.some((l) => /[A-Za-z0-9+/]{200,}/.test(l))).toBe(false);
  });

  it('OpenAI: 502 provider_not_configured without a key, then 200 once an administrator saves one', async () => {
    const missing = await ingest('slot-007');
    expect(missing.status).toBe(502);
    expect((await jsonOf(missing)).error).toMatchObject({
      code: 'provider_error',
      details: { reason: 'provider_not_configured' },
    });
    expect(openai.requests).toHaveLength(0);

    const saved = await fetch(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { ...authHeader(server), 'content-type': 'application/json' },
      body: JSON.stringify({ provider_keys: { openai: openai.apiKey } }),
    });
    expect(saved.status).toBe(200);
    const res = await ingest('slot-007');
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(RESULT_PNG) || bytes.equals(RESULT_JPEG)).toBe(true);
    const req = openai.requests[0]!;
    expect(req.path).toBe('/v1/images/edits');
    expect(req.headers.authorization).toBe(`Bearer ${openai.apiKey}`);
    const parts = req.parts!;
    expect(parts.find((p) => p.name === 'prompt')?.value).toBe('Make it a comic book cover');
    expect(parts.find((p) => p.name.startsWith('image'))?.data?.length).toBeGreaterThan(0);
  });

  it('Turbotext: the provider downloads the photo from the temporary public link; the link is gone after the answer', async () => {
    const res = await ingest('slot-008');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(RESULT_JPEG)).toBe(true);
    const tj = turbotext.jobs.at(-1)!;
    expect(tj.method).toBe('generate_image2image');
    expect(tj.fields.content).toBe('A portrait in the style of Repin');
    expect(tj.downloads).toEqual([expect.objectContaining({ field: 'url', status: 200 })]);
    const link = tj.downloads[0]!.url;
    expect(
      link.startsWith(`${server.url.replace('localhost', '127.0.0.1')}/public/media/`) ||
        link.includes('/public/media/'),
    ).toBe(true);
    // Revoked with the job's other temporary files once the booth has its answer.
    expect((await fetch(link)).status).toBe(404);
    expect(await listFiles(path.join(server.mediaRoot, 'temporary'))).toEqual([]);
  });

  it('a safety refusal is a 502 with a readable reason, not retried', async () => {
    gemini.setBehaviour({
      kind: 'finish',
      finishReason: 'IMAGE_SAFETY',
      finishMessage: 'The image was blocked for safety reasons',
    });
    const res = await ingest('slot-006');
    expect(res.status).toBe(502);
    const err = (await jsonOf(res)).error;
    expect(err.code).toBe('provider_error');
    expect(err.details.reason).toMatch(/safety/);
    expect(err.message.length).toBeGreaterThan(10);
    expect(gemini.requests).toHaveLength(1);
  });

  it('the deadline aborts the in-flight provider request (the fake sees the connection closed) and answers 504; no result is kept', async () => {
    gemini.setBehaviour({ kind: 'slow', delayMs: 15_000 });
    const started = Date.now();
    const res = await ingest('slot-006');
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(6000);
    const body = await jsonOf(res);
    expect(body.error.details.job_id).toBe(res.headers.get('x-job-id'));
    await eventually(() => gemini.requests.at(-1)?.aborted === true, 3000);
    const row = await job(body.error.details.job_id);
    expect(row).toMatchObject({ is_finalized: true, failure_reason: 'timeout', result_path: null });
    expect(await listFiles(path.join(server.mediaRoot, 'results'))).not.toContain(expect.stringContaining(row.id));
  });

  it('a saturated provider keeps to its concurrency limit and leaves workers to the local provider', async () => {
    gemini.setBehaviour({ kind: 'slow', delayMs: 15_000 });
    const slow = Array.from({ length: 4 }, () => ingest('slot-006'));
    await eventually(() => gemini.requests.length >= 2, 3000);
    const local = await ingest('slot-001');
    expect(local.status).toBe(200);
    // PHOTOCHANGER_GEMINI_MAX_CONCURRENCY=2: never more than two calls at once.
    expect(gemini.requests.length).toBe(2);
    for (const r of await Promise.all(slow)) expect(r.status).toBe(504);
  });

  it('429 queue_busy when twelve slow jobs are in flight', async () => {
    gemini.setBehaviour({ kind: 'slow', delayMs: 15_000 });
    const slow = Array.from({ length: 12 }, () => ingest('slot-006'));
    await eventually(() => gemini.requests.length >= 2, 3000);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await ingest('slot-001');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await jsonOf(refused)).error.code).toBe('queue_busy');
    const statuses = (await Promise.all(slow)).map((r) => r.status);
    expect(statuses.every((s) => s === 504)).toBe(true);
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
  });
});
