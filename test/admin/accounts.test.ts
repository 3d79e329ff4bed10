import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf } from '../support/http.js';
import { authHeader, startTestServer, type TestServer } from '../support/server.js';

/** A logged-in web UI session: its cookie and CSRF token, as the browser holds them. */
interface Session {
  cookie: string;
  csrf: string;
  token: string;
}

describe('accounts: your own password, and administrators managing accounts', () => {
  let server: TestServer;
  let admin: Record<string, string>;

  const call = (method: string, url: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${server.url}${url}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const asSession = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });
  const login = async (username: string, password: string): Promise<Session> => {
    const res = await call('POST', '/api/login', {}, { username, password });
    expect(res.status, `login of ${username}`).toBe(200);
    const body = await jsonOf(res);
    return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: body.csrf_token, token: body.access_token };
  };

  beforeAll(async () => {
    server = await startTestServer();
    admin = authHeader(server);
  });
  afterAll(() => server.close());

  it('adds an account with chosen permissions; refuses bad names, short passwords and duplicates', async () => {
    const created = await call('POST', '/api/accounts', admin, {
      username: 'operator',
      password: 'operator-pass-1',
      permissions: ['slots:read', 'stats:read'],
    });
    expect(created.status).toBe(201);
    expect(await jsonOf(created)).toMatchObject({ username: 'operator', permissions: ['slots:read', 'stats:read'] });
    const dup = await call('POST', '/api/accounts', admin, {
      username: 'operator',
      password: 'another-pass-1',
      permissions: [],
    });
    expect(dup.status).toBe(409);
    expect((await jsonOf(dup)).error.details.reason).toBe('account_exists');
    const weak = await call('POST', '/api/accounts', admin, { username: 'x y', password: 'short', permissions: [] });
    expect(weak.status).toBe(422);
    expect((await jsonOf(weak)).error.details.errors.map((e: { path: string }) => e.path)).toEqual([
      '/username',
      '/password',
    ]);
    expect(
      (await call('POST', '/api/accounts', admin, { username: 'z', password: 'long-enough-1', permissions: ['root'] }))
        .status,
    ).toBe(400);
    const list = await jsonOf(await call('GET', '/api/accounts', admin));
    expect(list.accounts.map((a: { username: string }) => a.username)).toEqual(['admin', 'operator']);
    expect(JSON.stringify(list)).not.toContain('operator-pass-1');
    // The new account logs in and has exactly its permissions.
    const op = await login('operator', 'operator-pass-1');
    expect((await call('GET', '/api/slots', { authorization: `Bearer ${op.token}` })).status).toBe(200);
    expect(
      (await call('PUT', '/api/settings', { authorization: `Bearer ${op.token}` }, { t_sync_response_seconds: 40 }))
        .status,
    ).toBe(403);
    expect(
      (
        await call(
          'POST',
          '/api/accounts',
          { authorization: `Bearer ${op.token}` },
          { username: 'mine', password: 'operator-pass-1', permissions: ['accounts:write'] },
        )
      ).status,
    ).toBe(403);
  });

  it('changes permissions: a web session sees them at once, bearer tokens issued before stop working', async () => {
    const op = await login('operator', 'operator-pass-1');
    const changed = await call('PUT', '/api/accounts/operator', admin, { permissions: ['stats:read'] });
    expect(changed.status).toBe(200);
    expect((await jsonOf(changed)).permissions).toEqual(['stats:read']);
    expect((await call('GET', '/api/slots', asSession(op))).status).toBe(403);
    expect((await call('GET', '/api/stats/global', asSession(op))).status).toBe(200);
    expect((await call('GET', '/api/me', { authorization: `Bearer ${op.token}` })).status).toBe(401);
    expect((await call('PUT', '/api/accounts/nobody', admin, { permissions: [] })).status).toBe(404);
    expect((await call('PUT', '/api/accounts/operator', admin, {})).status).toBe(400);
  });

  it('a token never grants more than its account holds now: a demotion racing a login, a removed name re-created', async () => {
    // A login that read the permissions before a demotion and signed its token after it.
    const raced = authHeader(server, ['stats:read', 'slots:read', 'accounts:write'], 'operator');
    expect((await call('GET', '/api/stats/global', raced)).status).toBe(200);
    expect((await call('GET', '/api/slots', raced)).status).toBe(403);
    expect((await call('GET', '/api/accounts', raced)).status).toBe(403);
    // Bob's token outlives Bob; a new account named bob does not inherit it.
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'bob',
          password: 'bob-pass-123',
          permissions: ['accounts:write', 'stats:read'],
        })
      ).status,
    ).toBe(201);
    const bob = await login('bob', 'bob-pass-123');
    const bobToken = { authorization: `Bearer ${bob.token}` };
    expect((await call('GET', '/api/accounts', bobToken)).status).toBe(200);
    expect((await call('DELETE', '/api/accounts/bob', admin)).status).toBe(204);
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'bob',
          password: 'bob-pass-456',
          permissions: ['stats:read'],
        })
      ).status,
    ).toBe(201);
    expect((await call('GET', '/api/me', bobToken)).status).toBe(401);
    expect((await call('DELETE', '/api/accounts/bob', admin)).status).toBe(204);
  });

  it('nobody grants a permission they do not hold', async () => {
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'lead',
          password: 'lead-pass-123',
          permissions: ['accounts:write', 'stats:read'],
        })
      ).status,
    ).toBe(201);
    const lead = await login('lead', 'lead-pass-123');
    const create = await call('POST', '/api/accounts', asSession(lead), {
      username: 'helper',
      password: 'helper-pass-1',
      permissions: ['settings:write'],
    });
    expect(create.status).toBe(403);
    expect((await jsonOf(create)).error.details.not_held).toEqual(['settings:write']);
    expect(
      (
        await call('PUT', '/api/accounts/lead', asSession(lead), {
          permissions: ['accounts:write', 'stats:read', 'slots:write'],
        })
      ).status,
    ).toBe(403);
    // What it holds it may grant, and it may take away what it does not hold.
    expect(
      (
        await call('POST', '/api/accounts', asSession(lead), {
          username: 'helper',
          password: 'helper-pass-1',
          permissions: ['stats:read'],
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', '/api/accounts/operator', asSession(lead), { permissions: [] })).status).toBe(200);
    expect((await call('PUT', '/api/accounts/operator', admin, { permissions: ['stats:read'] })).status).toBe(200);
    for (const name of ['helper', 'lead'])
      expect((await call('DELETE', `/api/accounts/${name}`, admin)).status).toBe(204);
  });

  it('changes your own password with the current one; your session goes on, every other one ends', async () => {
    const here = await login('operator', 'operator-pass-1');
    const elsewhere = await login('operator', 'operator-pass-1');
    const wrong = await call('PUT', '/api/me/password', asSession(here), {
      current_password: 'not-it',
      new_password: 'operator-pass-2',
    });
    expect(wrong.status).toBe(422);
    expect((await jsonOf(wrong)).error.details.errors[0].path).toBe('/current_password');
    const short = await call('PUT', '/api/me/password', asSession(here), {
      current_password: 'operator-pass-1',
      new_password: 'short',
    });
    expect(short.status).toBe(422);
    expect((await jsonOf(short)).error.details.errors[0].path).toBe('/new_password');
    // Without the CSRF token, a cross-site page cannot change it.
    expect(
      (
        await call(
          'PUT',
          '/api/me/password',
          { cookie: here.cookie },
          { current_password: 'operator-pass-1', new_password: 'operator-pass-2' },
        )
      ).status,
    ).toBe(403);

    const ok = await call('PUT', '/api/me/password', asSession(here), {
      current_password: 'operator-pass-1',
      new_password: 'operator-pass-2',
    });
    expect(ok.status).toBe(200);
    const body = await jsonOf(ok);
    const renewed: Session = {
      cookie: ok.headers.get('set-cookie')!.split(';')[0]!,
      csrf: body.csrf_token,
      token: body.access_token,
    };
    expect(renewed.cookie).not.toBe(here.cookie);
    expect((await call('GET', '/api/me', asSession(renewed))).status).toBe(200);
    expect((await call('GET', '/api/me', { authorization: `Bearer ${renewed.token}` })).status).toBe(200);
    expect((await call('GET', '/api/me', asSession(here))).status).toBe(401);
    expect((await call('GET', '/api/me', asSession(elsewhere))).status).toBe(401);
    expect((await call('POST', '/api/login', {}, { username: 'operator', password: 'operator-pass-1' })).status).toBe(
      401,
    );
    await login('operator', 'operator-pass-2');
    // An administrator sets a password for someone who forgot theirs.
    expect((await call('PUT', '/api/accounts/operator', admin, { password: 'operator-pass-3' })).status).toBe(200);
    await login('operator', 'operator-pass-3');
    expect(server.logLines.join('\n')).not.toMatch(/operator-pass-[123]/);
  });

  it('throttles guesses of the current password like logins', async () => {
    const s = await login('operator', 'operator-pass-3');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (
          await call('PUT', '/api/me/password', asSession(s), {
            current_password: `guess-${i}`,
            new_password: 'operator-pass-4',
          })
        ).status,
      );
    expect(statuses.slice(0, 5)).toEqual([422, 422, 422, 422, 422]);
    expect(statuses.at(-1)).toBe(429);
  });

  it('removes accounts, never your own nor the last one that can manage accounts', async () => {
    const op = await login('operator', 'operator-pass-3').catch(() => undefined);
    expect((await call('DELETE', '/api/accounts/admin', admin)).status).toBe(409);
    const demote = await call('PUT', '/api/accounts/admin', admin, { permissions: ['slots:read'] });
    expect(demote.status).toBe(409);
    expect((await jsonOf(demote)).error.details.reason).toBe('last_account_manager');
    // A second manager may remove an account that holds nothing it lacks.
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'manager',
          password: 'manager-pass-1',
          permissions: ['accounts:write', 'settings:read', 'stats:read'],
        })
      ).status,
    ).toBe(201);
    const manager = await login('manager', 'manager-pass-1');
    expect((await call('DELETE', '/api/accounts/operator', asSession(manager))).status).toBe(204);
    if (op) expect((await call('GET', '/api/me', asSession(op))).status).toBe(401);
    expect((await call('DELETE', '/api/accounts/operator', asSession(manager))).status).toBe(404);
    const audit = await server.database.db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'target'])
      .where('action', 'like', 'account.%')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => `${a.actor} ${a.action} ${a.target}`)).toEqual(
      expect.arrayContaining([
        'admin account.create operator',
        'operator account.password operator',
        'manager account.remove operator',
      ]),
    );
  });

  it('accounts:write alone never takes over an administrator: no password, permission or removal of an account holding more', async () => {
    // The red team's account: accounts:write and one more permission, nothing else.
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'intruder',
          password: 'intruder-pass-1',
          permissions: ['accounts:write', 'stats:read'],
        })
      ).status,
    ).toBe(201);
    const intruder = await login('intruder', 'intruder-pass-1');
    const takeover = await call('PUT', '/api/accounts/admin', asSession(intruder), { password: 'owned-by-intruder-1' });
    expect(takeover.status).toBe(403);
    expect((await jsonOf(takeover)).error.details.not_held).toEqual(
      expect.arrayContaining(['slots:read', 'slots:write', 'settings:read', 'settings:write']),
    );
    expect((await call('POST', '/api/login', {}, { username: 'admin', password: 'owned-by-intruder-1' })).status).toBe(
      401,
    );
    expect(
      (await call('PUT', '/api/accounts/admin', asSession(intruder), { permissions: ['slots:read'] })).status,
    ).toBe(403);
    expect((await call('DELETE', '/api/accounts/admin', asSession(intruder))).status).toBe(403);
    // The only holder of settings:write (besides admin) cannot be removed by it either.
    expect(
      (
        await call('POST', '/api/accounts', admin, {
          username: 'settings-owner',
          password: 'settings-pass-1',
          permissions: ['settings:write', 'settings:read'],
        })
      ).status,
    ).toBe(201);
    expect((await call('DELETE', '/api/accounts/settings-owner', asSession(intruder))).status).toBe(403);
    const me = await jsonOf(await call('GET', '/api/me', admin));
    expect(me.user?.permissions ?? me.permissions).toEqual(
      expect.arrayContaining(['settings:write', 'accounts:write']),
    );
    for (const name of ['intruder', 'settings-owner'])
      expect((await call('DELETE', `/api/accounts/${name}`, admin)).status).toBe(204);
  });

  it('at least one account always holds every permission', async () => {
    // Another manager keeps accounts:write, so only the full-administrator rule stands in the way.
    const partial = await call('PUT', '/api/accounts/admin', admin, {
      permissions: ['slots:read', 'slots:write', 'stats:read', 'settings:read', 'accounts:write'],
    });
    expect(partial.status).toBe(409);
    expect((await jsonOf(partial)).error.details.reason).toBe('last_full_administrator');
    // With a second full administrator the first may step down, and then cannot remove it.
    const all = ['slots:read', 'slots:write', 'stats:read', 'settings:read', 'settings:write', 'accounts:write'];
    expect(
      (await call('POST', '/api/accounts', admin, { username: 'owner2', password: 'owner2-pass-1', permissions: all }))
        .status,
    ).toBe(201);
    const owner2 = await login('owner2', 'owner2-pass-1');
    expect(
      (await call('PUT', '/api/accounts/admin', admin, { permissions: ['slots:read', 'accounts:write'] })).status,
    ).toBe(200);
    expect(
      (await call('DELETE', '/api/accounts/owner2', authHeader(server, ['slots:read', 'accounts:write']))).status,
    ).toBe(403);
    expect((await call('PUT', '/api/accounts/admin', asSession(owner2), { permissions: all })).status).toBe(200);
  });
});
