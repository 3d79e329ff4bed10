import net from 'node:net';
import { loadConfig } from '../../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, multipartBody, postIngest, rawPost } from '../support/http.js';
import { createScriptedProvider } from '../support/scripted-provider.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** Red team finding 2: one address's idle connections no longer lock every booth out. */
describe('connections per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { PHOTOCHANGER_MAX_CONNECTIONS_PER_ADDRESS: '8' } });
  });
  afterAll(async () => server?.close());

  /** A silent TCP connection from `localAddress`; resolves once open, tells when the server closed it. */
  const idle = (localAddress: string) =>
    new Promise<{ socket: net.Socket; closedByServer: Promise<boolean> }>((resolve) => {
      const u = new URL(server.url);
      const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => {
        const closedByServer = new Promise<boolean>((done) => {
          socket.once('end', () => done(true));
          socket.once('close', () => done(true));
          setTimeout(() => done(false), 1500).unref();
        });
        resolve({ socket, closedByServer });
      });
      socket.on('error', () => undefined);
    });

  it("beyond the cap an address's connections are closed at once; other addresses, and that one once it lets go, are served", async () => {
    const held = await Promise.all(Array.from({ length: 12 }, () => idle('127.0.0.9')));
    const closed = await Promise.all(held.map((h) => h.closedByServer));
    expect(closed.filter(Boolean)).toHaveLength(4);
    // A booth at another address is served meanwhile.
    const photo = await jpegBytes(320, 240);
    const other = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.status);
    expect(other).toBe(200);
    expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
      200,
    );
    // The capped address gets nothing more until it lets go.
    const extra = await idle('127.0.0.9');
    expect(await extra.closedByServer).toBe(true);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await idle('127.0.0.9');
    expect(await again.closedByServer).toBe(false);
    again.socket.destroy();
  });
});

