import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { makeFrameTemplate } from '../support/images.js';
import { authHeader, listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const SECRET_KEY = 'sk-test-THIS-KEY-MUST-NEVER-APPEAR-9f3a';

describe('admin API: slots, templates, settings, test runs, purge', () => {
  let server: TestServer;
  let auth: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer({ env: { PHOTOCHANGER_PUBLIC_BASE_URL: 'https://booth.example.org' } });
    auth = authHeader(server);
  });
  afterAll(() => server.close());

  const api = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${url}`, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('lists the 15 slots with absolute ingest URLs, readiness and activity', async () => {
    const res = await api('GET', '/api/slots');
    expect(res.status).toBe(200);
    const { slots } = await jsonOf(res);
    expect(slots).toHaveLength(15);
    expect(slots[0]).toMatchObject({
      id: 'slot-001',
      provider: 'local',
      operation: 'neutral',
      enabled: true,
      ingest_url: 'https://booth.example.org/ingest/slot-001',
      provider_configured: true,
      today: { succeeded: 0, failed: 0 },
    });
    const gemini = await jsonOf(await api('GET', '/api/providers'));
    const g = gemini.providers.find((p: { id: string }) => p.id === 'gemini');
    expect(g).toMatchObject({ configured: false, reason: 'provider_not_configured' });
    expect(g.operations[0].settings_schema.properties.prompt).toBeDefined();
  });

  it('PUT with If-Match saves, a stale ETag or updated_at gets 409 with the current slot, no precondition gets 400', async () => {
    const first = await api('GET', '/api/slots/slot-002');
    const etag = first.headers.get('etag')!;
    const slot = await jsonOf(first);
    const change = {
      name: 'Sepia corner',
      enabled: true,
      provider: 'local',
      operation: 'style',
      settings: { style: 'sepia', strength: 80 },
      max_upload_bytes: 5_000_000,
    };
    const saved = await api('PUT', '/api/slots/slot-002', change, { 'if-match': etag });
    expect(saved.status).toBe(200);
    const body = await jsonOf(saved);
    expect(body).toMatchObject({
      name: 'Sepia corner',
      operation: 'style',
      settings: { style: 'sepia', strength: 80 },
      max_upload_bytes: 5_000_000,
    });
    expect(saved.headers.get('etag')).not.toBe(etag);

    const stale = await api('PUT', '/api/slots/slot-002', { ...change, name: 'Lost update' }, { 'if-match': etag });
    expect(stale.status).toBe(409);
    const conflict = await jsonOf(stale);
    expect(conflict.error.code).toBe('conflict');
    expect(conflict.error.details.current.name).toBe('Sepia corner');
    const staleBody = await api('PUT', '/api/slots/slot-002', { ...change, updated_at: slot.updated_at });
    expect(staleBody.status).toBe(409);
    const fresh = await api('PUT', '/api/slots/slot-002', { ...change, name: 'Sepia 2', updated_at: body.updated_at });
    expect(fresh.status).toBe(200);
    expect((await api('PUT', '/api/slots/slot-002', change)).status).toBe(400);
    const audit = await server.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'slot.update')
      .execute();
    expect(audit.length).toBe(2);
    expect(audit[0]).toMatchObject({ actor: 'admin', target: 'slot-002' });
    expect(audit[0]!.fields).toEqual(expect.arrayContaining(['name', 'operation', 'settings', 'max_upload_bytes']));
  });

  it('422 invalid_settings with the failing field path, for every operation of every provider', async () => {
    const { providers } = await jsonOf(await api('GET', '/api/providers'));
    let checked = 0;
    for (const p of providers) {
      for (const op of p.operations) {
        const props = Object.entries(op.settings_schema.properties ?? {}) as Array<[string, { type?: string }]>;
        const [name, schema] =
          props.find(([, s]) => s.type === 'string' || s.type === 'integer' || s.type === 'number') ?? props[0]!;
        const wrong = schema.type === 'string' ? 12345 : 'not-a-number';
        const current = await jsonOf(await api('GET', '/api/slots/slot-003'));
        const res = await api('PUT', '/api/slots/slot-003', {
          name: 'x',
          enabled: true,
          provider: p.id,
          operation: op.id,
          settings: { [name]: wrong },
          max_upload_bytes: null,
          updated_at: current.updated_at,
        });
        expect(res.status, `${p.id}/${op.id}`).toBe(422);
        const err = (await jsonOf(res)).error;
        expect(err.code).toBe('invalid_settings');
        expect(err.details.errors.map((e: { path: string }) => e.path)).toContain(`/settings/${name}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
    const current = await jsonOf(await api('GET', '/api/slots/slot-003'));
    const unknown = await api('PUT', '/api/slots/slot-003', {
      name: 'x',
      enabled: true,
      provider: 'nope',
      operation: 'x',
      settings: {},
      max_upload_bytes: null,
      updated_at: current.updated_at,
    });
    expect((await jsonOf(unknown)).error.details.errors[0].path).toBe('/provider');
  });

  it('a Turbotext slot without a public address is refused at save time, and saves once one is set in Settings', async () => {
    const other = await startTestServer();
    try {
      const h = authHeader(other);
      const current = await jsonOf(await fetch(`${other.url}/api/slots/slot-004`, { headers: h }));
      const res = await fetch(`${other.url}/api/slots/slot-004`, {
        method: 'PUT',
        headers: { ...h, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 't',
          enabled: true,
          provider: 'turbotext',
          operation: 'generate_image2image',
          settings: { prompt: 'a cat' },
          max_upload_bytes: null,
          updated_at: current.updated_at,
        }),
      });
      expect(res.status).toBe(422);
      expect(JSON.stringify(await jsonOf(res))).toContain('Settings → Public address');
      // The public address saved in Settings is enough (no restart, no environment variable).
      const saved = await fetch(`${other.url}/api/settings`, {
        method: 'PUT',
        headers: { ...h, 'content-type': 'application/json' },
        body: JSON.stringify({ public_base_url: 'https://booth.example.com' }),
      });
      expect(saved.status).toBe(200);
      const again = await fetch(`${other.url}/api/slots/slot-004`, {
        method: 'PUT',
        headers: { ...h, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 't',
          enabled: true,
          provider: 'turbotext',
          operation: 'generate_image2image',
          settings: { prompt: 'a cat' },
          max_upload_bytes: null,
          updated_at: current.updated_at,
        }),
      });
      expect(again.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('stores a template by its bytes, serves it and a preview, and deletes its file on unbind', async () => {
    const current = await jsonOf(await api('GET', '/api/slots/slot-005'));
    await api('PUT', '/api/slots/slot-005', {
      name: 'Frame',
      enabled: true,
      provider: 'local',
      operation: 'frame',
      settings: {},
      max_upload_bytes: null,
      updated_at: current.updated_at,
    });
    const frame = await makeFrameTemplate({ width: 400, height: 300, holeInsetPercent: 10, color: '#c00000' });
    const form = new FormData();
    form.append('key', 'frame');
    form.append('file', new Blob([new Uint8Array(frame)], { type: 'application/octet-stream' }), 'frame.bin');
    const res = await fetch(`${server.url}/api/slots/slot-005/templates`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(res.status).toBe(201);
    const t = await jsonOf(res);
    expect(t).toMatchObject({ key: 'frame', mime: 'image/png', width: 400, height: 300 });
    const served = await fetch(`${server.url}${t.url}`, { headers: auth });
    expect(Buffer.from(await served.arrayBuffer()).equals(frame)).toBe(true);
    const preview = await fetch(`${server.url}${t.preview_url}`, { headers: auth });
    const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(320);

    // A wrong key and a non-image are refused; nothing is left behind.
    const bad = new FormData();
    bad.append('key', 'style');
    bad.append('file', new Blob([new Uint8Array(frame)]), 'frame.png');
    expect(
      (await fetch(`${server.url}/api/slots/slot-005/templates`, { method: 'POST', headers: auth, body: bad })).status,
    ).toBe(422);
    const text = new FormData();
    text.append('key', 'frame');
    text.append('file', new Blob(['not an image at all']), 'x.png');
    expect(
      (await fetch(`${server.url}/api/slots/slot-005/templates`, { method: 'POST', headers: auth, body: text })).status,
    ).toBe(415);
    const files = await listFiles(path.join(server.mediaRoot, 'templates'));
    expect(files.filter((f) => !f.endsWith('/'))).toHaveLength(1);

    // The slot now shows it, and an ingest uses it.
    const slot = await jsonOf(await api('GET', '/api/slots/slot-005'));
    expect(slot.templates.map((x: { id: string }) => x.id)).toEqual([t.id]);
    const ingest = await postIngest(server.url, 'slot-005', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(200, 150),
    });
    expect(ingest.status).toBe(200);
    const out = await sharp(Buffer.from(await ingest.arrayBuffer())).metadata();
    expect([out.width, out.height]).toEqual([400, 300]);

    const del = await api('DELETE', `/api/slots/slot-005/templates/${t.id}`);
    expect(del.status).toBe(204);
    expect((await listFiles(path.join(server.mediaRoot, 'templates'))).filter((f) => !f.endsWith('/'))).toHaveLength(0);
    expect((await api('DELETE', `/api/slots/slot-005/templates/${t.id}`)).status).toBe(404);
  });

  it("a template can be uploaded for the editor's unsaved operation; the saved slot does not change until Save", async () => {
    // slot-006 is saved on local/neutral (no templates); the editor switched it to local/frame, unsaved.
    const before = await jsonOf(await api('GET', '/api/slots/slot-006'));
    expect(before.operation).toBe('neutral');
    const frame = await makeFrameTemplate({ width: 300, height: 200, holeInsetPercent: 10, color: '#0000c0' });
    const form = new FormData();
    form.append('key', 'frame');
    form.append('provider', 'local');
    form.append('operation', 'frame');
    form.append('file', new Blob([new Uint8Array(frame)]), 'frame.png');
    const res = await fetch(`${server.url}/api/slots/slot-006/templates`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(res.status).toBe(201);
    const after = await jsonOf(await api('GET', '/api/slots/slot-006'));
    expect(after).toMatchObject({ operation: 'neutral', updated_at: before.updated_at });
    expect(after.templates.map((x: { key: string }) => x.key)).toEqual(['frame']);
    // The booth still gets the saved operation (no frame): 200 with the photo's own size.
    const ingest = await postIngest(server.url, 'slot-006', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(120, 90),
    });
    expect((await sharp(Buffer.from(await ingest.arrayBuffer())).metadata()).width).toBe(120);
    // A key the named operation does not take is refused, naming that operation.
    const wrong = new FormData();
    wrong.append('key', 'frame');
    wrong.append('provider', 'local');
    wrong.append('operation', 'style');
    wrong.append('file', new Blob([new Uint8Array(frame)]), 'frame.png');
    const refused = await fetch(`${server.url}/api/slots/slot-006/templates`, {
      method: 'POST',
      headers: auth,
      body: wrong,
    });
    expect(refused.status).toBe(422);
    expect((await jsonOf(refused)).error.message).toContain('local/style');
  });

  it('settings: provider keys are write-only, sealed in the database, absent from responses and logs', async () => {
    const res = await api('PUT', '/api/settings', { provider_keys: { gemini: SECRET_KEY } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(SECRET_KEY);
    expect(JSON.parse(text).provider_keys.gemini).toMatchObject({ configured: true, source: 'settings' });
    const row = await server.database.db
      .selectFrom('setting')
      .select('value')
      .where('key', '=', 'provider_key.gemini')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row.value)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(row.value)).not.toContain(Buffer.from(SECRET_KEY).toString('base64').slice(0, 16));
    expect(await server.providerKeys.get('gemini')).toBe(SECRET_KEY);
    const providers = await jsonOf(await api('GET', '/api/providers'));
    expect(providers.providers.find((p: { id: string }) => p.id === 'gemini').configured).toBe(true);

    for (const url of ['/api/settings', '/api/slots', '/api/providers', '/docs/json']) {
      expect(await (await api('GET', url)).text()).not.toContain(SECRET_KEY);
    }
    const cleared = await jsonOf(await api('PUT', '/api/settings', { provider_keys: { gemini: null } }));
    expect(cleared.provider_keys.gemini).toMatchObject({ configured: false, source: null });
    expect(server.logLines.join('\n')).not.toContain(SECRET_KEY);
    const audit = await server.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'settings.update')
      .execute();
    expect(audit.flatMap((a) => a.fields)).toContain('provider_keys.gemini');
    expect(JSON.stringify(audit)).not.toContain(SECRET_KEY);
  });

  it('settings: T_sync is bounded to 45–60, retention is validated', async () => {
    expect((await api('PUT', '/api/settings', { t_sync_response_seconds: 30 })).status).toBe(400);
    expect((await api('PUT', '/api/settings', { t_sync_response_seconds: 61 })).status).toBe(400);
    const ok = await jsonOf(
      await api('PUT', '/api/settings', { t_sync_response_seconds: 50, result_ttl_seconds: 86_400 }),
    );
    expect(ok).toMatchObject({ t_sync_response_seconds: 50, result_ttl_seconds: 86_400 });
    await api('PUT', '/api/settings', { t_sync_response_seconds: 45 });
  });

  it('rotating the ingest password: the new one works at once, the old one is refused; it is never shown', async () => {
    const before = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(),
    });
    expect(before.status).toBe(200);
    const res = await api('PUT', '/api/settings', { ingest_password: 'rotated-booth-pass' });
    const body = await jsonOf(res);
    expect(body.ingest_password).toMatchObject({ is_set: true, updated_by: 'admin' });
    expect(JSON.stringify(body)).not.toContain('rotated-booth-pass');
    const old = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes() });
    expect(old.status).toBe(401);
    const fresh = await postIngest(server.url, 'slot-001', { password: 'rotated-booth-pass', file: await jpegBytes() });
    expect(fresh.status).toBe(200);
    expect(server.logLines.join('\n')).not.toContain('rotated-booth-pass');
    await api('PUT', '/api/settings', { ingest_password: TEST_INGEST_PASSWORD });
  });

  it('a test run goes through the queue and the local provider and returns a real result', async () => {
    const photo = await jpegBytes(640, 480);
    const form = new FormData();
    form.append('fileToUpload', new Blob([new Uint8Array(photo)]), 'test.jpg');
    const res = await fetch(`${server.url}/api/slots/slot-002/test-run`, { method: 'POST', headers: auth, body: form });
    expect(res.status).toBe(200);
    const run = await jsonOf(res);
    expect(run.outcome).toBe('succeeded');
    expect(run.timings.total_ms).toBeGreaterThanOrEqual(0);
    const result = await fetch(`${server.url}${run.result_url}`);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await result.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
    const job = await server.database.db
      .selectFrom('job')
      .select(['is_test', 'slot_id', 'operation'])
      .where('id', '=', run.job_id)
      .executeTakeFirstOrThrow();
    expect(job).toEqual({ is_test: true, slot_id: 'slot-002', operation: 'style' });
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
  });

  it("a test run of the editor's unsaved settings uses them without changing the slot; invalid ones are a 422", async () => {
    const before = await server.database.db
      .selectFrom('slot')
      .select(['provider', 'operation', 'settings', 'updated_at'])
      .where('id', '=', 'slot-002')
      .executeTakeFirstOrThrow();
    const photo = await jpegBytes(640, 480);
    const form = new FormData();
    form.append(
      'draft',
      JSON.stringify({ provider: 'local', operation: 'neutral', settings: { output: { max_side: 320 } } }),
    );
    form.append('fileToUpload', new Blob([new Uint8Array(photo)]), 'test.jpg');
    const res = await fetch(`${server.url}/api/slots/slot-002/test-run`, { method: 'POST', headers: auth, body: form });
    expect(res.status).toBe(200);
    const run = await jsonOf(res);
    expect(run.outcome).toBe('succeeded');
    const meta = await sharp(
      Buffer.from(await (await fetch(`${server.url}${run.result_url}`)).arrayBuffer()),
    ).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBe(320); // the draft's output setting, not the slot's
    const job = await server.database.db
      .selectFrom('job')
      .select(['is_test', 'operation', 'metadata'])
      .where('id', '=', run.job_id)
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({ is_test: true, operation: 'neutral', metadata: { unsaved_settings: true } });
    const after = await server.database.db
      .selectFrom('slot')
      .select(['provider', 'operation', 'settings', 'updated_at'])
      .where('id', '=', 'slot-002')
      .executeTakeFirstOrThrow();
    expect(after).toEqual(before); // the booth keeps the saved settings

    const bad = new FormData();
    bad.append('draft', JSON.stringify({ provider: 'local', operation: 'style', settings: { strength: 500 } }));
    bad.append('fileToUpload', new Blob([new Uint8Array(photo)]), 'test.jpg');
    const refused = await fetch(`${server.url}/api/slots/slot-002/test-run`, {
      method: 'POST',
      headers: auth,
      body: bad,
    });
    expect(refused.status).toBe(422);
    expect((await jsonOf(refused)).error.details.errors[0].path).toBe('/settings/strength');
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
  });

  it('purge deletes expired results now and keeps live ones and templates', async () => {
    const live = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes() });
    const liveId = live.headers.get('x-job-id')!;
    const expired = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(),
    });
    const expiredId = expired.headers.get('x-job-id')!;
    await server.database.db
      .updateTable('job')
      .set({ result_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expiredId)
      .execute();
    const res = await api('POST', '/api/media/cache/purge');
    expect(res.status).toBe(202);
    expect((await jsonOf(res)).deleted.results).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${server.url}/public/results/${expiredId}`)).status).toBe(410);
    expect((await fetch(`${server.url}/public/results/${liveId}`)).status).toBe(200);
  });

  it('documents every admin route in the OpenAPI document', async () => {
    const doc = await jsonOf(await fetch(`${server.url}/docs/json`, { headers: authHeader(server, ['slots:read']) }));
    for (const p of [
      '/api/login',
      '/api/slots',
      '/api/slots/{id}',
      '/api/slots/{id}/templates',
      '/api/slots/{id}/test-run',
      '/api/settings',
      '/api/providers',
      '/api/media/cache/purge',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.paths['/api/slots/{id}'].put.security).toEqual([{ bearer: [] }]);
    await fs.access(server.mediaRoot);
  });
});
