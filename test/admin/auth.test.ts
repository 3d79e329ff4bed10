import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.js';
import { ManualClock } from '../../src/clock.js';
import { createEmptyDatabase } from '../support/db.js';
import { jsonOf } from '../support/http.js';
import { authHeader, startTestServer, TEST_ADMIN, type TestServer } from '../support/server.js';

/** Every protected admin route and the permission it needs. */
const PROTECTED: Array<{ method: string; url: string; permission: Permission | null }> = [
  { method: 'GET', url: '/api/me', permission: null },
  { method: 'GET', url: '/api/providers', permission: 'slots:read' },
  { method: 'GET', url: '/api/slots', permission: 'slots:read' },
  { method: 'GET', url: '/api/slots/slot-001', permission: 'slots:read' },
  { method: 'PUT', url: '/api/slots/slot-001', permission: 'slots:write' },
  { method: 'POST', url: '/api/slots/slot-001/templates', permission: 'slots:write' },
  { method: 'GET', url: '/api/slots/slot-001/templates/00000000-0000-4000-8000-000000000000', permission: 'slots:read' },
  { method: 'DELETE', url: '/api/slots/slot-001/templates/00000000-0000-4000-8000-000000000000', permission: 'slots:write' },
  { method: 'POST', url: '/api/slots/slot-001/test-run', permission: 'slots:write' },
  { method: 'POST', url: '/api/slots/slot-001/stats/reset', permission: 'slots:write' },
  { method: 'GET', url: '/api/settings', permission: 'settings:read' },
  { method: 'PUT', url: '/api/settings', permission: 'settings:write' },
  { method: 'POST', url: '/api/media/cache/purge', permission: 'settings:write' },
  { method: 'GET', url: '/api/stats/global', permission: 'stats:read' },
  { method: 'GET', url: '/api/stats/slots/slot-001', permission: 'stats:read' },
  { method: 'GET', url: '/api/jobs', permission: 'stats:read' },
  { method: 'GET', url: '/api/jobs/00000000-0000-4000-8000-000000000000', permission: 'stats:read' },
  { method: 'GET', url: '/api/jobs/stream', permission: 'stats:read' },
];

async function login(server: TestServer, username: string, password: string): Promise<Response> {
  return fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
}

describe('admin authentication and permissions', () => {
  const clock = new ManualClock(new Date('2026-06-01T10:00:00Z'));
  let database: { url: string; drop(): Promise<void> };
  let server: TestServer;

  beforeAll(async () => {
    database = await createEmptyDatabase();
    server = await startTestServer({ databaseUrl: database.url, clock });
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  it('logs in the bootstrap administrator with every permission and an hour-long bearer token', async () => {
    const res = await login(server, TEST_ADMIN.username, TEST_ADMIN.password);
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in_sec: 3600, user: { username: 'admin' } });
    expect(body.user.permissions.sort()).toEqual([...PERMISSIONS].sort());
    const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(await jsonOf(me)).toMatchObject({ username: 'admin' });
  });

  it('answers 401 invalid_credentials for a wrong password and for an unknown user alike', async () => {
    for (const [u, p] of [['admin', 'wrong-password'], ['nobody', 'whatever-password']]) {
      const res = await login(server, u!, p!);
      expect(res.status).toBe(401);
      expect((await jsonOf(res)).error.code).toBe('invalid_credentials');
    }
  });

  it.each(PROTECTED)('$method $url: 401 without a token, 401 with a forged one, 403 without $permission', async ({ method, url, permission }) => {
    const none = await fetch(`${server.url}${url}`, { method });
    expect(none.status).toBe(401);
    expect((await jsonOf(none)).error.code).toBe('unauthorized');
    const forged = await fetch(`${server.url}${url}`, { method, headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad' } });
    expect(forged.status).toBe(401);
    if (permission !== null) {
      const others = PERMISSIONS.filter((p) => p !== permission);
      const res = await fetch(`${server.url}${url}`, { method, headers: authHeader(server, others) });
      expect(res.status).toBe(403);
      expect((await jsonOf(res)).error).toMatchObject({ code: 'forbidden', details: { required: permission } });
    }
  });

  it('refuses an expired token with 401', async () => {
    const headers = authHeader(server);
    expect((await fetch(`${server.url}/api/me`, { headers })).status).toBe(200);
    clock.advance(3601 * 1000);
    const res = await fetch(`${server.url}/api/me`, { headers });
    expect(res.status).toBe(401);
  });

  it('locks an account after 10 failures for 15 minutes, across a restart, then lets it in again', async () => {
    // A successful login first: the count starts from zero.
    expect((await login(server, TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await login(server, 'admin', `wrong-${i}-password`)).status).toBe(401);
    const tenth = await login(server, 'admin', 'wrong-10-password');
    expect(tenth.status).toBe(429);
    const body = await jsonOf(tenth);
    expect(body.error.code).toBe('login_locked');
    expect(new Date(body.error.details.locked_until).getTime()).toBe(clock.now().getTime() + 15 * 60 * 1000);
    // Even the right password is refused while locked.
    expect((await login(server, TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(429);

    // The lock is in the database: a restarted server still refuses.
    await server.close();
    server = await startTestServer({ databaseUrl: database.url, clock });
    clock.advance(14 * 60 * 1000);
    expect((await login(server, TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(429);
    clock.advance(60 * 1000 + 1);
    const ok = await login(server, TEST_ADMIN.username, TEST_ADMIN.password);
    expect(ok.status).toBe(200);
    // A success resets the count: one more failure does not lock again.
    expect((await login(server, 'admin', 'wrong-again-password')).status).toBe(401);
    expect((await login(server, TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
  });
});
