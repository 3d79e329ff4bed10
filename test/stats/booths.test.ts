import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_SAMPLES, SAMPLES_PER_CLIENT, SAMPLES_PER_MINUTE } from '../../src/stats/rejections.js';
import { createLocalProvider } from '../../src/providers/local/driver.js';
import { createScriptedProvider } from '../support/scripted-provider.js';
import { jpegBytes, jsonOf, multipartBody, rawPost, type BoothPart } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** An upload from a booth at `address` (127.0.0.x stands for a machine on the LAN), fields in the given order. */
function boothPost(server: TestServer, slot: string, address: string, parts: BoothPart[]) {
  const { body, contentType } = multipartBody(parts);
  return rawPost(server.url, `/ingest/${slot}`, body, { 'Content-Type': contentType }, { localAddress: address });
}

describe('refusals one by one, and the booths in contact', () => {
  let server: TestServer;
  const scripted = createScriptedProvider();
  let auth: Record<string, string>;
  let photo: Buffer;
  const file = (): BoothPart => ({
    name: 'fileToUpload',
    value: photo,
    filename: 'IMG_0001.JPG',
    contentType: 'image/jpeg',
  });
  const get = async (url: string, headers = auth) => {
    const res = await fetch(`${server.url}${url}`, { headers });
    expect(res.status, url).toBe(200);
    return jsonOf(res);
  };

  beforeAll(async () => {
    server = await startTestServer({
      providers: [createLocalProvider(), scripted],
      env: { PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '3' },
    });
    auth = authHeader(server, ['stats:read']);
    await server.database.db
      .updateTable('slot')
      .set({ provider: 'scripted', operation: 'run' })
      .where('id', '=', 'slot-002')
      .execute();
    photo = await jpegBytes();
    // Booth A (127.0.0.2): two photos, then one the AI fails.
    for (let i = 0; i < 2; i++) {
      const ok = await boothPost(server, 'slot-001', '127.0.0.2', [
        { name: 'name', value: 'Booth A' },
        { name: 'user_id', value: 'u-17' },
        { name: 'password', value: TEST_INGEST_PASSWORD },
        file(),
      ]);
      expect(ok.status).toBe(200);
    }
    scripted.setScript({ kind: 'fail', reason: 'safety_block', message: 'blocked' });
    expect(
      (
        await boothPost(server, 'slot-002', '127.0.0.2', [
          { name: 'name', value: 'Booth A' },
          { name: 'user_id', value: 'u-17' },
          { name: 'password', value: TEST_INGEST_PASSWORD },
          file(),
        ])
      ).status,
    ).toBe(502);
    // The password is rotated: booth A's next shots are refused, once with its name read first,
    // once with the password first (its name is never read).
    expect(
      (
        await boothPost(server, 'slot-001', '127.0.0.2', [
          { name: 'name', value: 'Booth A' },
          { name: 'user_id', value: 'u-17' },
          { name: 'password', value: 'old-password' },
          file(),
        ])
      ).status,
    ).toBe(401);
    expect(
      (
        await boothPost(server, 'slot-001', '127.0.0.2', [
          { name: 'password', value: 'old-password' },
          { name: 'name', value: 'Booth A' },
          file(),
        ])
      ).status,
    ).toBe(401);
    // Booth B (127.0.0.3) posts to a slot that does not exist.
    expect(
      (
        await boothPost(server, 'slot-099', '127.0.0.3', [
          { name: 'name', value: 'Booth B' },
          { name: 'password', value: TEST_INGEST_PASSWORD },
          file(),
        ])
      ).status,
    ).toBe(404);
    await server.rejections.flush();
  });
  afterAll(() => server.close());

  it('lists each refusal with time, slot, code, address and the booth name when it was sent', async () => {
    const { refusals, next_before } = await get('/api/stats/refusals');
    expect(next_before).toBeNull();
    expect(
      refusals.map(
        (r: { code: string; client_address: string; slot_id: string; booth_name: string | null; status: number }) => [
          r.status,
          r.code,
          r.client_address,
          r.slot_id,
          r.booth_name,
        ],
      ),
    ).toEqual([
      [404, 'slot_not_found', '127.0.0.3', 'slot-099', null],
      [401, 'invalid_password', '127.0.0.2', 'slot-001', null],
      [401, 'invalid_password', '127.0.0.2', 'slot-001', 'Booth A'],
    ]);
    expect(refusals[2].booth_user_id).toBe('u-17');
    // Each with the very message the booth read in its answer (src/errors.ts).
    expect(refusals[0].message).toMatch(/^Slot slot-099 does not exist/);
    expect(refusals[1].message).toBe('The ingest password does not match');
    expect(Date.parse(refusals[0].at)).toBeGreaterThan(Date.now() - 60_000);
    // Paging newest first, and one slot.
    const page = await get('/api/stats/refusals?limit=2');
    expect(page.refusals).toHaveLength(2);
    const rest = await get(`/api/stats/refusals?limit=2&before=${page.next_before}`);
    expect(rest.refusals.map((r: { booth_name: string }) => r.booth_name)).toEqual(['Booth A']);
    expect((await get('/api/stats/refusals?slot_id=slot-099')).refusals).toHaveLength(1);
  });

  it('lists booths by name and address: last contact, last result and last refusal', async () => {
    const { booths } = await get('/api/stats/booths');
    expect(booths).toHaveLength(2);
    // The booth whose photos were taken comes first, though the stranger's contact is newer.
    const [a, b] = booths;
    expect(Date.parse(b.last_contact_at)).toBeGreaterThan(Date.parse(a.last_contact_at));
    expect(b).toMatchObject({
      address: '127.0.0.3',
      name: '',
      jobs: 0,
      refusals: 1,
      last_result: null,
      last_slot_id: 'slot-099',
      last_refusal: { status: 404, code: 'slot_not_found' },
    });
    // The refusal read before booth A's name is counted with booth A (the named booth at that address).
    expect(a).toMatchObject({
      address: '127.0.0.2',
      name: 'Booth A',
      user_id: 'u-17',
      jobs: 3,
      refusals: 2,
      last_result: { outcome: 'provider_error' },
      last_refusal: { status: 401, code: 'invalid_password' },
    });
    expect(Date.parse(a.last_contact_at)).toBe(Date.parse(a.last_refusal.at));
    const job = await get(`/api/jobs/${a.last_result.job_id}`);
    expect(job).toMatchObject({
      client_address: '127.0.0.2',
      slot_id: 'slot-002',
      metadata: { name: 'Booth A', user_id: 'u-17' },
    });
  });

  it('gives each slot its last success and last error, and the storage used', async () => {
    const one = await get('/api/stats/slots/slot-001');
    expect(one.last_error).toBeNull();
    expect(Date.parse(one.last_success_at)).toBeGreaterThan(Date.now() - 60_000);
    const two = await get('/api/stats/slots/slot-002');
    expect(two.last_success_at).toBeNull();
    expect(two.last_error).toMatchObject({ outcome: 'provider_error' });
    const storage = await get('/api/stats/storage');
    expect(storage.media_bytes.results).toBeGreaterThan(photo.length);
    expect(storage.media_bytes.payloads).toBe(0);
    expect(storage.disk.free_bytes).toBeGreaterThan(0);
    expect(storage.disk.total_bytes).toBeGreaterThanOrEqual(storage.disk.free_bytes);
  });

  it('keeps a flood of refusals bounded while the counts stay exact', async () => {
    const before = (await get('/api/stats/global')).totals.rejections.slot_not_found ?? 0;
    const flood = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        boothPost(server, `slot-${900 + i}`, '127.0.0.4', [{ name: 'password', value: 'x' }, file()]),
      ),
    );
    expect(flood.every((r) => r.status === 404)).toBe(true);
    await server.rejections.flush();
    const { refusals } = await get('/api/stats/refusals?limit=200');
    expect(refusals.filter((r: { client_address: string }) => r.client_address === '127.0.0.4')).toHaveLength(
      SAMPLES_PER_CLIENT,
    );
    expect((await get('/api/stats/global')).totals.rejections.slot_not_found).toBe(before + 30);
    // The table keeps the newest rows only.
    await server.database.db
      .insertInto('ingest_refusal')
      .values(
        Array.from({ length: KEEP_SAMPLES + 20 }, () => ({
          occurred_at: new Date(Date.now() - 3_600_000),
          slot_id: 'slot-001',
          status: 404,
          code: 'slot_not_found',
          client_address: '127.0.0.9',
        })),
      )
      .execute();
    expect((await boothPost(server, 'slot-098', '127.0.0.5', [{ name: 'password', value: 'x' }, file()])).status).toBe(
      404,
    );
    await server.rejections.flush();
    const kept = await server.database.db
      .selectFrom('ingest_refusal')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(kept.n)).toBe(KEEP_SAMPLES);
    expect((await get('/api/stats/refusals?limit=1')).refusals[0].client_address).toBe('127.0.0.5');
  });

  it('a NUL in the slot asked for is kept without it, and the statistics go on being written', async () => {
    const nul = await rawPost(
      server.url,
      '/ingest/slot-%00x',
      Buffer.from('x'),
      { 'Content-Type': 'text/plain' },
      { localAddress: '127.0.0.6' },
    );
    expect(nul.status).toBe(404);
    await server.rejections.flush();
    const { refusals } = await get('/api/stats/refusals?limit=1');
    expect(refusals[0]).toMatchObject({ client_address: '127.0.0.6', slot_id: 'slot-x', code: 'slot_not_found' });
    expect((await fetch(`${server.url}/api/stats/refusals?slot_id=%00`, { headers: auth })).status).toBe(400);
  });

  it('strangers from many addresses are sampled per minute, and never push a working booth down the list', async () => {
    const before = Number(
      (
        await server.database.db
          .selectFrom('ingest_refusal')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('client_address', 'like', '127.0.4.%')
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(before).toBe(0);
    const flood = [];
    for (let i = 0; i < 150; i++) {
      flood.push(
        boothPost(server, 'slot-097', `127.0.4.${i + 1}`, [
          { name: 'name', value: `fake-${i}` },
          { name: 'password', value: 'x' },
          file(),
        ]),
      );
    }
    expect((await Promise.all(flood)).every((r) => r.status === 404)).toBe(true);
    await server.rejections.flush();
    const kept = Number(
      (
        await server.database.db
          .selectFrom('ingest_refusal')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('client_address', 'like', '127.0.4.%')
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(SAMPLES_PER_MINUTE);
    const { booths } = await get('/api/stats/booths');
    expect(booths[0]).toMatchObject({ address: '127.0.0.2', name: 'Booth A' });
  });

  it('needs stats:read', async () => {
    for (const url of ['/api/stats/refusals', '/api/stats/booths', '/api/stats/storage']) {
      expect((await fetch(`${server.url}${url}`, { headers: authHeader(server, ['slots:read']) })).status).toBe(403);
      expect((await fetch(`${server.url}${url}`)).status).toBe(401);
    }
  });
});
