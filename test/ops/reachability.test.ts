import http from 'node:http';
import QRCode from 'qrcode';
import { GUEST_QR_LOCAL_ONLY, shortJobId } from '../../src/media/guest-qr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { lanAddresses, PublicAddress, type InterfaceLister } from '../../src/ops/public-address.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** A booth PC's view of the server's machine: one LAN interface (never contacted: only 127.0.0.1 is). */
const LAN: InterfaceLister = () => ({
  lo: [
    {
      address: '127.0.0.1',
      netmask: '255.0.0.0',
      family: 'IPv4',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '127.0.0.1/8',
    },
  ],
  eth0: [
    {
      address: 'fe80::1',
      netmask: 'ffff:ffff:ffff:ffff::',
      family: 'IPv6',
      mac: '02:00:00:00:00:01',
      internal: false,
      cidr: 'fe80::1/64',
      scopeid: 2,
    },
    {
      address: '203.0.113.7',
      netmask: '255.255.255.0',
      family: 'IPv4',
      mac: '02:00:00:00:00:01',
      internal: false,
      cidr: '203.0.113.7/24',
    },
  ],
  wlan0: [
    {
      address: '192.168.1.20',
      netmask: '255.255.255.0',
      family: 'IPv4',
      mac: '02:00:00:00:00:02',
      internal: false,
      cidr: '192.168.1.20/24',
    },
  ],
});

