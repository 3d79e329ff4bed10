import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.js';
import { ManualClock } from '../../src/clock.js';
import { createEmptyDatabase } from '../support/db.js';
import { jsonOf, loginFromAddress } from '../support/http.js';
import { authHeader, startTestServer, TEST_ADMIN, type TestServer } from '../support/server.js';

/** Every protected admin route and the permission it needs. */
const PROTECTED: Array<{ method: string; url: string; permission: Permission | null }> = [
  { method: 'GET', url: '/api/me', permission: null },
  { method: 'GET', url: '/api/providers', permission: null },
  { method: 'GET', url: '/api/slots', permission: 'slots:read' },
  { method: 'GET', url: '/api/slots/slot-001', permission: 'slots:read' },
  { method: 'PUT', url: '/api/slots/slot-001', permission: 'slots:write' },
  { method: 'POST', url: '/api/slots/slot-001/templates', permission: 'slots:write' },
  {
    method: 'GET',
    url: '/api/slots/slot-001/templates/00000000-0000-4000-8000-000000000000',
    permission: 'slots:read',
  },
  {
    method: 'DELETE',
    url: '/api/slots/slot-001/templates/00000000-0000-4000-8000-000000000000',
    permission: 'slots:write',
  },
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
  { method: 'GET', url: '/api/stats/refusals', permission: 'stats:read' },
  { method: 'GET', url: '/api/stats/booths', permission: 'stats:read' },
  { method: 'GET', url: '/api/stats/storage', permission: 'stats:read' },
  { method: 'PUT', url: '/api/me/password', permission: null },
  { method: 'GET', url: '/api/accounts', permission: 'accounts:write' },
  { method: 'POST', url: '/api/accounts', permission: 'accounts:write' },
  { method: 'PUT', url: '/api/accounts/admin', permission: 'accounts:write' },
  { method: 'DELETE', url: '/api/accounts/nobody', permission: 'accounts:write' },
];

async function login(server: TestServer, username: string, password: string): Promise<Response> {
  return fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

const loginFrom = (server: TestServer, from: string, username: string, password: string) =>
  loginFromAddress(server.url, from, username, password);

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
    for (const [u, p] of [
      ['admin', 'wrong-password'],
      ['nobody', 'whatever-password'],
    ]) {
      const res = await login(server, u!, p!);
      expect(res.status).toBe(401);
      expect((await jsonOf(res)).error.code).toBe('invalid_credentials');
    }
  });

  it.each(PROTECTED)(
    '$method $url: 401 without a token, 401 with a forged one, 403 without $permission',
    async ({ method, url, permission }) => {
      const none = await fetch(`${server.url}${url}`, { method });
      expect(none.status).toBe(401);
      expect((await jsonOf(none)).error.code).toBe('unauthorized');
      const forged = await fetch(`${server.url}${url}`, {
        method,
        headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad' },
      });
      expect(forged.status).toBe(401);
      if (permission !== null) {
        const others = PERMISSIONS.filter((p) => p !== permission);
        const res = await fetch(`${server.url}${url}`, { method, headers: authHeader(server, others) });
        expect(res.status).toBe(403);
        expect((await jsonOf(res)).error).toMatchObject({ code: 'forbidden', details: { required: permission } });
      }
    },
  );

  it('refuses an expired token with 401', async () => {
    const headers = authHeader(server);
    expect((await fetch(`${server.url}/api/me`, { headers })).status).toBe(200);
    clock.advance(3601 * 1000);
    const res = await fetch(`${server.url}/api/me`, { headers });
    expect(res.status).toBe(401);
  });

  it('throttles wrong passwords per address and name: an attacker elsewhere cannot lock the administrator out', async () => {
    // The attacker at 127.0.0.2: five free failures, then the address waits for this name.
    for (let i = 0; i < 6; i++)
      expect((await loginFrom(server, '127.0.0.2', 'admin', `wrong-${i}-password`)).status).toBe(401);
    const blocked = await loginFrom(server, '127.0.0.2', 'admin', TEST_ADMIN.password);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error?.code).toBe('login_locked');
    expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(1);
    // The administrator at another address logs in as usual.
    expect((await loginFrom(server, '127.0.0.3', 'admin', TEST_ADMIN.password)).status).toBe(200);
    // The wait passes (2 s, then doubling); the right password then works from there too.
    clock.advance(2_001);
    expect((await loginFrom(server, '127.0.0.2', 'admin', TEST_ADMIN.password)).status).toBe(200);
  });

  it('logins sent in parallel from one address are bounded too', async () => {
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) => loginFrom(server, '127.0.0.7', 'admin', `parallel-${i}-password`)),
    );
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(6);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(9);
  });

  it('names that exist and names that do not are indistinguishable: same statuses, bodies and timing', async () => {
    const trace = async (from: string, name: string) => {
      const out: Array<{ status: number; code?: string; ms: number }> = [];
      for (let i = 0; i < 7; i++) {
        const r = await loginFrom(server, from, name, `guess-${i}-password`);
        out.push({ status: r.status, ...(r.body.error ? { code: r.body.error.code } : {}), ms: r.ms });
      }
      return out;
    };
    const known = await trace('127.0.0.4', 'admin');
    const unknown = await trace('127.0.0.5', 'no-such-admin');
    expect(unknown.map((r) => [r.status, r.code])).toEqual(known.map((r) => [r.status, r.code]));
    expect(known.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401, 429]);
    // Timing: both pay one argon2 per checked attempt (medians within a factor of two).
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const k = median(known.slice(0, 6).map((r) => r.ms));
    const u = median(unknown.slice(0, 6).map((r) => r.ms));
    expect(Math.max(k, u) / Math.min(k, u)).toBeLessThan(2);
  });

  it('an administrator lifts the throttling of an account (API), and the CLI can while the server runs', async () => {
    for (let i = 0; i < 7; i++) await loginFrom(server, '127.0.0.6', 'admin', `wrong-${i}-password`);
    expect((await loginFrom(server, '127.0.0.6', 'admin', TEST_ADMIN.password)).status).toBe(429);
    const unlock = await fetch(`${server.url}/api/accounts/admin/unlock`, {
      method: 'POST',
      headers: authHeader(server, ['settings:write']),
    });
    expect(unlock.status).toBe(200);
    expect(await jsonOf(unlock)).toEqual({ username: 'admin', unlocked: true });
    expect((await loginFrom(server, '127.0.0.6', 'admin', TEST_ADMIN.password)).status).toBe(200);
    // Locked per address (many names tried, this one among them): the unlock lets that address back in too.
    for (let i = 0; i < 2; i++) await loginFrom(server, '127.0.0.7', 'admin', `wrong-${i}-password`);
    for (let i = 0; i < 19; i++) await loginFrom(server, '127.0.0.7', `someone-${i}`, 'wrong-password');
    expect((await loginFrom(server, '127.0.0.7', 'admin', TEST_ADMIN.password)).status).toBe(429);
    await fetch(`${server.url}/api/accounts/admin/unlock`, {
      method: 'POST',
      headers: authHeader(server, ['settings:write']),
    });
    expect((await loginFrom(server, '127.0.0.7', 'admin', TEST_ADMIN.password)).status).toBe(200);
    expect(
      (
        await fetch(`${server.url}/api/accounts/nobody/unlock`, {
          method: 'POST',
          headers: authHeader(server, ['settings:write']),
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await fetch(`${server.url}/api/accounts/admin/unlock`, {
          method: 'POST',
          headers: authHeader(server, ['settings:read']),
        })
      ).status,
    ).toBe(403);
  });
});
