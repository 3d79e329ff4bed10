import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, jsonOf, multipartBody, rawPost } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('finding 8: NUL bytes and hostile JSON never give a 500', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('NUL in a booth text field, a field name or the file name: the photo is processed, the NULs dropped', async () => {
    const photo = await jpegBytes();
    const form = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'name', value: 'Booth\u0000 1' },
      { name: 'survey\u0000q', value: 'yes' },
      { name: 'fileToUpload', value: photo, filename: 'IMG\u0000_1.JPG', contentType: 'image/jpeg' },
    ]);
    const res = await rawPost(server.url, '/ingest/slot-001', form.body, { 'Content-Type': form.contentType });
    expect(res.status).toBe(200);
    const job = await server.database.db
      .selectFrom('job')
      .select('metadata')
      .where('id', '=', res.headers['x-job-id']!)
      .executeTakeFirstOrThrow();
    expect(job.metadata).toMatchObject({ name: 'Booth 1', surveyq: 'yes', original_filename: 'IMG_1.JPG' });
  });

  it('fields before the password are bounded: 33 fields is a 400 with the connection closed; a long value is cut at 16 KiB', async () => {
    const many = multipartBody([
      ...Array.from({ length: 33 }, (_, i) => ({ name: `f${i}`, value: 'x' })),
      { name: 'password', value: TEST_INGEST_PASSWORD },
    ]);
    const refused = await rawPost(server.url, '/ingest/slot-001', many.body, { 'Content-Type': many.contentType });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body.toString()).error.code).toBe('invalid_request');
    expect(refused.headers.connection).toBe('close');
    const form = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'name', value: 'n'.repeat(40_000) },
      { name: 'fileToUpload', value: await jpegBytes(), filename: 'a.jpg', contentType: 'image/jpeg' },
    ]);
    const res = await rawPost(server.url, '/ingest/slot-001', form.body, { 'Content-Type': form.contentType });
    expect(res.status).toBe(200);
    const job = await server.database.db
      .selectFrom('job')
      .select('metadata')
      .where('id', '=', res.headers['x-job-id']!)
      .executeTakeFirstOrThrow();
    expect(String((job.metadata as Record<string, unknown>).name).length).toBeLessThanOrEqual(16 * 1024);
  });

  it('NUL in a slot id, a login name or an admin JSON body: 400/404 in the canonical shape', async () => {
    const form = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: await jpegBytes(), filename: 'a.jpg' },
    ]);
    const slot = await rawPost(server.url, '/ingest/slot-0%0001', form.body, { 'Content-Type': form.contentType });
    expect(slot.status).toBe(404);
    expect(JSON.parse(slot.body.toString()).error.code).toBe('slot_not_found');

    const login = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'adm\u0000in', password: 'x' }),
    });
    expect(login.status).toBe(400);
    expect((await jsonOf(login)).error.code).toBe('invalid_request');

    const current = await fetch(`${server.url}/api/slots/slot-003`, { headers: authHeader(server) });
    const put = await fetch(`${server.url}/api/slots/slot-003`, {
      method: 'PUT',
      headers: { ...authHeader(server), 'content-type': 'application/json', 'if-match': current.headers.get('etag')! },
      body: JSON.stringify({
        name: 'Bad\u0000name',
        enabled: true,
        provider: 'local',
        operation: 'neutral',
        settings: {},
        max_upload_bytes: null,
      }),
    });
    expect(put.status).toBe(400);
    expect((await jsonOf(put)).error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('NUL'),
    });
  });

  it('400k-deep JSON: refused before parsing for an admin route, ignored unparsed for an unknown webhook token, 400 for a live one', async () => {
    const deep = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    const admin = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    expect(admin.status).toBe(413); // over the login's 4 KiB body limit: never parsed
    const nested = `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`;
    const tooDeep = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: nested,
    });
    expect(tooDeep.status).toBe(400);
    expect((await jsonOf(tooDeep)).error.message).toContain('nested deeper');

    const unknown = randomBytes(32).toString('base64url');
    const started = Date.now();
    const ignored = await fetch(`${server.url}/webhooks/turbotext/${unknown}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep.slice(0, 1000_000 - 2),
    });
    expect(ignored.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);

    const live = randomBytes(32).toString('base64url');
    await server.database.db
      .insertInto('turbotext_webhook')
      .values({ token: live, job_id: 'job-x', created_at: new Date(), expires_at: new Date(Date.now() + 60_000) })
      .execute();
    const refused = await fetch(`${server.url}/webhooks/turbotext/${live}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: nested,
    });
    expect(refused.status).toBe(400);
    const nul = await fetch(`${server.url}/webhooks/turbotext/${live}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"success":true,"error":"a\\u0000b"}',
    });
    expect(nul.status).toBe(400);
    const fine = await fetch(`${server.url}/webhooks/turbotext/${live}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"success":true,"data":{"image":["x"]}}',
    });
    expect(fine.status).toBe(200);
  });
});

describe('finding 8 (review): big JSON arrays and JSON sent to the ingest', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('a 200k-element array is refused unparsed (413 over the body limits), never a 500; the ingest never parses JSON (an unknown slot is a 404 unread)', async () => {
    const big = `[${Array.from({ length: 200_000 }, () => '1').join(',')}]`;
    const login = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(login.status).toBe(413);
    // The login takes 4 KiB, other admin JSON 64 KiB: a small array is a 400 from the schema.
    const small = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `[${Array.from({ length: 1000 }, () => '1').join(',')}]`,
    });
    expect(small.status).toBe(400);
    const ingest = await fetch(`${server.url}/ingest/slot-099`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(ingest.status).toBe(404);
    const known = await fetch(`${server.url}/ingest/slot-001`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(known.status).toBe(400);
    expect((await jsonOf(known)).error.code).toBe('invalid_request');
    expect(server.logLines.some((l) => l.includes('"level":"error"') || l.includes('"level":50'))).toBe(false);
  });
});
