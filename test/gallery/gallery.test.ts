import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import jsQRModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { ManualClock } from '../../src/clock.js';
import { jobIdOfGuestRef, shortJobId } from '../../src/media/guest-qr.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const PUBLIC = 'https://photos.example.com';
// jsqr is CommonJS whose types declare an ES default export.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/** A photo with detail (busy texture, the same every run), as a camera would send, not a flat colour. */
async function photo(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (Math.sin(i / 97) * 70 + 128 + (((i * 2654435761) >>> 24) % 50)) | 0;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The text of the QR code in the quarter of the photo a guest points the phone at, from its pixels. */
async function decodeQr(
  bytes: Buffer,
  corner: 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left' = 'bottom-right',
): Promise<string | undefined> {
  const meta = await sharp(bytes).metadata();
  const width = Math.floor(meta.width! / 2);
  const height = Math.floor(meta.height! / 2);
  const region = {
    left: corner.endsWith('right') ? meta.width! - width : 0,
    top: corner.startsWith('bottom') ? meta.height! - height : 0,
    width,
    height,
  };
  const { data, info } = await sharp(bytes).extract(region).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data;
}

/** Every entry of a ZIP: name → bytes. */
function unzip(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('guests and the gallery', () => {
  // Relative to now, not a fixed date: the export CLI (a child process) reads the real clock, and
  // results made on this clock must still be within their retention for it. The tests move this
  // clock ahead by about 73 h in all, so it starts 100 h in the past.
  const clock = new ManualClock(Date.now() - 100 * 3600_000);
  let server: TestServer;
  const put = async (id: string, body: Record<string, unknown>) => {
    const current = await fetch(`${server.url}/api/slots/${id}`, { headers: authHeader(server) });
    return fetch(`${server.url}/api/slots/${id}`, {
      method: 'PUT',
      headers: { ...authHeader(server), 'content-type': 'application/json', 'if-match': current.headers.get('etag')! },
      body: JSON.stringify({
        name: id,
        enabled: true,
        max_upload_bytes: null,
        provider: 'local',
        operation: 'neutral',
        ...body,
      }),
    });
  };
  const shoot = async (slot: string, file: Buffer, extra?: Record<string, string>) => {
    const res = await postIngest(server.url, slot, { password: TEST_INGEST_PASSWORD, file, extra });
    expect(res.status).toBe(200);
    clock.advance(1000);
    return { id: res.headers.get('x-job-id')!, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${server.url}${p}`, {
      ...init,
      headers: { ...authHeader(server), ...(init.headers as Record<string, string>) },
    });
  const jobRow = (id: string) =>
    server.database.db
      .selectFrom('job')
      .select(['thumb_path', 'result_path'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  beforeAll(async () => {
    server = await startTestServer({ clock, env: { PHOTOCHANGER_PUBLIC_BASE_URL: PUBLIC } });
  });
  afterAll(async () => server?.close());

  it('prints a QR code of the guest page on the returned photo; the decoded link opens the same photo', async () => {
    expect(
      (await put('slot-002', { settings: { output: { guest_link: { enabled: true, caption: 'Скачать фото' } } } }))
        .status,
    ).toBe(200);
    const { id, bytes } = await shoot('slot-002', await photo(2400, 1600));
    const text = await decodeQr(bytes);
    expect(text).toMatch(new RegExp(`^${PUBLIC}/r/[A-Za-z0-9_-]{22}$`));
    expect(jobIdOfGuestRef(text!.split('/r/')[1]!)).toBe(id);
    // The link, opened on this server, is the guest page of exactly the bytes the booth printed.
    const page = await fetch(`${server.url}${new URL(text!).pathname}`);
    expect(page.status).toBe(200);
    const src = /<img class="photo" src="([^"]+)"/.exec(await page.text())![1]!;
    expect(Buffer.from(await (await fetch(`${server.url}${src}`)).arrayBuffer()).equals(bytes)).toBe(true);
    // Other corners and a dark plate decode too; without guest_link there is no code.
    await put('slot-002', {
      settings: { output: { guest_link: { enabled: true, position: 'top-left', plate: 'dark', size_percent: 12 } } },
    });
    expect(await decodeQr((await shoot('slot-002', await photo(1800, 1200))).bytes, 'top-left')).toMatch(
      /\/r\/[A-Za-z0-9_-]{22}$/,
    );
    await put('slot-002', { settings: {} });
    expect(await decodeQr((await shoot('slot-002', await photo(1800, 1200))).bytes)).toBeUndefined();
  });

  it('writes a thumbnail with each result and removes it with the result', async () => {
    const { id } = await shoot('slot-003', await jpegBytes(1200, 800));
    let row = await jobRow(id);
    // Made once the booths have been quiet for a second (src/gallery/thumbnails.ts).
    for (let i = 0; i < 150 && !row.thumb_path; i++) {
      await new Promise((r) => setTimeout(r, 20));
      row = await jobRow(id);
    }
    expect(row.thumb_path).toMatch(/thumbs\/[0-9a-f-]{36}\.webp$/);
    const meta = await sharp(await fs.readFile(row.thumb_path!)).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width!, meta.height!)).toBe(320);
    const thumb = await api(`/api/gallery/${id}/thumb`);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    // Lost (a crash before it was written): made again on demand, once for many requests at a time.
    await fs.rm(row.thumb_path!);
    await server.database.db.updateTable('job').set({ thumb_path: null }).where('id', '=', id).execute();
    const many = await Promise.all(
      Array.from({ length: 12 }, () =>
        api(`/api/gallery/${id}/thumb`).then(async (r) => ({
          status: r.status,
          bytes: Buffer.from(await r.arrayBuffer()),
        })),
      ),
    );
    expect(many.every((r) => r.status === 200 && r.bytes.equals(many[0]!.bytes))).toBe(true);
    expect((await jobRow(id)).thumb_path).toBe(row.thumb_path);
    expect(await fs.readdir(path.dirname(row.thumb_path!))).not.toContainEqual(expect.stringContaining('partial'));
    // Retention ends: the cleanup takes the result and its thumbnail; the guest page says 410.
    const thumbPath = row.thumb_path!;
    const resultPath = row.result_path!;
    clock.advance(73 * 3600_000);
    const purge = await jsonOf(await api('/api/media/cache/purge', { method: 'POST' }));
    expect(purge.deleted.results).toBeGreaterThanOrEqual(1);
    await expect(fs.stat(thumbPath)).rejects.toThrow();
    await expect(fs.stat(resultPath)).rejects.toThrow();
    expect((await jobRow(id)).thumb_path).toBeNull();
    expect((await api(`/api/gallery/${id}/thumb`)).status).toBe(404);
  });

  it('pages the gallery newest first without repeats, by slot and outcome, with the booth fields', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await shoot('slot-005', await jpegBytes(300, 200), { name: 'Booth A', user_id: `guest-${i}` })).id);
    const other = (await shoot('slot-006', await jpegBytes(300, 200))).id;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await jsonOf(
        await api(`/api/gallery?slot_id=slot-005&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const first = await jsonOf(await api('/api/gallery?limit=1'));
    expect(first.items[0]).toMatchObject({
      id: other,
      slot_id: 'slot-006',
      outcome: 'succeeded',
      thumb_url: `/api/gallery/${other}/thumb`,
    });
    const both = await jsonOf(await api('/api/gallery?slot_id=slot-005&slot_id=slot-006&limit=50'));
    expect(both.items).toHaveLength(6);
    const one = both.items.find((i: { id: string }) => i.id === ids[2]);
    expect(one.fields).toMatchObject({ name: 'Booth A', user_id: 'guest-2' });
    expect(one.file_name).toMatch(/^\d{8}-\d{6}Z_slot-005_[0-9a-f]{8}\.jpg$/);
    const image = await api(`${one.download_url}`);
    expect(image.headers.get('content-disposition')).toBe(`attachment; filename="${one.file_name}"`);
    expect((await jsonOf(await api('/api/gallery?outcome=failed&slot_id=slot-005'))).items).toHaveLength(0);
    expect((await api('/api/gallery?cursor=garbage')).status).toBe(400);
    // The slot list shows each slot's newest result.
    const slots = await jsonOf(await api('/api/slots'));
    expect(slots.last_results['slot-005'].id).toBe(ids[4]);
    expect(slots.last_results['slot-006'].id).toBe(other);
  });

  it('exports a slot as a streamed ZIP whose entries are the results byte for byte, in time order', async () => {
    const shots = [];
    for (let i = 0; i < 3; i++) shots.push(await shoot('slot-007', await photo(400 + i * 10, 300)));
    const res = await api('/api/gallery/export.zip?slot_id=slot-007');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="photochanger_slot-007_\d{4}-\d{2}-\d{2}\.zip"$/,
    );
    const entries = await unzip(Buffer.from(await res.arrayBuffer()));
    const names = [...entries.keys()];
    expect(names).toHaveLength(3);
    expect([...names].sort()).toEqual(names);
    shots.forEach((shot, i) => {
      expect(names[i]).toContain(`_slot-007_${shot.id.slice(0, 8)}.jpg`);
      expect(entries.get(names[i]!)!.equals(shot.bytes)).toBe(true);
    });
    // A time range narrows it; another slot is not in it.
    const since = new Date(clock.now().getTime() - 1500).toISOString();
    const late = await unzip(
      Buffer.from(
        await (await api(`/api/gallery/export.zip?slot_id=slot-007&from=${encodeURIComponent(since)}`)).arrayBuffer(),
      ),
    );
    expect([...late.keys()]).toEqual([names[2]]);
    // The same archive from the server's command line.
    const out = path.join(server.dataDir, 'event.zip');
    const cli = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/export.ts', '--slot', 'slot-007', '--out', out],
      { env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATABASE_URL: server.databaseUrl } },
    );
    expect(cli.stdout).toContain(`3 photos written to ${out}`);
    const fromCli = await unzip(await fs.readFile(out));
    expect([...fromCli.keys()]).toEqual(names);
    for (const name of names) expect(fromCli.get(name)!.equals(entries.get(name)!)).toBe(true);
    expect((await fs.readdir(server.dataDir)).filter((n) => n.includes('partial'))).toEqual([]);
    // An existing archive is not replaced unless asked.
    const again = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/export.ts', '--slot', 'slot-007', '--out', out],
      { env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATABASE_URL: server.databaseUrl } },
    ).catch((e: { stderr: string; code: number }) => e);
    expect((again as { code: number }).code).toBe(1);
    expect((again as { stderr: string }).stderr).toContain('exists; choose another name or add --force');
    const bad = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/export.ts', '--since', 'yesterday', '--out', out],
      { env: { PATH: process.env.PATH ?? '' } },
    ).catch((e: { stderr: string; code: number }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain('--since is not a date-time: yesterday');
  });

  it('shares chosen slots with guests: only those, from its start, until revoked or expired', async () => {
    const before = await shoot('slot-008', await jpegBytes(300, 200)); // an earlier event on the slot
    clock.advance(60_000);
    const since = clock.now().toISOString();
    const shared = await shoot('slot-008', await jpegBytes(300, 200));
    const hidden = await shoot('slot-009', await jpegBytes(300, 200));
    // A slot that does not exist is named, not silently shared (red team finding 15).
    const ghost = await api('/api/gallery/shares', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slot_ids: ['slot-008', 'slot-999'] }),
    });
    expect(ghost.status).toBe(422);
    expect((await jsonOf(ghost)).error.details.errors).toEqual([
      { path: '/slot_ids', message: 'slot-999 does not exist' },
    ]);
    const created = await api('/api/gallery/shares', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slot_ids: ['slot-008'], title: 'Свадьба Анны', since }),
    });
    expect(created.status).toBe(201);
    const share = await jsonOf(created);
    expect(share).toMatchObject({
      state: 'active',
      slot_ids: ['slot-008'],
      url: `${PUBLIC}${share.path}`,
      public_base_source: 'configured',
      since,
    });
    expect((await api(share.qr_url)).headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const page = await fetch(`${server.url}${share.path}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Свадьба Анны');
    // One photo: the shared slot's since the share's start, named by the share (not by its job id).
    const refs = [...html.matchAll(/\/t\/([A-Za-z0-9_-]{22})"/g)].map((m) => m[1]!);
    expect(refs).toHaveLength(1);
    const ref = refs[0]!;
    const full = await fetch(`${server.url}${share.path}/i/${ref}`);
    expect(Buffer.from(await full.arrayBuffer()).equals(shared.bytes)).toBe(true);
    for (const id of [shared.id, hidden.id, before.id]) {
      expect(html).not.toContain(id);
      expect(html).not.toContain(shortJobId(id));
      // Another slot's photo, or the slot's earlier event, is not served by its guest-link name either.
      expect((await fetch(`${server.url}${share.path}/i/${shortJobId(id)}`)).status).toBe(404);
    }
    expect(jobIdOfGuestRef(ref)).not.toBe(shared.id);
    expect((await fetch(`${server.url}/r/${ref}`)).status).toBe(404);
    expect((await fetch(`${server.url}${share.path}/p/${ref}?lang=en`)).status).toBe(200);
    // Unknown link: a kind page, not JSON.
    const unknown = await fetch(`${server.url}/g/AAAAAAAAAAAAAAAAAAAAAAAA`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('Галерея не найдена');
    // Revoked: 410 for the page and the files, and its QR code is no longer printed.
    expect((await api(`/api/gallery/shares/${share.id}`, { method: 'DELETE' })).status).toBe(204);
    const revoked = await fetch(`${server.url}${share.path}?lang=en`);
    expect(revoked.status).toBe(410);
    expect(await revoked.text()).toContain('This gallery is closed');
    expect((await fetch(`${server.url}${share.path}/i/${ref}`)).status).toBe(410);
    expect((await api(share.qr_url)).status).toBe(410);
    // Expiry: a link for an hour is closed after it; none may outlive the photos' retention.
    const hour = await jsonOf(
      await api('/api/gallery/shares', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          slot_ids: ['slot-008'],
          expires_at: new Date(clock.now().getTime() + 3600_000).toISOString(),
        }),
      }),
    );
    expect((await fetch(`${server.url}${hour.path}`)).status).toBe(200);
    clock.advance(3601_000);
    expect((await fetch(`${server.url}${hour.path}`)).status).toBe(410);
    const tooLong = await api('/api/gallery/shares', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        slot_ids: ['slot-008'],
        expires_at: new Date(clock.now().getTime() + 80 * 3600_000).toISOString(),
      }),
    });
    expect(tooLong.status).toBe(422);
    const list = await jsonOf(await api('/api/gallery/shares'));
    expect(list.shares.map((s: { state: string }) => s.state).sort()).toEqual(['expired', 'revoked']);
    // The links are for those who may share: a read-only account does not see them.
    expect(
      (await fetch(`${server.url}/api/gallery/shares`, { headers: authHeader(server, ['stats:read', 'slots:read']) }))
        .status,
    ).toBe(403);
  });

  it('rate-limits the public gallery per client address, not for everyone', async () => {
    const share = await jsonOf(
      await api('/api/gallery/shares', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ slot_ids: ['slot-008'] }),
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50, localAddress: '127.0.0.3' });
    const getFrom = (localAddress: string, path: string = share.path) =>
      new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) =>
        http
          .get(`${server.url}${path}`, localAddress === '127.0.0.3' ? { agent } : { localAddress }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }),
            );
          })
          .on('error', reject),
      );
    // Thumbnails of a missing photo (cheap 404s) use up the same budget as the pages (3,000 a minute).
    for (let batch = 0; batch < 62; batch++) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () => getFrom('127.0.0.3', `${share.path}/t/missing`).then((r) => r.status)),
      );
      if (statuses.includes(429)) break;
    }
    const limited = await getFrom('127.0.0.3');
    agent.destroy();
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body).error.code).toBe('too_many_requests');
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    // Another guest (another address) still gets the gallery.
    expect((await getFrom('127.0.0.4')).status).toBe(200);
  });
});
