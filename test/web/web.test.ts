import QRCode from 'qrcode';
import { shortJobId } from '../../src/media/guest-qr.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { jpegBytes, postIngest } from '../support/http.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('guest result page and admin UI serving', () => {
  const clock = new ManualClock();
  let server: TestServer;
  let webRoot: string;
  let jobId: string;

  beforeAll(async () => {
    webRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-web-'));
    await fs.mkdir(path.join(webRoot, 'assets'));
    await fs.writeFile(
      path.join(webRoot, 'index.html'),
      '<!doctype html><title>PhotoChanger admin</title><div id="app"></div>',
    );
    await fs.writeFile(path.join(webRoot, 'assets', 'index-abc123.js'), 'console.log(1)');
    server = await startTestServer({
      clock,
      webRoot,
      env: { PHOTOCHANGER_PUBLIC_BASE_URL: 'https://booth.example.com' },
    });
    const res = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(200, 100),
    });
    jobId = res.headers.get('x-job-id')!;
  });
  afterAll(async () => {
    await server.close();
    await fs.rm(webRoot, { recursive: true, force: true });
  });

  it('shows the guest the image, a download button and the time left, in Russian by default', async () => {
    const res = await fetch(`${server.url}/r/${jobId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain(`src="/public/results/${jobId}"`);
    // Saved under a name that says when and which slot (sorts by time in a folder).
    expect(html).toMatch(new RegExp(`download="\\d{8}-\\d{6}Z_slot-\\d{3}_${jobId.slice(0, 8)}\\.jpg"`));
    expect(html).toContain(`href="/public/results/${jobId}?download=1"`);
    expect(html).toContain('Скачать фото');
    expect(html).toContain('Поделиться');
    expect(html).toContain('<script src="/public/guest.js" defer></script>');
    expect(html).toContain('Фото будет доступно ещё 3 дня');
    const download = await fetch(`${server.url}/public/results/${jobId}?download=1`);
    expect(download.headers.get('content-disposition')).toMatch(
      /^attachment; filename="\d{8}-\d{6}Z_slot-\d{3}_[0-9a-f]{8}\.jpg"$/,
    );
    const script = await fetch(`${server.url}/public/guest.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('navigator.canShare');
  });

  it('speaks English to an English browser or with ?lang=en', async () => {
    const byHeader = await (
      await fetch(`${server.url}/r/${jobId}`, { headers: { 'accept-language': 'en-US,en;q=0.9,ru;q=0.5' } })
    ).text();
    expect(byHeader).toContain('Download the photo');
    const byQuery = await (
      await fetch(`${server.url}/r/${jobId}?lang=en`, { headers: { 'accept-language': 'ru' } })
    ).text();
    expect(byQuery).toContain('<html lang="en">');
  });

  it('404 page for an unknown id, a QR code of the link', async () => {
    const res = await fetch(`${server.url}/r/00000000-0000-4000-8000-000000000000`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Фото не найдено');
    const qr = await fetch(`${server.url}/r/${jobId}/qr.svg`);
    expect(qr.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await qr.text()).toBe(
      await QRCode.toString(`https://booth.example.com/r/${shortJobId(jobId)}`, {
        type: 'svg',
        margin: 1,
        errorCorrectionLevel: 'M',
      }),
    );
    // The short form printed in QR codes opens the same page.
    const short = await fetch(`${server.url}/r/${shortJobId(jobId)}`);
    expect(short.status).toBe(200);
    expect(await short.text()).toContain(`src="/public/results/${jobId}"`);
    expect((await fetch(`${server.url}/r/not-a-valid-ref`)).status).toBe(404);
  });

  it('a friendly 410 page once the result expired (72 h)', async () => {
    clock.advance(72 * 3600 * 1000 + 1000);
    const res = await fetch(`${server.url}/r/${jobId}?lang=en`);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('This photo has expired');
    expect((await fetch(`${server.url}/public/results/${jobId}`)).status).toBe(410);
  });

  it('serves the admin UI at /admin/ (SPA fallback, long cache for hashed assets) and redirects / to it', async () => {
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/admin/');
    const index = await fetch(`${server.url}/admin/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('PhotoChanger admin');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const deep = await fetch(`${server.url}/admin/slots/slot-001`);
    expect(await deep.text()).toContain('PhotoChanger admin');
    const asset = await fetch(`${server.url}/admin/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });
});
