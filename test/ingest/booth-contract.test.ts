import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boothUpload, type BoothRequest } from '../support/booth-client.js';
import { jpegBytes, multipartBody, type BoothPart } from '../support/http.js';
import { authHeader, listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/**
 * The booth contract as real clients may send it (docs/api.md, docs/booth-setup.md): nobody has
 * seen the part order a real DSLR Remote Pro uses, Breeze lists the file first, and Breeze Booth
 * (iPad) sends no password field. Every case runs over a raw socket against the real server.
 */
describe('booth contract: any part order, Breeze Booth, URL tokens', () => {
  let server: TestServer;
  let photo: Buffer;

  beforeAll(async () => {
    server = await startTestServer({ env: { PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '5' } });
    photo = await jpegBytes(320, 240);
  });
  afterAll(() => server.close());

  const payloadsLeft = () => listFiles(path.join(server.mediaRoot, 'payloads'));
  const job = (id: string) =>
    server.database.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const send = (parts: BoothPart[], options: Partial<BoothRequest> & { query?: string } = {}) => {
    const { body, contentType } = multipartBody(parts, `------------${'0123456789'.repeat(3).slice(0, 24)}`);
    return boothUpload({
      url: server.url,
      path: `/ingest/slot-001${options.query ?? ''}`,
      body,
      headers: { 'Content-Type': contentType },
      ...options,
    }).answer;
  };
  const file = (name = 'fileToUpload', extra: Partial<BoothPart> = {}): BoothPart => ({
    name,
    value: photo,
    filename: 'IMG_0001.jpg',
    contentType: 'image/jpeg',
    ...extra,
  });
  const password = (value = TEST_INGEST_PASSWORD): BoothPart => ({ name: 'password', value });

  it('takes the password before, between or after the files', async () => {
    const orders: Record<string, BoothPart[]> = {
      first: [password(), { name: 'name', value: 'Booth 1' }, file()],
      between: [file(), password(), file('second', { value: Buffer.from('not an image') })],
      last: [{ name: 'time', value: '2026-11-24 18:03:11' }, file(), { name: 'name', value: 'Booth 1' }, password()],
    };
    for (const [order, parts] of Object.entries(orders)) {
      const answer = await send(parts);
      expect({ order, status: answer.status, complete: answer.complete, error: answer.socketError }).toEqual({
        order,
        status: 200,
        complete: true,
        error: undefined,
      });
      expect(answer.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(answer.body).metadata()).width).toBe(320);
    }
    expect(await payloadsLeft()).toEqual([]);
  });

  it('file first: chunked, HTTP/1.0, an octet-stream part, a non-ASCII file name', async () => {
    const parts = [
      file('fileToUpload', { contentType: 'application/octet-stream', filename: 'C:\\Фото\\Свадьба №1.jpg' }),
      password(),
    ];
    for (const variant of [{ chunked: true }, { httpVersion: '1.0' as const }, { chunkBytes: 997, pauseMs: 1 }]) {
      const answer = await send(parts, variant);
      expect({ variant, status: answer.status, complete: answer.complete }).toEqual({
        variant,
        status: 200,
        complete: true,
      });
      const row = await job(answer.headers['x-job-id']!);
      expect((row.metadata as Record<string, unknown>).original_filename).toBe('C:\\Фото\\Свадьба №1.jpg');
    }
  });

  it('file first: a wrong password after the file is 401 and the file is gone; no password at all is 400', async () => {
    const wrong = await send([file(), password('not-the-password')]);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body.toString()).error.code).toBe('invalid_password');
    const none = await send([file(), { name: 'name', value: 'Booth 1' }]);
    expect(none.status).toBe(400);
    expect(JSON.parse(none.body.toString())).toEqual({
      error: { code: 'invalid_request', message: expect.stringMatching(/password is missing/) },
    });
    const empty = await send([file(), password('')]);
    expect(empty.status).toBe(400);
    expect(await payloadsLeft()).toEqual([]);
  });

  it('accepts the photo under image or file when fileToUpload is absent', async () => {
    for (const name of ['image', 'file']) {
      const answer = await send([password(), file(name)]);
      expect({ name, status: answer.status }).toEqual({ name, status: 200 });
    }
  });

  it("Breeze Booth's webhook: no password field, the password and tokens in the URL; the password is kept nowhere", async () => {
    const breeze: BoothPart[] = [
      file(),
      ...[
        'eventkitesessionid',
        'eventkitegalleryid',
        'status',
        'model',
        'name',
        'username',
        'user_id',
        'profile',
        'time',
        'hash',
        'version',
        'id',
      ].map((name, i) => ({ name, value: name === 'hash' ? 'a'.repeat(40) : `${name}-${i}` })),
      { name: 'survey1_type_id', value: '3' },
      { name: '{qr1}', value: 'https://example.test/q' },
    ];
    const secret = encodeURIComponent(TEST_INGEST_PASSWORD);
    const answer = await send(breeze, {
      query: `?style=Cartoon&password=${secret}&survey=${encodeURIComponent('Ёлка')}`,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('image/jpeg'); // a plain image, not a multipart answer
    const row = await job(answer.headers['x-job-id']!);
    expect(row.metadata).toMatchObject({
      style: 'Cartoon',
      survey: 'Ёлка',
      eventkitesessionid: 'eventkitesessionid-0',
      survey1_type_id: '3',
      '{qr1}': 'https://example.test/q',
    });
    expect(JSON.stringify(row)).not.toContain(TEST_INGEST_PASSWORD);
    expect(server.logLines.join('\n')).not.toContain(TEST_INGEST_PASSWORD);
    expect(server.logLines.join('\n')).not.toContain(secret);

    // A form password wins over the URL's; a wrong URL password without a form one is 401.
    expect((await send([file(), password()], { query: '?password=wrong-one' })).status).toBe(200);
    const wrong = await send(breeze, { query: '?password=wrong-one' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.toString()).not.toContain('wrong-one');
    expect((await send(breeze)).status).toBe(400);
    expect(await payloadsLeft()).toEqual([]);
  });
});

/**
 * Every refusal is a complete HTTP answer, even when it is decided in the middle of a body and the
 * booth goes on sending: the booth reads it after it has sent everything, and sees no reset.
 */
describe('never leave a booth hanging', () => {
  let server: TestServer;
  let photo: Buffer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS: '2',
        PHOTOCHANGER_UPLOAD_RATE_GRACE_SECONDS: '1',
        PHOTOCHANGER_UPLOAD_MIN_BYTES_PER_SECOND: '0',
      },
    });
    photo = await jpegBytes(320, 240);
    await server.database.db
      .updateTable('slot')
      .set({ max_upload_bytes: 200_000 })
      .where('id', '=', 'slot-003')
      .execute();
  });
  afterAll(() => server.close());

  const big = (size: number) => Buffer.concat([photo, Buffer.alloc(size, 7)]);
  const upload = (slot: string, parts: BoothPart[], options: Partial<BoothRequest> = {}) => {
    const { body, contentType } = multipartBody(parts);
    return boothUpload({
      url: server.url,
      path: `/ingest/${slot}`,
      body,
      headers: { 'Content-Type': contentType },
      ...options,
    }).answer;
  };
  const expectCompleteRefusal = (answer: Awaited<ReturnType<typeof upload>>, status: number, code: string) => {
    expect({
      status: answer.status,
      code: JSON.parse(answer.body.toString() || '{}').error?.code,
      complete: answer.complete,
      socketError: answer.socketError,
    }).toEqual({
      status,
      code,
      complete: true,
      socketError: undefined,
    });
    expect(answer.headers.connection).toBe('close');
    // Decided mid-body, and the booth still sent everything after it without a reset.
    expect(answer.sentBeforeAnswer).toBeLessThan(answer.sent);
  };

  it('401 on a wrong password before the photo', async () => {
    expectCompleteRefusal(
      await upload('slot-001', [
        { name: 'password', value: 'wrong' },
        { name: 'fileToUpload', value: big(16 << 20), filename: 'a.jpg' },
      ]),
      401,
      'invalid_password',
    );
  });

  it('413 at the slot limit, the photo first or the password first', async () => {
    expectCompleteRefusal(
      await upload('slot-003', [
        { name: 'password', value: TEST_INGEST_PASSWORD },
        { name: 'fileToUpload', value: big(16 << 20), filename: 'a.jpg' },
      ]),
      413,
      'payload_too_large',
    );
    expectCompleteRefusal(
      await upload('slot-003', [
        { name: 'fileToUpload', value: big(16 << 20), filename: 'a.jpg' },
        { name: 'password', value: TEST_INGEST_PASSWORD },
      ]),
      413,
      'payload_too_large',
    );
  });

  it('408 when the upload outlasts its deadline', async () => {
    // 1.2 MB at about 400 KB/s: the 2 s deadline passes after half of it.
    expectCompleteRefusal(
      await upload(
        'slot-001',
        [
          { name: 'password', value: TEST_INGEST_PASSWORD },
          { name: 'fileToUpload', value: big(1_200_000), filename: 'a.jpg' },
        ],
        { chunkBytes: 40_000, pauseMs: 100 },
      ),
      408,
      'upload_timeout',
    );
  });

  it('404 for an unknown slot, decided before the body', async () => {
    expectCompleteRefusal(
      await upload('slot-099', [
        { name: 'password', value: TEST_INGEST_PASSWORD },
        { name: 'fileToUpload', value: big(16 << 20), filename: 'a.jpg' },
      ]),
      404,
      'slot_not_found',
    );
  });

  it('401 after the photo, once the whole body is read', async () => {
    const answer = await upload('slot-001', [
      { name: 'fileToUpload', value: photo, filename: 'a.jpg' },
      { name: 'password', value: 'wrong' },
    ]);
    expect({ status: answer.status, complete: answer.complete, socketError: answer.socketError }).toEqual({
      status: 401,
      complete: true,
      socketError: undefined,
    });
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
  });
});

