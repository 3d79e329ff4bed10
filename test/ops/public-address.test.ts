/**
 * The public address as the operator sets it (Settings, no restart) and the one rule every guest
 * QR code follows (src/ops/public-address.ts): without an address guests can reach, a slot that asks
 * for the QR code still saves, says the QR code is left off, and each job records it; with one, the
 * print carries it. The Check fetches <address>/healthz from the server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jsQRModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUEST_QR_LEFT_OFF } from '../../src/media/guest-qr.js';
import { checkPublicAddress } from '../../src/ops/public-address-check.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

describe('the public address in Settings and the guest QR code', () => {
  let server: TestServer;
  const api = (p: string, method = 'GET', body?: unknown) =>
    fetch(`${server.url}${p}`, {
      method,
      headers: { ...authHeader(server), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const shoot = async () => {
    const res = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(900, 600),
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-job-id')!;
    return { id, bytes: Buffer.from(await res.arrayBuffer()), job: await jsonOf(await api(`/api/jobs/${id}`)) };
  };
  const qrOf = async (bytes: Buffer) => {
    const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return jsQR(new Uint8ClampedArray(data), info.width, info.height)?.data;
  };

  beforeAll(async () => {
    // On 127.0.0.1 only: no LAN address either, so nothing guests can reach is known.
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('without one the slot saves and says the QR code is left off, each job records it; saved in Settings, the print carries it', async () => {
    const current = await jsonOf(await api('/api/slots/slot-001'));
    const saved = await api('/api/slots/slot-001', 'PUT', {
      name: current.name,
      enabled: true,
      provider: 'local',
      operation: 'neutral',
      settings: { output: { guest_link: { enabled: true } } },
      max_upload_bytes: null,
      updated_at: current.updated_at,
    });
    expect(saved.status).toBe(200); // no longer refused: the operator's edits are kept
    expect((await jsonOf(saved)).guest_qr).toEqual({
      enabled: true,
      state: 'left_off',
      base_url: null,
      address: 'none',
    });
    const before = await shoot();
    expect(before.job.notices).toEqual([GUEST_QR_LEFT_OFF]);
    expect(await qrOf(before.bytes)).toBeUndefined();

    const settings = await api('/api/settings', 'PUT', { public_base_url: 'https://photos.example.com/' });
    expect(settings.status).toBe(200);
    expect((await jsonOf(settings)).public_address).toEqual({
      saved: 'https://photos.example.com',
      effective: 'https://photos.example.com',
      source: 'settings',
    });
    const slot = await jsonOf(await api('/api/slots/slot-001'));
    expect(slot.guest_qr).toEqual({
      enabled: true,
      state: 'public',
      base_url: 'https://photos.example.com',
      address: 'public',
    });
    const after = await shoot();
    expect(after.job.notices).toEqual([]);
    expect(after.job.result.guest_link).toMatch(/^https:\/\/photos\.example\.com\/r\//);
    expect(await qrOf(after.bytes)).toBe(after.job.result.guest_link);
    const list = await jsonOf(await api('/api/slots'));
    expect(list.public_base).toEqual({ url: 'https://photos.example.com', source: 'configured' });

    // Removed again: back to no address, said the same way everywhere.
    const cleared = await api('/api/settings', 'PUT', { public_base_url: null });
    expect((await jsonOf(cleared)).public_address).toEqual({ saved: null, effective: null, source: 'none' });
    expect((await jsonOf(await api('/api/slots/slot-001'))).guest_qr.state).toBe('left_off');
  });

  it('refuses an address that is not one, naming the field in words; the audit names the field, never the value', async () => {
    for (const bad of [
      'photos.example.com',
      'ftp://x.example',
      'https://user:pw@x.example',
      'https://x.example/?a=1',
    ]) {
      const res = await api('/api/settings', 'PUT', { public_base_url: bad });
      expect(res.status, bad).toBe(422);
      const body = await jsonOf(res);
      expect(body.error.details.errors[0].path).toBe('/public_base_url');
      expect(body.error.details.errors[0].message).toMatch(/^The address /);
    }
    expect((await jsonOf(await api('/api/settings'))).public_address.saved).toBeNull();
  });

  it('Check: PhotoChanger at a private address, nothing there, or something else answering', async () => {
    // This machine itself is never an address for guests: refused in words, like 0.0.0.0.
    for (const url of [server.url, 'http://0.0.0.0:8000', 'http://[::ffff:127.0.0.1]:8000', 'http://localhost.:8000']) {
      const refused = await api('/api/settings/public-address/check', 'POST', { url });
      expect(refused.status, url).toBe(422);
      expect((await jsonOf(refused)).error.details.errors[0].path).toBe('/url');
      expect((await api('/api/settings', 'PUT', { public_base_url: url })).status, url).toBe(422);
    }

    // The server's own fetch, pointed at addresses it cannot really reach from a test: the fetch is
    // redirected to servers on 127.0.0.1 (tests send traffic to 127.0.0.0/8 only).
    const via =
      (target: string): typeof fetch =>
      (input, init) =>
        fetch(String(input).replace(/^https?:\/\/[^/]+/, target), init);
    const ours = await checkPublicAddress('http://192.168.77.1:8000', via(server.url));
    expect(ours.status).toBe('local_only');
    expect(ours.message).toContain('only phones on this network');
    expect((await checkPublicAddress('https://photos.example.com', via(server.url))).status).toBe('reachable');
    const other = http.createServer((_req, res) =>
      res.writeHead(302, { location: 'https://inside.example/secret' }).end(),
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const answered = await checkPublicAddress('https://photos.example.com', via(otherUrl));
      expect(answered.status).toBe('not_photochanger');
      expect(answered.message).toContain('HTTP 302 (a redirect)');
      expect(answered.message).not.toContain('inside.example'); // the remote side's words are not echoed
    } finally {
      await new Promise((r) => other.close(r));
    }
    // The port just closed: nothing listens there now.
    const nothing = await checkPublicAddress('https://photos.example.com', via(otherUrl));
    expect(nothing.status).toBe('unreachable');
    expect(nothing.message).toContain('connection refused');
    expect(nothing.message).toContain('open the address on a phone on mobile data');

    const unset = await jsonOf(await api('/api/settings/public-address/check', 'POST', {}));
    expect(unset.status).toBe('unset');
    const bad = await api('/api/settings/public-address/check', 'POST', { url: 'not a url' });
    expect(bad.status).toBe(422);
  });
});
