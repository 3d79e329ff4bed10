import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../src/providers/local/driver.js';
import { createScriptedProvider } from '../support/scripted-provider.js';
import { jpegBytes, jsonOf, multipartBody, postIngest, rawPost } from '../support/http.js';
import { listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** Every status of the booth contract (docs/api.md), from real HTTP requests to the real server. */
describe('POST /ingest/:slotId', () => {
  let server: TestServer;
  const scripted = createScriptedProvider();
  let photo: Buffer;

  beforeAll(async () => {
    server = await startTestServer({
      providers: [createLocalProvider(), scripted],
      // The test's requests all come from 127.0.0.1: its share is the whole cap here (the share
      // itself is tested in test/security/uploads.test.ts).
      env: {
        PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '2',
        PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS: '3',
        PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '3',
      },
    });
    photo = await jpegBytes(320, 240);
    await server.database.db
      .updateTable('slot')
      .set({ provider: 'scripted', operation: 'run' })
      .where('id', 'in', ['slot-002', 'slot-003'])
      .execute();
    await server.database.db.updateTable('slot').set({ enabled: false }).where('id', '=', 'slot-015').execute();
  });
  afterAll(() => server.close());
  beforeEach(() => scripted.setScript({ kind: 'echo' }));

  const payloadsLeft = () => listFiles(path.join(server.mediaRoot, 'payloads'));
  const job = (id: string) =>
    server.database.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('200: answers with the processed image through the local provider and keeps the result 72 h', async () => {
    const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    const meta = await sharp(body).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([320, 240]);
    const jobId = res.headers.get('x-job-id')!;
    const row = await job(jobId);
    expect(row.is_finalized).toBe(true);
    expect(row.failure_reason).toBeNull();
    expect(row.result_inline).toBeNull(); // cleared after the response
    expect(row.result_sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(row.result_path).toBe(path.join(server.mediaRoot, 'results', `${jobId}.jpg`));
    expect(row.result_expires_at!.getTime() - row.finalized_at!.getTime()).toBe(72 * 3600 * 1000);
    expect(await fs.readFile(row.result_path!)).toEqual(body);
    const pub = await fetch(`${server.url}/public/results/${jobId}`);
    expect(pub.status).toBe(200);
    expect(pub.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await pub.arrayBuffer())).toEqual(body);
    expect(await payloadsLeft()).toEqual([]);
  });

  it('accepts the booth request shape: CRLF multipart, Expect: 100-continue, Windows path, fields before and after the file, extra fields kept', async () => {
    const { body, contentType } = multipartBody([
      { name: 'time', value: '2026-11-24 18:03:11' },
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'profile', value: 'C:\\Users\\Booth\\Documents\\PhotoboothProfiles\\wedding.xml' },
      { name: 'fileToUpload', value: photo, filename: 'C:\\Photos\\Event 12\\IMG_0042.JPG', contentType: 'image/jpeg' },
      { name: 'user_id', value: '17' },
      { name: 'survey_q1', value: 'yes' },
    ]);
    const res = await rawPost(
      server.url,
      '/ingest/slot-002',
      body,
      { 'Content-Type': contentType },
      { expectContinue: true },
    );
    expect(res.sawContinue).toBe(true);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(photo);
    const row = await job(res.headers['x-job-id']!);
    expect(row.metadata).toMatchObject({
      time: '2026-11-24 18:03:11',
      profile: 'C:\\Users\\Booth\\Documents\\PhotoboothProfiles\\wedding.xml',
      user_id: '17',
      survey_q1: 'yes',
      original_filename: 'C:\\Photos\\Event 12\\IMG_0042.JPG',
    });
    expect(row.metadata).not.toHaveProperty('password');
    expect(await payloadsLeft()).toEqual([]);
  });

  it("POST /api/ingest/{slot} (the previous system's path) answers exactly like /ingest/{slot}", async () => {
    const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    const form = new FormData();
    form.append('password', TEST_INGEST_PASSWORD);
    form.append('fileToUpload', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
    const alias = await fetch(`${server.url}/api/ingest/slot-001`, { method: 'POST', body: form });
    expect(alias.status).toBe(200);
    expect(alias.headers.get('content-type')).toBe(res.headers.get('content-type'));
    expect(alias.headers.get('x-job-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(alias.headers.get('cache-control')).toBe('no-store');
    expect(Buffer.from(await alias.arrayBuffer()).equals(Buffer.from(await res.arrayBuffer()))).toBe(true);
    const wrong = await fetch(`${server.url}/api/ingest/slot-001`, {
      method: 'POST',
      body: (() => {
        const f = new FormData();
        f.append('password', 'nope-nope');
        f.append('fileToUpload', new Blob([new Uint8Array(photo)]), 'p.jpg');
        return f;
      })(),
    });
    expect(wrong.status).toBe(401);
    expect((await jsonOf(wrong)).error.code).toBe('invalid_password');
  });

  it('404: unknown or disabled slot is refused before the body is sent', async () => {
    const { body, contentType } = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: photo, filename: 'a.jpg' },
    ]);
    for (const slot of ['slot-099', 'slot-015', '..%2F..%2Fetc']) {
      const res = await rawPost(
        server.url,
        `/ingest/${slot}`,
        body,
        { 'Content-Type': contentType },
        { expectContinue: true, continueTimeoutMs: 5000 },
      );
      expect(res.status).toBe(404);
      expect(res.sawContinue).toBe(false);
      expect(res.bodyBytesSentBeforeAnswer).toBe(0);
      expect(JSON.parse(res.body.toString()).error.code).toBe('slot_not_found');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('400: not multipart, missing password, missing file, empty file, truncated body', async () => {
    const notMultipart = await fetch(`${server.url}/ingest/slot-001`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(notMultipart.status).toBe(400);
    expect((await jsonOf(notMultipart)).error.code).toBe('invalid_request');
    expect(notMultipart.headers.get('cache-control')).toBe('no-store');

    const noPassword = await postIngest(server.url, 'slot-001', { file: photo });
    expect(noPassword.status).toBe(400);
    expect((await jsonOf(noPassword)).error.message).toMatch(/password/);

    const noFile = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD });
    expect(noFile.status).toBe(400);
    expect((await jsonOf(noFile)).error.message).toMatch(/fileToUpload/);

    const empty = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: Buffer.alloc(0) });
    expect(empty.status).toBe(400);
    expect((await jsonOf(empty)).error.message).toMatch(/empty/);

    const { body, contentType } = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: photo, filename: 'a.jpg' },
    ]);
    const truncated = await rawPost(
      server.url,
      '/ingest/slot-001',
      body,
      { 'Content-Type': contentType },
      { truncateAt: Math.floor(body.length / 2) },
    );
    expect(truncated.status).toBe(400);
    expect(JSON.parse(truncated.body.toString()).error.code).toBe('invalid_request');
    // A body cut short may be answered by the HTTP layer (src/app.ts clientErrorHandler) while the
    // route is still removing what it had received: nothing is left moments later.
    await expect.poll(payloadsLeft, { timeout: 2000, interval: 20 }).toEqual([]);
  });

  it('401: a wrong password is refused before the file is read', async () => {
    const before = await postIngest(server.url, 'slot-001', { password: 'nope', file: photo });
    expect(before.status).toBe(401);
    expect((await jsonOf(before)).error.code).toBe('invalid_password');
    expect(before.headers.get('connection')).toBe('close');
    expect(await payloadsLeft()).toEqual([]);
  });

  it('a file sent before the password: the right password processes it, a wrong one is 401 and nothing is kept', async () => {
    // test/ingest/booth-contract.test.ts covers every order, Breeze Booth and the bounds.
    for (const [password, status] of [
      [TEST_INGEST_PASSWORD, 200],
      ['nope', 401],
    ] as const) {
      const { body, contentType } = multipartBody([
        { name: 'fileToUpload', value: photo, filename: 'a.jpg' },
        { name: 'password', value: password },
      ]);
      const res = await rawPost(server.url, '/ingest/slot-001', body, { 'Content-Type': contentType });
      expect(res.status).toBe(status);
    }
    expect(await payloadsLeft()).toEqual([]);
  });

  it('413: stops at the slot limit, answers and closes the connection, keeps nothing', async () => {
    await server.database.db
      .updateTable('slot')
      .set({ max_upload_bytes: 100_000 })
      .where('id', '=', 'slot-003')
      .execute();
    const big = Buffer.concat([photo, Buffer.alloc(64 * 1024 * 1024, 7)]);
    const { body, contentType } = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: big, filename: 'big.jpg' },
    ]);
    const res = await rawPost(server.url, '/ingest/slot-003', body, { 'Content-Type': contentType });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).error).toMatchObject({
      code: 'payload_too_large',
      details: { limit_bytes: 100_000 },
    });
    expect(res.headers.connection).toBe('close');
    expect(res.bodyBytesSentBeforeAnswer).toBeLessThan(body.length);
    expect(await payloadsLeft()).toEqual([]);
  });

  it('415: the type is decided on the bytes, not on the part header', async () => {
    const res = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: Buffer.from('GIF89a this is not a jpeg at all'),
      fileType: 'image/jpeg',
    });
    expect(res.status).toBe(415);
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
      .gif()
      .toBuffer();
    const res2 = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: gif,
      fileType: 'image/jpeg',
    });
    expect(res2.status).toBe(415);
    expect((await jsonOf(res2)).error).toMatchObject({
      code: 'unsupported_media_type',
      details: { detected: 'image/gif' },
    });
    expect(await payloadsLeft()).toEqual([]);
  });

  it('uses the first file of a supported type when several are sent', async () => {
    const { body, contentType } = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'notes', value: Buffer.from('plain text'), filename: 'notes.txt', contentType: 'text/plain' },
      { name: 'fileToUpload', value: photo, filename: 'IMG_1.JPG', contentType: 'image/jpeg' },
      { name: 'second', value: await jpegBytes(8, 8), filename: 'IMG_2.JPG', contentType: 'image/jpeg' },
    ]);
    const res = await rawPost(server.url, '/ingest/slot-002', body, { 'Content-Type': contentType });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(photo);
  });

  it('502: a provider failure carries its reason', async () => {
    scripted.setScript({ kind: 'fail', reason: 'safety_block', message: 'The image was blocked by the safety filter' });
    const res = await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(502);
    const body = await jsonOf(res);
    expect(body.error).toMatchObject({
      code: 'provider_error',
      details: { reason: 'safety_block', job_id: res.headers.get('x-job-id') },
    });
    // Our own words to the booth; the provider's text only in the job record.
    expect(body.error.message).toBe('The AI provider refused the photo or the prompt for safety reasons');
    expect(JSON.stringify(body)).not.toContain('safety filter');
  });

  it('500: an unexpected failure answers internal_error with the correlation id it was logged under', async () => {
    scripted.setScript({ kind: 'crash' });
    const res = await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(res.status).toBe(500);
    const body = await jsonOf(res);
    const correlationId = res.headers.get('x-correlation-id');
    expect(body.error.code).toBe('internal_error');
    expect(body.error.details.correlation_id).toBe(correlationId);
    expect(server.logLines.some((l) => l.includes(correlationId!) && l.includes('scripted crash'))).toBe(true);
  });

  it('504: the deadline finalizes the job as timeout, aborts the provider call, and writes no result', async () => {
    scripted.setScript({ kind: 'hang' });
    const started = Date.now();
    const res = await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(4000);
    const body = await jsonOf(res);
    const jobId = res.headers.get('x-job-id')!;
    expect(body.error.code).toBe('sync_timeout');
    expect(body.error.details.job_id).toBe(jobId);
    expect(body.error.details.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await new Promise((r) => setTimeout(r, 100));
    expect(scripted.calls.find((c) => c.jobId === jobId)?.aborted).toBe(true);
    const row = await job(jobId);
    expect(row.failure_reason).toBe('timeout');
    expect(row.result_path).toBeNull();
    expect((await listFiles(path.join(server.mediaRoot, 'results'))).some((f) => f.includes(jobId))).toBe(false);
    expect(await payloadsLeft()).toEqual([]);
  });

  it('429: the in-flight cap refuses the next job with Retry-After, then frees up', async () => {
    scripted.setScript({ kind: 'echo', delayMs: 1200 });
    const slow = Array.from({ length: 3 }, () =>
      postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo }),
    );
    await new Promise((r) => setTimeout(r, 400));
    const busy = await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(busy.status).toBe(429);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await jsonOf(busy)).error.code).toBe('queue_busy');
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200]);
    const after = await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(after.status).toBe(200);
  });

  it('a client that goes away cancels its job; a pending job never reaches the provider', async () => {
    scripted.setScript({ kind: 'echo', delayMs: 300 });
    const before = scripted.calls.length;
    const ac = new AbortController();
    // Occupy the single... all workers are free here, so abort right after the upload is accepted.
    const pending = postIngest(
      server.url,
      'slot-002',
      { password: TEST_INGEST_PASSWORD, file: photo },
      { signal: ac.signal },
    ).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await pending;
    await new Promise((r) => setTimeout(r, 500));
    const last = await server.database.db
      .selectFrom('job')
      .selectAll()
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    expect(last.failure_reason).toBe('cancelled');
    expect(last.failure_detail).toEqual({ reason: 'client_disconnected' });
    const call = scripted.calls.slice(before).find((c) => c.jobId === last.id);
    // Either it never reached the provider, or the provider call was aborted.
    expect(call === undefined || call.aborted).toBe(true);
    expect(call?.finished ?? false).toBe(false);
    expect(await payloadsLeft()).toEqual([]);
    // A booth hanging up is not the server's fault: no error line, no internal_error (finding 16).
    const lines = server.logLines.filter((l) => l.includes(last.id) || l.includes('unexpected error'));
    expect(lines.filter((l) => l.includes('"level":"error"') || l.includes('internal_error'))).toEqual([]);
  });

  it('GET /public/results: 404 for unknown ids', async () => {
    expect((await fetch(`${server.url}/public/results/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetch(`${server.url}/public/results/not-a-uuid`)).status).toBe(404);
  });

  it('request headers and bodies are bounded in time (the keep-alive per path: test/security/connections.test.ts)', () => {
    // Fastify's own timeout options are not applied to a server made by serverFactory.
    expect(server.app.server.keepAliveTimeout).toBe(server.config.keepAliveSeconds * 1000);
    // A backstop above the ingest's own upload deadline (PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS + 30 s).
    expect(server.app.server.requestTimeout).toBe((server.config.uploadTimeoutSeconds + 30) * 1000);
    expect(server.app.server.headersTimeout).toBe(server.config.silentConnectionSeconds * 1000);
    expect(server.app.server.maxConnections).toBeGreaterThanOrEqual(16);
    // …but a stalled (silent) socket is dropped once no answer can be pending any more.
    expect(server.app.server.timeout).toBeGreaterThan(60_000);
    expect(server.app.server.timeout).toBeLessThanOrEqual(120_000);
  });

  it('records refusals by code for statistics', async () => {
    await server.rejections.flush();
    const rows = await server.database.db.selectFrom('ingest_rejection_count').select(['code']).execute();
    const codes = new Set(rows.map((r) => r.code));
    for (const c of [
      'slot_not_found',
      'invalid_request',
      'invalid_password',
      'payload_too_large',
      'unsupported_media_type',
      'queue_busy',
    ])
      expect(codes).toContain(c);
  });
});