/**
 * Photo bytes before their password are bounded (docs/security.md): per address, in all on disk,
 * and a booth whose password is known is never refused because of strangers' bytes.
 */
describe('unverified photo bytes are bounded', () => {
  const BUDGET = 1024 * 1024;
  let server: TestServer;
  let photo: Buffer;
  let bigPhoto: Buffer;
  let midPhoto: Buffer;
  let smallPhoto: Buffer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        PHOTOCHANGER_UNVERIFIED_UPLOAD_BUDGET_MIB: '1',
        PHOTOCHANGER_UNVERIFIED_UPLOADS_PER_ADDRESS: '2',
        PHOTOCHANGER_UPLOAD_MIN_BYTES_PER_SECOND: '0',
        PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS: '30',
      },
    });
    photo = await jpegBytes(320, 240);
    // A real photo larger than the whole budget: noise does not compress.
    bigPhoto = await sharp({
      create: {
        width: 1400,
        height: 1000,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .jpeg({ quality: 98 })
      .toBuffer();
    expect(bigPhoto.length).toBeGreaterThan(BUDGET);
    // One that fits the budget alone, but not twice.
    midPhoto = await sharp({
      create: {
        width: 900,
        height: 700,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .jpeg({ quality: 98 })
      .toBuffer();
    expect(midPhoto.length).toBeGreaterThan(BUDGET / 2);
    expect(midPhoto.length).toBeLessThan(BUDGET - 64 * 1024);
    smallPhoto = await sharp({
      create: {
        width: 300,
        height: 200,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .jpeg({ quality: 98 })
      .toBuffer();
    expect(smallPhoto.length).toBeGreaterThan(60 * 1024);
    expect(smallPhoto.length + midPhoto.length).toBeLessThan(BUDGET - 8 * 1024);
  });
  afterAll(() => server.close());

  const payloadBytes = async () => {
    const files = await listFiles(path.join(server.mediaRoot, 'payloads'));
    const { stat } = await import('node:fs/promises');
    let total = 0;
    for (const f of files.filter((f) => !f.endsWith('/'))) total += (await stat(f).catch(() => ({ size: 0 }))).size;
    return total;
  };
  const fileFirst = (localAddress: string, value: Buffer, holdAt?: number, pass = TEST_INGEST_PASSWORD) => {
    const { body, contentType } = multipartBody([
      { name: 'fileToUpload', value, filename: 'a.jpg' },
      { name: 'password', value: pass },
    ]);
    return boothUpload({
      url: server.url,
      path: '/ingest/slot-001',
      body,
      headers: { 'Content-Type': contentType },
      localAddress,
      holdAt,
    });
  };
  const passwordFirst = (localAddress: string, value: Buffer) => {
    const { body, contentType } = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value, filename: 'a.jpg' },
    ]);
    return boothUpload({
      url: server.url,
      path: '/ingest/slot-001',
      body,
      headers: { 'Content-Type': contentType },
      localAddress,
    }).answer;
  };
  const code = (answer: { body: Buffer }) => JSON.parse(answer.body.toString()).error.code;

  it('per address, in all, and never at the expense of a known booth', async () => {
    // A trusted booth: its password was right a moment ago, from its address.
    expect((await passwordFirst('127.0.0.6', photo)).status).toBe(200);

    // A stranger's file-first photo reserves its declared size of the budget when it begins (about
    // 70 %), then stalls; a second, small one from the same address fits.
    const held = [fileFirst('127.0.0.2', midPhoto, 500 * 1024), fileFirst('127.0.0.2', smallPhoto, 40 * 1024)];
    await Promise.all(held.map((h) => h.held));
    await expect.poll(payloadBytes, { timeout: 3000 }).toBeGreaterThan(400 * 1024);
    await expect
      .poll(
        async () => (await listFiles(path.join(server.mediaRoot, 'payloads'))).filter((f) => !f.endsWith('/')).length,
        { timeout: 3000 },
      )
      .toBe(2);

    // A third from the same address: 429, a complete answer.
    const third = await fileFirst('127.0.0.2', photo).answer;
    expect([third.status, code(third), third.headers['retry-after'], third.complete]).toEqual([
      429,
      'too_many_requests',
      '5',
      true,
    ]);

    // Another stranger's photo does not fit what is left: 503 with Retry-After before any of it is
    // written, and never more on disk than the budget.
    const over = await fileFirst('127.0.0.3', midPhoto).answer;
    expect([over.status, code(over), over.headers['retry-after'], over.complete, over.socketError]).toEqual([
      503,
      'uploads_busy',
      '10',
      true,
      undefined,
    ]);
    expect(await payloadBytes()).toBeLessThanOrEqual(BUDGET);

    // Booths are not refused: the password first from a new address, and file first from a trusted one.
    expect((await passwordFirst('127.0.0.4', bigPhoto)).status).toBe(200);
    const trusted = await fileFirst('127.0.0.6', bigPhoto).answer;
    expect(trusted.status).toBe(200);

    // The held uploads go on: what was admitted finishes (its reservation holds, whatever others send).
    for (const h of held) h.resume();
    expect((await Promise.all(held.map((h) => h.answer))).map((a) => a.status)).toEqual([200, 200]);
    // With the room back, a stranger's wrong password after its photo is 401 and the photo is gone.
    const liar = fileFirst('127.0.0.5', midPhoto, undefined, 'wrong');
    expect((await liar.answer).status).toBe(401);
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
  });
});

/** The operator's booth check: what each booth really sends, and a booth test without AI calls. */
describe('booth check', () => {
  let server: TestServer;
  let photo: Buffer;
  beforeAll(async () => {
    server = await startTestServer({});
    photo = await jpegBytes(400, 300, { r: 30, g: 60, b: 200 });
  });
  afterAll(() => server.close());

  const requestsOf = async (key: string) => {
    const res = await fetch(`${server.url}/api/booths/${encodeURIComponent(key)}/requests`, {
      headers: authHeader(server),
    });
    expect(res.status).toBe(200);
    return { text: await res.clone().text(), body: (await res.json()) as { requests: Array<Record<string, unknown>> } };
  };
  const post = (parts: BoothPart[], query = '', localAddress?: string, extraHeaders: Record<string, string> = {}) => {
    const { body, contentType } = multipartBody(parts);
    return boothUpload({
      url: server.url,
      path: `/ingest/slot-004${query}`,
      body,
      headers: { 'Content-Type': contentType, 'User-Agent': 'BreezeBooth/5.1', ...extraHeaders },
      localAddress,
    }).answer;
  };

  it("keeps each booth's last requests: parts in order, headers, query keys, outcome, timings; never the password or the photo", async () => {
    const parts: BoothPart[] = [
      { name: 'fileToUpload', value: photo, filename: 'a.jpg', contentType: 'image/jpeg' },
      { name: 'name', value: 'Kitchen booth' },
      { name: 'user_id', value: '42' },
    ];
    const ok = await post(parts, `?style=cartoon&password=${encodeURIComponent(TEST_INGEST_PASSWORD)}`, '127.0.0.21');
    expect(ok.status).toBe(200);
    const refused = await post([{ name: 'password', value: 'wrong-password-1' }, ...parts], '', '127.0.0.21');
    expect(refused.status).toBe(401);

    const { text, body } = await requestsOf('Kitchen booth');
    expect(text).not.toContain(TEST_INGEST_PASSWORD);
    expect(text).not.toContain('wrong-password-1');
    expect(text).not.toContain('cartoon');
    // The 401 came before the booth's name (and a stranger's name is never trusted): it is kept under its address.
    expect(body.requests).toHaveLength(1);
    expect(body.requests[0]).toMatchObject({
      slot_id: 'slot-004',
      client_address: '127.0.0.21',
      http_version: '1.1',
      headers: {
        'user-agent': 'BreezeBooth/5.1',
        'content-type': expect.stringContaining('multipart/form-data'),
        'content-length': expect.any(String),
      },
      query_keys: ['style', 'password'],
      parts: [
        { name: 'fileToUpload', bytes: photo.length, file: true, type: 'image/jpeg' },
        { name: 'name', bytes: 13, file: false },
        { name: 'user_id', bytes: 2, file: false },
      ],
      status: 200,
      code: null,
      job_id: ok.headers['x-job-id'],
      timings: { body_ms: expect.any(Number), total_ms: expect.any(Number) },
    });
    const byAddress = await requestsOf('127.0.0.21');
    // A refused stranger is kept under its address, whatever name it sends, and a password's part
    // shows no size.
    expect(byAddress.body.requests[0]).toMatchObject({
      status: 401,
      code: 'invalid_password',
      parts: [{ name: 'password', bytes: 0, file: false }],
    });
    // The booth list names the key.
    const booths = (await (await fetch(`${server.url}/api/stats/booths`, { headers: authHeader(server) })).json()) as {
      booths: Array<{ key: string; name: string }>;
    };
    expect(booths.booths.find((b) => b.name === 'Kitchen booth')?.key).toBe('Kitchen booth');
  });

  it('keeps the newest 20 per booth', async () => {
    for (let i = 0; i < 23; i++)
      expect(
        (
          await post(
            [
              { name: 'name', value: 'Busy booth' },
              { name: 'password', value: TEST_INGEST_PASSWORD },
              { name: 'n', value: String(i) },
            ],
            '',
            '127.0.0.22',
          )
        ).status,
      ).toBe(400);
    const { body } = await requestsOf('Busy booth');
    expect(body.requests).toHaveLength(20);
    expect(body.requests.every((r) => r.code === 'invalid_request')).toBe(true);
  });

  it('the booth test answers the booth photo with a banner, without an AI call', async () => {
    await server.database.db
      .updateTable('slot')
      .set({ provider: 'local', operation: 'booth_test', settings: '{}' })
      .where('id', '=', 'slot-004')
      .execute();
    const answer = await post([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: photo, filename: 'a.jpg', contentType: 'image/jpeg' },
    ]);
    expect([answer.status, answer.status === 200 ? '' : answer.body.toString()]).toEqual([200, '']);
    const { data, info } = await sharp(answer.body).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([400, 300]);
    const pixel = (x: number, y: number) =>
      Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    // The photo above, the green banner at the bottom, white text in its middle.
    const [r, , b] = pixel(5, 5);
    expect(b!).toBeGreaterThan(150);
    expect(r!).toBeLessThan(80);
    const [br, bg, bb] = pixel(2, info.height - 3);
    expect(bg!).toBeGreaterThan(br! + 30);
    expect(bg!).toBeGreaterThan(bb! + 30);
    let white = 0;
    for (let x = 0; x < info.width; x++)
      for (let y = info.height - 28; y < info.height; y++) if (pixel(x, y).every((c) => c > 200)) white++;
    expect(white).toBeGreaterThan(50);
  });
});