/** A GET whose Host header is exactly `host` (a client can put anything there). */
function getWithHost(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...headers, host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('reachable by booths and guests', () => {
  it('listens on all interfaces by default; PHOTOCHANGER_PUBLIC_BASE_URL is validated', () => {
    expect(loadConfig({}).host).toBe('0.0.0.0');
    const bad = (value: string) => {
      try {
        loadConfig({ PHOTOCHANGER_PUBLIC_BASE_URL: value });
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.join(' ');
      }
    };
    expect(bad('https://https://booth.example.com')).toContain('repeats the scheme');
    expect(bad('http://http://booth.example.com')).toContain('repeats the scheme');
    expect(bad('booth.example.com')).toContain('not an absolute http(s) URL');
    expect(bad('ftp://booth.example.com')).toContain('must start with http:// or https://');
    expect(bad('https://admin:secret@booth.example.com')).toContain('user name or password');
    expect(bad('https://booth.example.com/?x=1')).toContain('query');
    expect(loadConfig({ PHOTOCHANGER_PUBLIC_BASE_URL: 'https://booth.example.com/' }).publicBaseUrl).toBe(
      'https://booth.example.com',
    );
    expect(loadConfig({ PHOTOCHANGER_PUBLIC_BASE_URL: 'https://Booth.Example.com/pc/' }).publicBaseUrl).toBe(
      'https://booth.example.com/pc',
    );
    const warnings: string[] = [];
    loadConfig({ PHOTOCHANGER_PUBLIC_BASE_URL: 'http://127.0.0.1:8000' }, { warn: (w) => warnings.push(w) });
    expect(warnings.join(' ')).toContain('loopback');
  });

  it('behind a proxy: a loopback listener without PHOTOCHANGER_TRUST_PROXY, or a hop count on an open listener, is warned about', () => {
    const warningsFor = (env: Record<string, string>) => {
      const warnings: string[] = [];
      loadConfig(env, { warn: (w) => warnings.push(w) });
      return warnings.join(' ');
    };
    const proxied = { PHOTOCHANGER_HOST: '127.0.0.1', PHOTOCHANGER_PUBLIC_BASE_URL: 'https://booth.example.com' };
    expect(warningsFor(proxied)).toContain('set PHOTOCHANGER_TRUST_PROXY=loopback');
    expect(warningsFor({ ...proxied, PHOTOCHANGER_TRUST_PROXY: 'loopback' })).toBe('');
    expect(warningsFor({ PHOTOCHANGER_TRUST_PROXY: '1' })).toContain(
      'a client that connects directly can choose its own address',
    );
    expect(warningsFor({ PHOTOCHANGER_HOST: '127.0.0.1', PHOTOCHANGER_TRUST_PROXY: '1' })).toBe('');
  });

  it('the public base: configured, else the first private LAN address (never loopback or link-local), else none', () => {
    expect(lanAddresses(LAN)).toEqual(['192.168.1.20', '203.0.113.7']);
    const lan = new PublicAddress({ publicBaseUrl: undefined, host: '0.0.0.0', port: 8000 }, LAN);
    expect(lan.base()).toEqual({ url: 'http://192.168.1.20:8000', source: 'lan' });
    expect(
      new PublicAddress({ publicBaseUrl: 'https://booth.example.com', host: '0.0.0.0', port: 8000 }, LAN).base(),
    ).toEqual({ url: 'https://booth.example.com', source: 'configured' });
    expect(new PublicAddress({ publicBaseUrl: undefined, host: '127.0.0.1', port: 8000 }, LAN).base()).toEqual({
      url: undefined,
      source: 'none',
    });
    expect(
      new PublicAddress({ publicBaseUrl: undefined, host: '0.0.0.0', port: 8000 }, () => ({ lo: LAN().lo })).base()
        .source,
    ).toBe('none');
    expect(new PublicAddress({ publicBaseUrl: undefined, host: '192.168.1.20', port: 8000 }, LAN).base().url).toBe(
      'http://192.168.1.20:8000',
    );
  });

  describe('a server on all interfaces without a public URL', () => {
    let server: TestServer;
    const banner: string[] = [];
    let port: number;
    beforeAll(async () => {
      server = await startTestServer({
        env: { PHOTOCHANGER_HOST: '0.0.0.0' },
        networkInterfaces: LAN,
        announce: (t) => banner.push(t),
      });
      port = Number(new URL(server.url).port);
    });
    afterAll(async () => server?.close());

    it('prints the booth URL of every LAN address at start', () => {
      const text = banner.join('\n');
      expect(text).toContain(`http://192.168.1.20:${port}/ingest/slot-001`);
      expect(text).toContain(`http://203.0.113.7:${port}/ingest/slot-001`);
      expect(text).not.toMatch(/127\.0\.0\.1|0\.0\.0\.0/);
      expect(text).toContain('No public address is set');
    });

    it('admins see booth URLs on the LAN address whatever Host the request carried, and a warning', async () => {
      const res = await getWithHost(`http://127.0.0.1:${port}/api/slots`, 'evil.example', authHeader(server));
      const body = JSON.parse(res.body);
      expect(body.slots[0].ingest_url).toBe(`http://192.168.1.20:${port}/ingest/slot-001`);
      expect(body.public_base).toEqual({ url: `http://192.168.1.20:${port}`, source: 'lan' });
    });

    it('a share link of the gallery is on the LAN address and says so', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/gallery/shares`, {
        method: 'POST',
        headers: { ...authHeader(server), 'content-type': 'application/json' },
        body: JSON.stringify({ slot_ids: ['slot-001'] }),
      });
      expect(res.status).toBe(201);
      const share = await jsonOf(res);
      expect(share.url).toBe(`http://192.168.1.20:${port}${share.path}`);
      expect(share.public_base_source).toBe('lan');
    });

    it('a print asking for the guest QR code gets the LAN address, and its job says phones on this network only', async () => {
      await server.database.db
        .updateTable('slot')
        .set({ settings: JSON.stringify({ output: { guest_link: { enabled: true } } }) as never })
        .where('id', '=', 'slot-002')
        .execute();
      const ingest = await postIngest(`http://127.0.0.1:${port}`, 'slot-002', {
        password: TEST_INGEST_PASSWORD,
        file: await jpegBytes(600, 400),
      });
      expect(ingest.status).toBe(200);
      const job = await jsonOf(
        await fetch(`http://127.0.0.1:${port}/api/jobs/${ingest.headers.get('x-job-id')}`, {
          headers: authHeader(server),
        }),
      );
      expect(job.notices).toEqual([GUEST_QR_LOCAL_ONLY]);
      const slot = await jsonOf(
        await fetch(`http://127.0.0.1:${port}/api/slots/slot-002`, { headers: authHeader(server) }),
      );
      expect(slot.guest_qr).toMatchObject({ state: 'local_only', base_url: `http://192.168.1.20:${port}` });
    });

    it('no guest link or QR code is built on the Host header (evil.example) or on a loopback host', async () => {
      const ingest = await postIngest(`http://127.0.0.1:${port}`, 'slot-001', {
        password: TEST_INGEST_PASSWORD,
        file: await jpegBytes(),
      });
      expect(ingest.status).toBe(200);
      const id = ingest.headers.get('x-job-id')!;
      const job = JSON.parse(
        (await getWithHost(`http://127.0.0.1:${port}/api/jobs/${id}`, 'evil.example', authHeader(server))).body,
      );
      expect(job.result.guest_link).toBe(`http://192.168.1.20:${port}/r/${shortJobId(id)}`);
      expect(job.result.public_base_source).toBe('lan');
      const qr = await getWithHost(`http://127.0.0.1:${port}/r/${id}/qr.svg`, 'evil.example');
      expect(qr.status).toBe(200);
      expect(qr.headers['cache-control']).toBe('private, max-age=3600');
      const svg = qr.body;
      // The QR encodes exactly the LAN link (the same text gives the same SVG), not the Host header's.
      expect(svg).toBe(
        await QRCode.toString(`http://192.168.1.20:${port}/r/${shortJobId(id)}`, {
          type: 'svg',
          margin: 1,
          errorCorrectionLevel: 'M',
        }),
      );
      expect(svg).not.toBe(
        await QRCode.toString(`http://evil.example/r/${shortJobId(id)}`, {
          type: 'svg',
          margin: 1,
          errorCorrectionLevel: 'M',
        }),
      );
    });
  });

  describe('a server on 127.0.0.1 only (behind a proxy) without a public URL', () => {
    let server: TestServer;
    const banner: string[] = [];
    beforeAll(async () => {
      server = await startTestServer({ networkInterfaces: LAN, announce: (t) => banner.push(t) });
    });
    afterAll(async () => server?.close());

    it('says so at start, and refuses to build a guest QR code', async () => {
      expect(banner.join('\n')).toContain('It listens on 127.0.0.1 only');
      const ingest = await postIngest(server.url, 'slot-001', {
        password: TEST_INGEST_PASSWORD,
        file: await jpegBytes(),
      });
      const id = ingest.headers.get('x-job-id')!;
      const qr = await fetch(`${server.url}/r/${id}/qr.svg`);
      expect(qr.status).toBe(503);
      expect((await jsonOf(qr)).error.code).toBe('public_url_missing');
      const job = await jsonOf(await fetch(`${server.url}/api/jobs/${id}`, { headers: authHeader(server) }));
      expect(job.result.guest_link).toBeNull();
    });
  });
});