/** Red team finding 3: bodies before authentication are small, and a webhook's is not read for a stranger. */
describe('bodies before authentication', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  /** Headers announcing `length` bytes, then only `send` of them: the answer, if any comes within 2 s. */
  const stalled = (path: string, length: number, send: number, contentType = 'application/json') =>
    new Promise<string>((resolve) => {
      const u = new URL(server.url);
      let answer = '';
      const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress: '127.0.0.12' }, () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`,
        );
        socket.write('x'.repeat(send));
      });
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', () => undefined);
      setTimeout(() => {
        socket.destroy();
        resolve(answer);
      }, 2000);
    });

  it('a login announcing more than 4 KiB is refused at once (413), before its body arrives', async () => {
    expect(await stalled('/api/login', 1024 * 1024, 10)).toMatch(/^HTTP\/1\.1 413/);
    expect(await stalled('/api/login', 5000, 10)).toMatch(/^HTTP\/1\.1 413/);
  });

  it('a Turbotext delivery to an unknown token is answered before its body is read', async () => {
    const answer = await stalled(
      '/webhooks/turbotext/not-a-live-token',
      1024 * 1024,
      10,
      'application/x-www-form-urlencoded',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"ok":true');
  });
});

/**
 * Red team finding 2, the other half: how long a connection may live (short windows configured
 * here; the defaults are checked first).
 */
describe('connection time limits', () => {
  let server: TestServer;
  const scripted = createScriptedProvider();
  beforeAll(async () => {
    server = await startTestServer({
      providers: [scripted],
      env: {
        PHOTOCHANGER_SILENT_CONNECTION_SECONDS: '1',
        PHOTOCHANGER_KEEP_ALIVE_SECONDS: '1',
        PHOTOCHANGER_REQUEST_BODY_TIMEOUT_SECONDS: '2',
      },
    });
    await server.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
  });
  afterAll(async () => server?.close());

  /** A socket from `localAddress` that writes `script` (text, or [delay ms, text] steps); resolves with what came back and when it closed. */
  const session = (script: Array<string | Buffer | [number, string]>, localAddress = '127.0.0.21', giveUpMs = 6000) =>
    new Promise<{ answer: string; closedAfterMs: number | undefined }>((resolve) => {
      const u = new URL(server.url);
      const started = Date.now();
      let answer = '';
      let closedAfterMs: number | undefined;
      const timers: NodeJS.Timeout[] = [];
      const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => {
        let at = 0;
        for (const step of script) {
          const [delay, text] = Array.isArray(step) ? step : [0, step];
          at += delay;
          timers.push(setTimeout(() => !socket.destroyed && socket.write(text), at));
        }
      });
      const finish = () => {
        timers.forEach(clearTimeout);
        socket.destroy();
        resolve({ answer, closedAfterMs });
      };
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closedAfterMs ??= Date.now() - started;
        finish();
      });
      setTimeout(finish, giveUpMs).unref();
    });

  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

  it('by default a silent socket lives at most 10 s, an idle one 5 s after an answer, a body 15 s', () => {
    const config = loadConfig({});
    expect(config.silentConnectionSeconds).toBeLessThanOrEqual(10);
    expect(config.keepAliveSeconds).toBeLessThanOrEqual(5);
    expect(config.requestBodyTimeoutSeconds).toBe(15);
  });

  it('a silent socket is closed within the silent window; so is one trickling its headers (408)', async () => {
    const [silent, trickle] = await Promise.all([
      session([]),
      session(
        [
          'GET /healthz HTTP/1.1\r\n',
          [400, 'X-A: 1\r\n'],
          [400, 'X-B: 1\r\n'],
          [400, 'X-C: 1\r\n'],
          [400, 'X-D: 1\r\n'],
          [400, 'X-E: 1\r\n'],
          [400, 'X-F: 1\r\n'],
        ],
        '127.0.0.22',
      ),
    ]);
    expect(silent.answer).toBe('');
    expect(silent.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(silent.closedAfterMs).toBeLessThan(1800);
    expect(trickle.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(trickle.closedAfterMs).toBeLessThan(3000);
  });

  it('after an admin or guest answer the connection idles the short keep-alive; a request in progress is not cut by it', async () => {
    const idleAfter = await session([get('/healthz')]);
    expect(idleAfter.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(idleAfter.closedAfterMs).toBeLessThan(2500);
    // Two requests 800 ms apart on one connection: the second is served (each answer restarts the window).
    const reused = await session([get('/healthz'), [800, get('/healthz')]], '127.0.0.23');
    expect(reused.answer.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
  });

  it("a booth's connection stays open between shots after an accepted upload, not after a refused one", async () => {
    const photo = await jpegBytes(320, 240);
    const upload = (file: Buffer) => {
      const { body, contentType } = multipartBody([
        { name: 'password', value: TEST_INGEST_PASSWORD },
        { name: 'fileToUpload', value: file, filename: 'shot.jpg', contentType: 'image/jpeg' },
      ]);
      return [
        `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
      ];
    };
    // The refusal comes after the whole body (415: not an image), so the connection could be kept.
    const [accepted, refused] = await Promise.all([
      session(upload(photo), '127.0.0.24', 4500),
      session(upload(Buffer.from('not an image at all')), '127.0.0.25', 4500),
    ]);
    expect(accepted.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(accepted.answer).toMatch(/\r\nKeep-Alive: timeout=72\r\n/i);
    expect(accepted.closedAfterMs).toBeUndefined(); // still open when the test let go (4.5 s)
    expect(refused.answer).toMatch(/^HTTP\/1\.1 415/);
    expect(refused.closedAfterMs).toBeLessThan(3500);
  });

  it('a booth sending Expect: 100-continue waits for a slow answer as long as any booth (the silent window does not cut it)', async () => {
    scripted.setScript({ kind: 'echo', delayMs: 1800 });
    try {
      const photo = await jpegBytes(320, 240);
      const form = multipartBody([
        { name: 'password', value: TEST_INGEST_PASSWORD },
        { name: 'fileToUpload', value: photo, filename: 'shot.jpg', contentType: 'image/jpeg' },
      ]);
      const [withExpect, without] = await Promise.all([
        rawPost(
          server.url,
          '/ingest/slot-002',
          form.body,
          { 'Content-Type': form.contentType },
          { expectContinue: true, localAddress: '127.0.0.27' },
        ),
        rawPost(
          server.url,
          '/ingest/slot-003',
          form.body,
          { 'Content-Type': form.contentType },
          { localAddress: '127.0.0.28' },
        ),
      ]);
      expect(withExpect.sawContinue).toBe(true);
      expect(withExpect.status).toBe(200);
      expect(without.status).toBe(200);
    } finally {
      scripted.setScript({ kind: 'echo' });
    }
  });

  it('after an early answer the rest of a body must come within the body timeout; empty lines do not extend a keep-alive', async () => {
    // 401 before the body is read (no credentials), then the body trickles on.
    const head =
      'POST /api/slots/slot-001/templates HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000\r\n\r\n';
    const trickle = Array.from({ length: 14 }, () => [400, 'x'] as [number, string]);
    const login =
      'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 200\r\n\r\n';
    const [early, blankLines, expecting] = await Promise.all([
      session([head, '--b', ...trickle], '127.0.0.29', 6000),
      session(
        [get('/healthz'), ...Array.from({ length: 14 }, () => [400, '\r\n'] as [number, string])],
        '127.0.0.30',
        6000,
      ),
      // The same body timeout with Expect: 100-continue (Node announces such a request apart).
      session([login, '{"user', ...trickle], '127.0.0.34', 6000),
    ]);
    expect(early.answer).toMatch(/^HTTP\/1\.1 401/);
    expect(early.closedAfterMs).toBeLessThan(3500);
    expect(blankLines.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(blankLines.closedAfterMs).toBeLessThan(3000);
    expect(expecting.answer).toContain('request_timeout');
    expect(expecting.closedAfterMs).toBeLessThan(3500);
  });

  it('a request body that has not arrived within the body timeout is answered 408 request_timeout and the connection closed', async () => {
    const head = 'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n';
    const slow = await session([head, '{"username":', [700, '"a'], [700, 'b'], [700, 'c'], [700, 'd']], '127.0.0.26');
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(slow.answer).toContain('"code":"request_timeout"');
    expect(slow.closedAfterMs).toBeGreaterThanOrEqual(1900);
    expect(slow.closedAfterMs).toBeLessThan(3500);
    // The server logged nothing as an error for it.
    expect(server.logLines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  });
});
