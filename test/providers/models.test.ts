import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShiftedClock } from '../support/clock.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import { startOpenAIFake, type OpenAIFake } from '../support/fakes/openai.js';
import { createEmptyDatabase } from '../support/db.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const LIVE_ONLY_GEMINI = 'gemini-3.9-flash-image-exp';

describe('AI models: lifecycle, live catalog, migration off retired models', () => {
  let gemini: GeminiFake;
  let openai: OpenAIFake;
  let database: { url: string; drop(): Promise<void> };
  let server: TestServer;
  const clock = new ShiftedClock();

  const env = () => ({
    PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl,
    PHOTOCHANGER_GEMINI_API_KEY: gemini.apiKey,
    PHOTOCHANGER_OPENAI_BASE_URL: openai.baseUrl,
    PHOTOCHANGER_OPENAI_API_KEY: openai.apiKey,
    PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '4',
  });
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...authHeader(server),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, etag: res.headers.get('etag'), body: await jsonOf(res) };
  };
  const putSlot = async (id: string, provider: string, settings: Record<string, unknown>) => {
    const current = await api('GET', `/api/slots/${id}`);
    return api(
      'PUT',
      `/api/slots/${id}`,
      { name: current.body.name, enabled: true, provider, operation: 'edit', settings, max_upload_bytes: null },
      { 'if-match': current.etag! },
    );
  };

  beforeAll(async () => {
    [gemini, openai] = await Promise.all([
      startGeminiFake({ extraModels: [LIVE_ONLY_GEMINI], clock }),
      startOpenAIFake({ clock }),
    ]);
    database = await createEmptyDatabase();
    // The whole test runs on 2026-10-24 (gpt-image-1 was shut down the day before; Nano Banana 2
    // is deprecated until its shutdown on 2026-10-29), whatever the
    // real date: both servers (accounts, tokens, model lifecycles) read this one clock.
    clock.setDay('2026-10-24');
    // An installation from before: slots saved on models that have since been shut down.
    const before = await startTestServer({ databaseUrl: database.url, env: env(), clock });
    const set = (id: string, provider: string, settings: Record<string, unknown>) =>
      before.database.db
        .updateTable('slot')
        .set({ provider, operation: 'edit', settings: JSON.stringify(settings) })
        .where('id', '=', id)
        .execute();
    await set('slot-002', 'gemini', { model: 'gemini-2.5-flash-image', prompt: 'Watercolour', aspect_ratio: '3:4' });
    await set('slot-003', 'gemini', { model: 'gemini-3-pro-image-preview', prompt: 'Oil painting', image_size: '4K' });
    await set('slot-004', 'openai', {
      model: 'gpt-image-1',
      prompt: 'Comic',
      input_fidelity: 'high',
      size: '1024x1536',
    });
    await set('slot-005', 'gemini', { model: 'gemini-3.1-flash-image', prompt: 'Pop art', image_size: '512' });
    await before.close();
    server = await startTestServer({ databaseUrl: database.url, env: env(), clock });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    await Promise.all([gemini?.close(), openai?.close()]);
  });

  it('moves slots off shut-down models at start: replacement, dropped settings, notice, audit entry and log line', async () => {
    const slot2 = (await api('GET', '/api/slots/slot-002')).body;
    expect(slot2.settings).toEqual({ model: 'gemini-nano-banana-2.1', prompt: 'Watercolour', aspect_ratio: '3:4' });
    expect(slot2.notice).toMatchObject({
      kind: 'model_migrated',
      from: 'gemini-2.5-flash-image',
      to: 'gemini-nano-banana-2.1',
      dropped: [],
    });
    expect(slot2.model).toMatchObject({ id: 'gemini-nano-banana-2.1', status: 'active', known: true });

    const slot3 = (await api('GET', '/api/slots/slot-003')).body;
    expect(slot3.settings).toEqual({ model: 'gemini-3-pro-image', prompt: 'Oil painting', image_size: '4K' });

    const slot4 = (await api('GET', '/api/slots/slot-004')).body;
    expect(slot4.settings).toEqual({ model: 'gpt-image-2.6-sunburst', prompt: 'Comic', size: '1024x1536' });
    expect(slot4.notice).toMatchObject({
      from: 'gpt-image-1',
      to: 'gpt-image-2.6-sunburst',
      dropped: ['input_fidelity'],
    });

    const audit = await server.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'slot.model_migrated')
      .orderBy('target')
      .execute();
    expect(audit.map((a) => [a.actor, a.target])).toEqual([
      ['system', 'slot-002'],
      ['system', 'slot-003'],
      ['system', 'slot-004'],
    ]);
    expect(audit[2]!.fields).toEqual(['settings.model', 'settings.input_fidelity']);
    expect(
      server.logLines.some(
        (l) =>
          l.includes('"slot_id":"slot-004"') &&
          l.includes('OpenAI shut down gpt-image-1 on 2026-10-23; the slot now uses gpt-image-2.6-sunburst'),
      ),
    ).toBe(true);

    // A deprecated model is left in place, with its warning and the one-click target.
    const slot5 = (await api('GET', '/api/slots/slot-005')).body;
    expect(slot5.settings.model).toBe('gemini-3.1-flash-image');
    expect(slot5.notice).toBeUndefined();
    expect(slot5.model).toEqual({
      id: 'gemini-3.1-flash-image',
      title: 'Nano Banana 2',
      status: 'deprecated',
      known: true,
      replacement: 'gemini-nano-banana-2.1',
      shutdown_date: '2026-10-29',
    });
  });

  it('one click moves a slot off a deprecated model to its replacement, dropping what the new model does not take', async () => {
    const before = (await api('GET', '/api/slots/slot-005')).body;
    const stale = await api('POST', '/api/slots/slot-005/switch-model', { updated_at: new Date(0).toISOString() });
    expect(stale.status).toBe(409);
    const res = await api('POST', '/api/slots/slot-005/switch-model', { updated_at: before.updated_at });
    expect(res.status).toBe(200);
    // Nano Banana 2.1 has no 512 size: the setting goes, the prompt stays.
    expect(res.body.settings).toEqual({ model: 'gemini-nano-banana-2.1', prompt: 'Pop art' });
    expect(res.body.model).toMatchObject({ id: 'gemini-nano-banana-2.1', status: 'active' });
    const audit = await server.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'slot.switch_model')
      .execute();
    expect(audit.map((a) => [a.target, a.fields])).toEqual([['slot-005', ['settings.model', 'settings.image_size']]]);
  });

  it('the notice stays until the slot is saved again', async () => {
    const saved = await putSlot('slot-002', 'gemini', {
      model: 'gemini-nano-banana-2.1',
      prompt: 'Watercolour',
      aspect_ratio: '3:4',
    });
    expect(saved.status).toBe(200);
    expect(saved.body.notice).toBeUndefined();
  });

  it('lists the live models of the key, merged with the table, and caches the list for an hour', async () => {
    gemini.requests.length = 0;
    const first = await api('GET', '/api/providers/gemini/models');
    expect(first.status).toBe(200);
    expect(first.body.source).toBe('live');
    expect(first.body.default_model).toBe('gemini-3.1-flash-lite-image');
    const byId = new Map<string, Record<string, unknown>>(first.body.models.map((m: { id: string }) => [m.id, m]));
    expect(byId.get('gemini-3.1-flash-lite-image')).toMatchObject({ status: 'active', known: true, live: true });
    expect(byId.get('gemini-2.5-flash-image')).toMatchObject({
      status: 'shut_down',
      known: true,
      live: false,
      shutdown_date: '2026-10-02',
    });
    expect(byId.get('gemini-3.1-flash-image')).toMatchObject({
      status: 'deprecated',
      replacement: 'gemini-nano-banana-2.1',
    });
    expect(byId.get(LIVE_ONLY_GEMINI)).toMatchObject({ status: 'active', known: false, live: true });
    // Text and embedding models of the listing are not offered for images.
    expect(byId.has('gemini-3.8-flash')).toBe(false);
    const listings = () => gemini.requests.filter((r) => r.method === 'GET' && r.path === '/v1beta/models').length;
    const calls = listings();
    expect(calls).toBeGreaterThan(0);

    await api('GET', '/api/providers/gemini/models');
    expect(listings()).toBe(calls);
    clock.offsetMs += 61 * 60 * 1000;
    await api('GET', '/api/providers/gemini/models');
    expect(listings()).toBeGreaterThan(calls);

    const openaiModels = (await api('GET', '/api/providers/openai/models')).body;
    const sunburst = openaiModels.models.find((m: { id: string }) => m.id === 'gpt-image-2.6-sunburst');
    expect(sunburst).toMatchObject({ status: 'active', known: true, live: true });
    expect(openaiModels.models.some((m: { id: string }) => m.id === 'gpt-5.5')).toBe(false);
    expect((await api('GET', '/api/providers/local/models')).status).toBe(404);
  });

  it('a slot may use a model only the live list offers; an id nobody serves, a shut-down model or a parameter the model lacks is a 422', async () => {
    const live = await putSlot('slot-006', 'gemini', { model: LIVE_ONLY_GEMINI, prompt: 'Sketch' });
    expect(live.status).toBe(200);
    expect(live.body.model).toMatchObject({ id: LIVE_ONLY_GEMINI, known: false });

    const invented = await putSlot('slot-006', 'gemini', { model: 'gemini-0.1-imaginary-image', prompt: 'Sketch' });
    expect(invented.status).toBe(422);
    expect(invented.body.error.details.errors).toEqual([
      { path: '/settings/model', message: 'Google does not offer gemini-0.1-imaginary-image to this API key' },
    ]);

    const retired = await putSlot('slot-006', 'gemini', { model: 'gemini-2.5-flash-image', prompt: 'Sketch' });
    expect(retired.status).toBe(422);
    expect(retired.body.error.details.errors[0].message).toBe(
      'gemini-2.5-flash-image was shut down by Google on 2026-10-02: choose gemini-nano-banana-2.1',
    );

    const size = await putSlot('slot-006', 'gemini', {
      model: 'gemini-3.1-flash-lite-image',
      prompt: 'Sketch',
      image_size: '4K',
      thinking_level: 'high',
    });
    expect(size.status).toBe(422);
    expect(size.body.error.details.errors).toEqual([
      { path: '/settings/image_size', message: 'gemini-3.1-flash-lite-image offers 1K' },
    ]);

    const transparent = await putSlot('slot-006', 'openai', {
      model: 'gpt-image-2',
      prompt: 'Sketch',
      background: 'transparent',
      output_format: 'png',
    });
    expect(transparent.status).toBe(422);
    expect(transparent.body.error.details.errors).toEqual([
      { path: '/settings/background', message: 'gpt-image-2 offers auto, opaque' },
    ]);

    // New slots on a provider get a current model by default.
    const defaulted = await putSlot('slot-006', 'openai', { prompt: 'Sketch' });
    expect(defaulted.status).toBe(200);
    expect(defaulted.body.settings.model).toBe('gpt-image-2');
  });

  it('a booth photo through a model only the live list offers is sent with the common parameters only', async () => {
    await putSlot('slot-007', 'gemini', { model: LIVE_ONLY_GEMINI, prompt: 'Sketch', aspect_ratio: '4:5' });
    gemini.requests.length = 0;
    const res = await postIngest(server.url, 'slot-007', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(320, 240),
    });
    expect(res.status).toBe(200);
    const req = gemini.requests.find((r) => r.method === 'POST')!;
    expect(req.path).toBe(`/v1beta/models/${LIVE_ONLY_GEMINI}:generateContent`);
    expect((req.json as { generationConfig: unknown }).generationConfig).toEqual({
      responseModalities: ['IMAGE'],
      imageConfig: { aspectRatio: '4:5' },
    });
  });

  it('a model Google withdraws anyway: the booth gets 502 model_unavailable at once, no retry, counted in the statistics', async () => {
    await putSlot('slot-008', 'gemini', { model: 'gemini-3.1-flash-image', prompt: 'Pop art' });
    gemini.withdrawn.add('gemini-3.1-flash-image');
    try {
      gemini.requests.length = 0;
      const started = Date.now();
      const res = await postIngest(server.url, 'slot-008', {
        password: TEST_INGEST_PASSWORD,
        file: await jpegBytes(320, 240),
      });
      expect(res.status).toBe(502);
      expect(Date.now() - started).toBeLessThan(3000);
      const body = await jsonOf(res);
      expect(body.error).toMatchObject({ code: 'provider_error', details: { reason: 'model_unavailable' } });
      // The operator reads which model and what to do in the job (the booth gets our generic words).
      const job = await api('GET', `/api/jobs/${body.error.details.job_id}`);
      expect(job.body.failure_detail).toEqual({
        reason: 'model_unavailable',
        message:
          'The model gemini-3.1-flash-image no longer exists at Google (or this key cannot use it); switch slot-008 to gemini-nano-banana-2.1',
      });
      expect(gemini.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      const stats = await api(
        'GET',
        `/api/stats/global?from=${encodeURIComponent(new Date(clock.now().getTime() - 3600_000).toISOString())}&to=${encodeURIComponent(new Date(clock.now().getTime() + 60_000).toISOString())}`,
      );
      expect(stats.status).toBe(200);
      expect(stats.body.provider_error_reasons.model_unavailable).toBe(1);
    } finally {
      gemini.withdrawn.delete('gemini-3.1-flash-image');
    }
  });

  it("a model the key's live list drops: the slot says so before the event, and its shots fail at once without a call", async () => {
    await putSlot('slot-009', 'gemini', { model: 'gemini-nano-banana-2.1', prompt: 'Poster' });
    expect((await api('GET', '/api/slots/slot-009')).body.model).not.toHaveProperty('available');
    gemini.withdrawn.add('gemini-nano-banana-2.1');
    try {
      // The list is read again (hourly, or at once after Settings → Check).
      expect((await api('POST', '/api/settings/provider-keys/gemini/check')).body.image_models).not.toContain(
        'gemini-nano-banana-2.1',
      );
      const catalog = await api('GET', '/api/providers/gemini/models');
      expect(catalog.body.models.find((m: { id: string }) => m.id === 'gemini-nano-banana-2.1')).toMatchObject({
        status: 'active',
        live: false,
      });
      const slot = (await api('GET', '/api/slots/slot-009')).body;
      expect(slot.model).toMatchObject({
        id: 'gemini-nano-banana-2.1',
        status: 'active',
        available: false,
        replacement: 'gemini-3.1-flash-lite-image',
      });
      gemini.requests.length = 0;
      const res = await postIngest(server.url, 'slot-009', {
        password: TEST_INGEST_PASSWORD,
        file: await jpegBytes(320, 240),
      });
      expect(res.status).toBe(502);
      const body = await jsonOf(res);
      expect(body.error.details.reason).toBe('model_unavailable');
      // No round trip: the provider never saw the shot.
      expect(gemini.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
      const job = await api('GET', `/api/jobs/${body.error.details.job_id}`);
      expect(job.body.failure_detail.message).toContain('switch slot-009 to');
    } finally {
      gemini.withdrawn.delete('gemini-nano-banana-2.1');
      await api('POST', '/api/settings/provider-keys/gemini/check');
    }
  });

  it('Settings "Check" of a key: the same listing call says valid with the image models, or invalid with the reason; Turbotext cannot be checked', async () => {
    const ok = await api('POST', '/api/settings/provider-keys/gemini/check');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ provider: 'gemini', status: 'valid' });
    expect(ok.body.image_models).toEqual(expect.arrayContaining(['gemini-3.1-flash-lite-image', LIVE_ONLY_GEMINI]));
    expect(ok.body.image_models).not.toContain('gemini-3.8-flash');
    expect(gemini.requests.some((r) => r.path.includes(':generateContent') && r.receivedAt > Date.now() - 50)).toBe(
      false,
    );

    const saved = await api('PUT', '/api/settings', { provider_keys: { openai: 'sk-wrong-key-0000000000000000' } });
    expect(saved.status).toBe(200);
    const bad = await api('POST', '/api/settings/provider-keys/openai/check');
    expect(bad.body.status).toBe('invalid');
    expect(bad.body.message).not.toContain('sk-wrong-key-0000000000000000');
    await api('PUT', '/api/settings', { provider_keys: { openai: null } });
    expect((await api('POST', '/api/settings/provider-keys/openai/check')).body.status).toBe('valid'); // the environment's key again
    expect((await api('POST', '/api/settings/provider-keys/turbotext/check')).body.status).toBe('unchecked');
  });

  it('without a key the catalog is the table, and says why', async () => {
    const bare = await startTestServer({ env: { PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl } });
    try {
      const res = await fetch(`${bare.url}/api/providers/gemini/models`, { headers: authHeader(bare) });
      const body = await jsonOf(res);
      expect(body.source).toBe('table');
      expect(body.live_error.reason).toBe('provider_not_configured');
      expect(
        body.models.some((m: { id: string; live?: boolean }) => m.id === 'gemini-3-pro-image' && m.live === undefined),
      ).toBe(true);
    } finally {
      await bare.close();
    }
  });
});
