import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import { startOpenAIFake, type OpenAIFake } from '../support/fakes/openai.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** Failover: Gemini first, OpenAI next, within one T_sync_response (4 s here). */
describe('failover between providers', () => {
  let gemini: GeminiFake;
  let openai: OpenAIFake;
  let server: TestServer;
  let photo: Buffer;

  const putSlot = async (id: string, body: Record<string, unknown>) => {
    const current = await fetch(`${server.url}/api/slots/${id}`, { headers: authHeader(server) });
    const res = await fetch(`${server.url}/api/slots/${id}`, {
      method: 'PUT',
      headers: { ...authHeader(server), 'content-type': 'application/json', 'if-match': current.headers.get('etag')! },
      body: JSON.stringify({ name: id, enabled: true, max_upload_bytes: null, ...body }),
    });
    return { status: res.status, body: await jsonOf(res) };
  };
  const job = (id: string) =>
    server.database.db
      .selectFrom('job')
      .select(['provider', 'answered_by', 'provider_calls', 'failure_detail'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const failover = (onSafety = false) => ({
    on_safety: onSafety,
    steps: [{ provider: 'openai', operation: 'edit', settings: { prompt: 'Comic', quality: 'low' } }],
  });

  beforeAll(async () => {
    [gemini, openai] = await Promise.all([startGeminiFake(), startOpenAIFake()]);
    const port = await freePort();
    server = await startTestServer({
      env: {
        PHOTOCHANGER_PORT: String(port),
        PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl,
        PHOTOCHANGER_GEMINI_API_KEY: gemini.apiKey,
        PHOTOCHANGER_OPENAI_BASE_URL: openai.baseUrl,
        PHOTOCHANGER_OPENAI_API_KEY: openai.apiKey,
        PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '4',
      },
    });
    photo = await jpegBytes(320, 240);
    const saved = await putSlot('slot-004', {
      provider: 'gemini',
      operation: 'edit',
      settings: { prompt: 'Watercolour' },
      failover: failover(),
    });
    expect(saved.status).toBe(200);
    expect(saved.body.failover.steps[0]).toMatchObject({
      provider: 'openai',
      operation: 'edit',
      settings: { prompt: 'Comic', quality: 'low', model: 'gpt-image-2' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([gemini?.close(), openai?.close()]);
  });
  beforeEach(() => {
    gemini.requests.length = 0;
    openai.requests.length = 0;
    openai.setBehaviour({ kind: 'image' });
  });

  it('the primary answers 503: the booth gets 200 from the secondary within the deadline; the job says who answered', async () => {
    gemini.setBehaviour({ kind: 'error', status: 503 });
    const started = Date.now();
    const res = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(openai.requests.filter((r) => r.path === '/v1/images/edits')).toHaveLength(1);
    const row = await job(res.headers.get('x-job-id')!);
    expect(row).toMatchObject({ provider: 'gemini', answered_by: 'openai' });
    const providersCalled = (row.provider_calls as Array<{ provider: string; outcome: string }>).map((c) => c.provider);
    expect(providersCalled[0]).toBe('gemini');
    expect(providersCalled.at(-1)).toBe('openai');
  });

  it('a slow primary loses its share of the window: the secondary answers in time', async () => {
    gemini.setBehaviour({ kind: 'slow', delayMs: 60_000 });
    const started = Date.now();
    const res = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await job(res.headers.get('x-job-id')!)).toMatchObject({ answered_by: 'openai' });
  });

  it('all failing: the usual 502 in time', async () => {
    gemini.setBehaviour({ kind: 'error', status: 503 });
    openai.setBehaviour({ kind: 'error', status: 503 });
    const started = Date.now();
    const res = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(4500);
    expect((await jsonOf(res)).error.code).toBe('provider_error');
  });

  it('a safety refusal stands unless the slot says otherwise', async () => {
    gemini.setBehaviour({ kind: 'finish', finishReason: 'IMAGE_SAFETY' });
    const refused = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(refused.status).toBe(502);
    expect((await jsonOf(refused)).error.details.reason).toBe('safety_block');
    expect(openai.requests).toHaveLength(0);

    expect(
      (
        await putSlot('slot-004', {
          provider: 'gemini',
          operation: 'edit',
          settings: { prompt: 'Watercolour' },
          failover: failover(true),
        })
      ).status,
    ).toBe(200);
    const res = await postIngest(server.url, 'slot-004', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(200);
    expect(await job(res.headers.get('x-job-id')!)).toMatchObject({ answered_by: 'openai' });
  });

  it('statistics count answers per answering provider and the failovers', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const stats = await jsonOf(
      await fetch(`${server.url}/api/stats/global?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, {
        headers: authHeader(server),
      }),
    );
    expect(stats.failovers).toBe(3);
    expect(stats.providers.find((p: { provider: string }) => p.provider === 'openai')).toMatchObject({ succeeded: 3 });
  });

  it('failover steps are validated like the slot: 422 with their paths', async () => {
    const bad = await putSlot('slot-005', {
      provider: 'local',
      operation: 'neutral',
      settings: {},
      failover: {
        on_safety: false,
        steps: [
          { provider: 'nope', operation: 'x', settings: {} },
          {
            provider: 'gemini',
            operation: 'edit',
            settings: { model: 'gemini-3.1-flash-lite-image', prompt: 'x', image_size: '4K' },
          },
        ],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.errors.map((e: { path: string }) => e.path)).toEqual([
      '/failover/steps/0/provider',
      '/failover/steps/1/settings/image_size',
    ]);
  });
});
