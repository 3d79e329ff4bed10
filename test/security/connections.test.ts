import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, postIngest } from '../support/http.js';
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
    expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(200);
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
        socket.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`);
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

  it("a Turbotext delivery to an unknown token is answered before its body is read", async () => {
    const answer = await stalled('/webhooks/turbotext/not-a-live-token', 1024 * 1024, 10, 'application/x-www-form-urlencoded');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"ok":true');
  });
});
