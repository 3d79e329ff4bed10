import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeader, startTestServer, TEST_ADMIN, type TestServer } from '../support/server.js';

/** The live job stream ends with its session, and never holds a server stop. */
describe('GET /api/jobs/stream lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { PHOTOCHANGER_STREAM_HEARTBEAT_SECONDS: '1' } });
  });
  afterAll(async () => {
    await server.close();
  });

  /** Opens a stream; resolves `ended` when the server ends it. */
  const open = async (headers: Record<string, string>) => {
    const req = http.get(`${server.url}/api/jobs/stream`, { headers });
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    expect(res.statusCode).toBe(200);
    res.resume();
    const ended = new Promise<number>((resolve) => res.once('close', () => resolve(Date.now())));
    return { req, ended };
  };

  it('a stream opened with a session ends within a heartbeat of the logout', async () => {
    const login = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: TEST_ADMIN.username, password: TEST_ADMIN.password }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
    const stream = await open({ cookie });
    const loggedOutAt = Date.now();
    expect(
      (await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status,
    ).toBe(204);
    const endedAt = await stream.ended;
    expect(endedAt - loggedOutAt).toBeLessThan(3000);
  });

  it('a stream ends within a heartbeat of its account losing stats:read', async () => {
    const admin = authHeader(server);
    const add = await fetch(`${server.url}/api/accounts`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'watcher',
        password: 'watcher-pass-1',
        permissions: ['stats:read', 'slots:read'],
      }),
    });
    expect(add.status).toBe(201);
    const login = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'watcher', password: 'watcher-pass-1' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const stream = await open({ cookie });
    let ended = false;
    void stream.ended.then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(ended).toBe(false); // heartbeats keep it open while the permission holds
    const demotedAt = Date.now();
    expect(
      (
        await fetch(`${server.url}/api/accounts/watcher`, {
          method: 'PUT',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ permissions: ['slots:read'] }),
        })
      ).status,
    ).toBe(200);
    expect((await stream.ended) - demotedAt).toBeLessThan(3000);
  });

  it('an open stream does not hold the graceful stop (SIGTERM): it ends, and the stop completes at once', async () => {
    const stream = await open(authHeader(server, ['stats:read']) as Record<string, string>);
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await stream.ended).toBeLessThan(started + 5000);
  });
});
