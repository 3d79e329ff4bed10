import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetPassword } from '../../src/auth/accounts.js';
import { ShiftedClock } from '../support/clock.js';
import { jsonOf } from '../support/http.js';
import { startTestServer, TEST_ADMIN, type TestServer } from '../support/server.js';

describe('finding 5: the admin UI authenticates with an HttpOnly session cookie, CSRF-protected, revocable', () => {
  let server: TestServer;
  const clock = new ShiftedClock();
  beforeAll(async () => {
    server = await startTestServer({ clock, env: { PHOTOCHANGER_TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => server?.close());

  const login = async (remember = false, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ ...TEST_ADMIN, remember }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    const body = await jsonOf(res);
    return {
      setCookie,
      cookie: setCookie.split(';')[0]!,
      csrf: body.csrf_token as string,
      token: body.access_token as string,
    };
  };
  const me = (cookie: string) => fetch(`${server.url}/api/me`, { headers: { cookie } });
  const rename = (cookie: string, csrf?: string) =>
    fetch(`${server.url}/api/slots/slot-001`, { headers: { cookie } }).then(async (current) =>
      fetch(`${server.url}/api/slots/slot-001`, {
        method: 'PUT',
        headers: {
          cookie,
          'content-type': 'application/json',
          'if-match': current.headers.get('etag')!,
          ...(csrf ? { 'x-csrf-token': csrf } : {}),
        },
        body: JSON.stringify({
          name: 'Renamed',
          enabled: true,
          provider: 'local',
          operation: 'neutral',
          settings: {},
          max_upload_bytes: null,
        }),
      }),
    );

  it('the cookie is HttpOnly, SameSite=Strict, Secure behind HTTPS; a session cookie unless "remember me" (30 days)', async () => {
    const plain = await login();
    expect(plain.setCookie).toMatch(/^pc_session=[A-Za-z0-9_-]{40,};/);
    expect(plain.setCookie).toContain('HttpOnly');
    expect(plain.setCookie).toContain('SameSite=Strict');
    expect(plain.setCookie).not.toContain('Secure');
    expect(plain.setCookie).not.toMatch(/Expires|Max-Age/);
    const https = await login(true, { 'x-forwarded-proto': 'https' });
    expect(https.setCookie).toContain('Secure');
    // Seconds from now (a browser with another clock keeps it as long), not a date.
    expect(https.setCookie).not.toContain('Expires');
    const maxAge = Number(/Max-Age=(\d+)/.exec(https.setCookie)![1]!);
    expect(maxAge).toBeGreaterThan(29 * 24 * 3600);
    expect(maxAge).toBeLessThanOrEqual(30 * 24 * 3600);
    // The session's token is stored hashed: the cookie's value is not in the database.
    const rows = await server.database.db.selectFrom('admin_session').select('id').execute();
    expect(rows.some((r) => plain.cookie.endsWith(r.id))).toBe(false);
  });

  it('reads work with the cookie; writes need the CSRF token (403 csrf_failed without it)', async () => {
    const s = await login();
    expect(await jsonOf(await me(s.cookie))).toMatchObject({ username: 'admin', csrf_token: s.csrf });
    const refused = await rename(s.cookie);
    expect(refused.status).toBe(403);
    expect((await jsonOf(refused)).error.code).toBe('csrf_failed');
    expect((await rename(s.cookie, 'wrong-token')).status).toBe(403);
    expect((await rename(s.cookie, s.csrf)).status).toBe(200);
  });

  it('the expiry slides while used (12 h idle), and logout ends the session at once', async () => {
    const s = await login();
    clock.offsetMs += 11 * 3600_000;
    expect((await me(s.cookie)).status).toBe(200);
    clock.offsetMs += 11 * 3600_000;
    expect((await me(s.cookie)).status).toBe(200); // 22 h after login, 11 h after last use
    clock.offsetMs += 13 * 3600_000;
    expect((await me(s.cookie)).status).toBe(401); // 13 h idle
    const t = await login();
    // The login purged the expired session: only live ones are kept.
    const expired = await server.database.db
      .selectFrom('admin_session')
      .select('id')
      .where('expires_at', '<', clock.now())
      .execute();
    expect(expired).toEqual([]);
    const out = await fetch(`${server.url}/api/logout`, {
      method: 'POST',
      headers: { cookie: t.cookie, 'x-csrf-token': t.csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/pc_session=;.*Max-Age=0/);
    expect((await me(t.cookie)).status).toBe(401);
  });

  it('a password reset ends every session and every bearer token issued before it; a new login works', async () => {
    const s = await login();
    clock.offsetMs += 1000;
    expect(await resetPassword(server.database.db, clock, 'admin', TEST_ADMIN.password)).toBe(true);
    expect((await me(s.cookie)).status).toBe(401);
    expect((await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(401);
    clock.offsetMs += 1000;
    const again = await login();
    expect((await me(again.cookie)).status).toBe(200);
    expect((await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${again.token}` } })).status).toBe(
      200,
    );
  });

  it('a removed account loses its sessions and tokens at once', async () => {
    await server.database.db
      .insertInto('admin_account')
      .values({
        username: 'temp',
        password_hash: (
          await server.database.db
            .selectFrom('admin_account')
            .select('password_hash')
            .where('username', '=', 'admin')
            .executeTakeFirstOrThrow()
        ).password_hash,
        permissions: ['stats:read'],
        created_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
    const res = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'temp', password: TEST_ADMIN.password }),
    });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const token = (await jsonOf(res)).access_token as string;
    expect((await me(cookie)).status).toBe(200);
    await server.database.db.deleteFrom('admin_account').where('username', '=', 'temp').execute();
    expect((await me(cookie)).status).toBe(401);
    expect((await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});
