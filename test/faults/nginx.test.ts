import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { createEmptyDatabase } from '../support/db.js';
import { jpegBytes, multipartBody, postIngest, rawPost } from '../support/http.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** An HTTPS request to the proxy (self-signed certificate). */
function tlsRequest(
  port: number,
  pathName: string,
  method = 'GET',
  body?: { data: Buffer; contentType: string },
  localAddress?: string,
): Promise<{ status: number; type: string; hsts?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        ...(localAddress ? { localAddress } : {}),
        port,
        path: pathName,
        method,
        rejectUnauthorized: false,
        headers: body ? { 'content-type': body.contentType, 'content-length': body.data.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            hsts: res.headers['strict-transport-security'],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body?.data);
  });
}

/**
 * The shipped nginx configurations, as they are, in front of PhotoChanger: deploy/nginx.conf
 * (two instances sharing one database and one media root) and deploy/nginx-single.conf (one
 * instance, Let's Encrypt paths). Only the addresses and the certificate are replaced.
 */
describe.each([
  { file: 'deploy/nginx.conf', instances: 2 },
  { file: 'deploy/nginx-single.conf', instances: 1 },
])('$file in front of $instances instance(s)', ({ file, instances }) => {
  let dir: string;
  let database: { url: string; drop(): Promise<void> };
  const servers: TestServer[] = [];
  let nginx: ChildProcess;
  let plainUrl: string;
  let tlsPort: number;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-nginx-'));
    database = await createEmptyDatabase();
    const media = path.join(dir, 'media');
    // Ten booths here come from one test address (through nginx): its share of the queue is the whole cap.
    // Configured as docs/booth-setup.md says behind nginx on the same machine (TRUST_PROXY=loopback).
    for (let i = 0; i < instances; i++) {
      servers.push(
        await startTestServer({
          databaseUrl: database.url,
          env: {
            PHOTOCHANGER_MEDIA_ROOT: media,
            PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS: '12',
            PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '12',
            PHOTOCHANGER_TRUST_PROXY: 'loopback',
          },
        }),
      );
    }
    const ports = servers.map((s) => new URL(s.url).port);
    const plain = await freePort();
    tlsPort = await freePort();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const shipped = await fs.readFile(file, 'utf8');
    let site = shipped
      .replace('server 127.0.0.1:8000', `server 127.0.0.1:${ports[0]}`)
      .replace('listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
      .replace('listen 80;', `listen 127.0.0.1:${plain};`)
      .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${path.join(dir, 'cert.pem')};`)
      .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${path.join(dir, 'key.pem')};`)
      .replace('root /var/www/certbot;', `root ${dir}/webroot;`)
      .replaceAll('access_log /var/log/nginx/photochanger.access.log', `access_log ${dir}/access.log`);
    if (ports[1]) site = site.replace('server 127.0.0.1:8001', `server 127.0.0.1:${ports[1]}`);
    expect(
      site
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n'),
    ).not.toMatch(/:800[01]\b/);
    await fs.mkdir(path.join(dir, 'webroot', '.well-known', 'acme-challenge'), { recursive: true });
    await fs.writeFile(path.join(dir, 'webroot', '.well-known', 'acme-challenge', 'token-1'), 'challenge-answer');
    await fs.writeFile(path.join(dir, 'site.conf'), site);
    await fs.writeFile(
      path.join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/site.conf;\n}\n`,
    );
    nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off; user root;'], {
      stdio: 'inherit',
    });
    plainUrl = `http://127.0.0.1:${plain}`;
    const until = Date.now() + 10_000;
    for (;;) {
      const ok = await tlsRequest(tlsPort, '/healthz').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > until)
        throw new Error(
          `nginx did not start: ${await fs.readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    for (const s of servers.splice(0)) await s.close();
    await database?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('booth uploads through nginx are answered (by every instance), over HTTP and HTTPS', async () => {
    const photo = await jpegBytes(320, 240);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        postIngest(plainUrl, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const s of servers) expect(s.logLines.some((l) => l.includes('"ingest answered"'))).toBe(true);
    // The guest's links work through the proxy over plain HTTP, whichever instance wrote the result.
    const id = answers[0]!.headers.get('x-job-id')!;
    expect((await fetch(`${plainUrl}/public/results/${id}`)).status).toBe(200);
    expect((await fetch(`${plainUrl}/r/${id}`)).status).toBe(200);
    // Booths moved from the previous system keep their /api/ingest/ URL, over plain HTTP too.
    const form = new FormData();
    form.append('password', TEST_INGEST_PASSWORD);
    form.append('fileToUpload', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'shot.jpg');
    expect((await fetch(`${plainUrl}/api/ingest/slot-001`, { method: 'POST', body: form })).status).toBe(200);
    // Breeze Booth: the password in the URL. nginx's access log names the path, never the query.
    const breeze = new FormData();
    breeze.append('fileToUpload', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'shot.jpg');
    expect(
      (
        await fetch(`${plainUrl}/ingest/slot-001?style=warm&password=${encodeURIComponent(TEST_INGEST_PASSWORD)}`, {
          method: 'POST',
          body: breeze,
        })
      ).status,
    ).toBe(200);
    const accessLog = await fs.readFile(path.join(dir, 'access.log'), 'utf8');
    expect(accessLog).toContain('"POST /ingest/slot-001 HTTP/1.1" 200');
    expect(accessLog).not.toContain(TEST_INGEST_PASSWORD);
    expect(accessLog).not.toContain('style=warm');

    const tlsForm = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: photo, filename: 'shot.jpg', contentType: 'image/jpeg' },
    ]);
    expect(
      await tlsRequest(tlsPort, '/ingest/slot-001', 'POST', { data: tlsForm.body, contentType: tlsForm.contentType }),
    ).toMatchObject({ status: 200, type: 'image/jpeg' });
  });

  it('plain HTTP carries only the booth and the guests: admin UI, API, docs and metrics are HTTPS-only', async () => {
    for (const p of ['/admin/', '/api/slots', '/api/login', '/docs', '/metrics', '/healthz']) {
      const res = await fetch(`${plainUrl}${p}`, { redirect: 'manual' });
      expect(res.status, p).toBe(301);
      expect(res.headers.get('location'), p).toBe(`https://127.0.0.1${p}`);
    }
    const login = await fetch(`${plainUrl}/api/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"admin","password":"x"}',
    });
    expect(login.status).toBe(301);
    for (const s of servers) expect(s.logLines.some((l) => l.includes('/api/login'))).toBe(false);
    // Over HTTPS the API reference is reached, and asks for an account.
    expect((await tlsRequest(tlsPort, '/docs')).status).toBe(401);
    expect((await tlsRequest(tlsPort, '/api/slots')).status).toBe(401);
    // HSTS comes from nginx on HTTPS, refusals included.
    expect((await tlsRequest(tlsPort, '/api/slots')).hsts).toBe('max-age=31536000');
    if (file.endsWith('single.conf'))
      expect(await (await fetch(`${plainUrl}/.well-known/acme-challenge/token-1`)).text()).toBe('challenge-answer');
  });

  it('an oversized upload is refused by PhotoChanger through the proxy (streamed, not spooled): 413', async () => {
    await servers[0]!.database.db
      .updateTable('slot')
      .set({ max_upload_bytes: 100_000 })
      .where('id', '=', 'slot-002')
      .execute();
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    const res = await postIngest(plainUrl, 'slot-002', {
      password: TEST_INGEST_PASSWORD,
      file: Buffer.concat([await jpegBytes(8, 8), big]),
    }).catch((e: unknown) => e);
    // nginx relays PhotoChanger's 413 (or the connection closes as the server stops reading).
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(res).toBeInstanceOf(Error);
    expect(await fs.readdir(path.join(dir, 'body')).catch(() => [])).toEqual([]);
  });

  it('one address can neither hold more than 128 requests at once nor flood them (limit_conn, limit_req); another address is served meanwhile', async () => {
    // 134 logins from one address whose bodies stall: nginx holds 128, refuses the rest at once.
    const sockets: tls.TLSSocket[] = [];
    const firstAnswers = Array.from(
      { length: 134 },
      () =>
        new Promise<string>((resolve) => {
          const tcp = net.connect({ host: '127.0.0.1', port: tlsPort, localAddress: '127.0.0.5' });
          const socket = tls.connect({ socket: tcp, rejectUnauthorized: false }, () => {
            socket.write(
              'POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
            );
          });
          sockets.push(socket);
          let answer = '';
          socket.on('data', (d: Buffer) => (answer += d.toString()));
          socket.on('error', () => undefined);
          setTimeout(() => resolve(answer.slice(0, 12)), 3000);
        }),
    );
    const heldAt = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    // Meanwhile a booth at another address is answered, and the flooding address gets nothing more.
    const form = multipartBody([
      { name: 'password', value: TEST_INGEST_PASSWORD },
      { name: 'fileToUpload', value: await jpegBytes(320, 240), filename: 'shot.jpg', contentType: 'image/jpeg' },
    ]);
    const booth = await rawPost(
      plainUrl,
      '/ingest/slot-001',
      form.body,
      { 'Content-Type': form.contentType },
      { localAddress: '127.0.0.6' },
    );
    expect(booth.status).toBe(200);
    expect((await tlsRequest(tlsPort, '/healthz', 'GET', undefined, '127.0.0.5')).status).toBe(429);
    const answers = await Promise.all(firstAnswers);
    expect(Date.now() - heldAt).toBeLessThan(10_000); // all within the app's body timeout: none was answered by it
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 429'))).toHaveLength(6);
    expect(answers.filter((a) => a === '')).toHaveLength(128);
    for (const s of sockets) s.destroy();

    // A request flood from one address: the burst (a gallery's thumbnails) passes, the rest is refused.
    const statuses: number[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const got = await Promise.all(
        Array.from({ length: 50 }, () =>
          tlsRequest(tlsPort, '/healthz', 'GET', undefined, '127.0.0.7').then((r) => r.status),
        ),
      );
      statuses.push(...got);
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(200);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect((await tlsRequest(tlsPort, '/healthz', 'GET', undefined, '127.0.0.8')).status).toBe(200);
  });
});
