import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/auth/accounts.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { jpegBytes, jsonOf, loginFromAddress, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_ADMIN, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const SCRAPE_TOKEN = 'scrape-token-for-prometheus-0123456789abcdef';

/** A GET from a given source address (127.0.0.x stands for different clients), over one kept-alive connection per agent. */
function getFrom(
  agent: http.Agent,
  baseUrl: string,
  pathName: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: u.hostname, port: u.port, path: pathName, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

const agentAt = (localAddress: string) => new http.Agent({ keepAlive: true, maxSockets: 16, localAddress });

/** The red team of 2026-12-07, its low findings (docs/security.md answers each). */
describe('red team 2026-12-07: low findings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        PHOTOCHANGER_METRICS_ALLOW: '127.0.0.1',
        PHOTOCHANGER_METRICS_TOKEN: SCRAPE_TOKEN,
        PHOTOCHANGER_STREAM_HEARTBEAT_SECONDS: '1',
      },
    });
  });
  afterAll(async () => server?.close());

  it("finding 6: logging in to one's own account does not give the address fresh guesses at others", async () => {
    await createAccount(server.database.db, systemClock, 'mallory', 'mallory-own-password', ['slots:read']);
    const statuses: number[] = [];
    for (let round = 0; round < 8 && !statuses.includes(429); round++) {
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await loginFromAddress(server.url, '127.0.0.41', `victim-${round}`, `guess-${i}-password`)).status,
        );
      const own = await loginFromAddress(server.url, '127.0.0.41', 'mallory', 'mallory-own-password');
      if (own.status === 429) statuses.push(429);
    }
    // 20 wrong guesses from one address are free, whatever logs in between; the next waits.
    expect(statuses.indexOf(429)).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(21);
    // An administrator elsewhere is not affected.
    expect((await loginFromAddress(server.url, '127.0.0.43', TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(
      200,
    );
  });

  it('finding 7: an unlock lifts the wait but gives a guessing address one guess, not fresh ones', async () => {
    const guess = async (i: number) =>
      (await loginFromAddress(server.url, '127.0.0.42', TEST_ADMIN.username, `wrong-${i}-password`)).status;
    const before: number[] = [];
    for (let i = 0; i < 7; i++) before.push(await guess(i));
    expect(before).toEqual([401, 401, 401, 401, 401, 401, 429]);
    const unlock = await fetch(`${server.url}/api/accounts/admin/unlock`, {
      method: 'POST',
      headers: authHeader(server, ['settings:write']),
    });
    expect(await jsonOf(unlock)).toEqual({ username: 'admin', unlocked: true });
    expect(await guess(7)).toBe(401);
    expect(await guess(8)).toBe(429);
    // The administrator who mistyped from that address gets in with the right password after an unlock.
    await fetch(`${server.url}/api/accounts/admin/unlock`, {
      method: 'POST',
      headers: authHeader(server, ['settings:write']),
    });
    expect((await loginFromAddress(server.url, '127.0.0.42', TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(
      200,
    );
  });

  it('finding 8: shared gallery pages, thumbnails and photos count against one budget per address', async () => {
    const agent = agentAt('127.0.0.44');
    const token = 'A'.repeat(24);
    const statuses: number[] = [];
    // 2,990 thumbnail and photo requests, then 20 pages: the pages are over the one budget (3,000 a minute).
    for (let batch = 0; batch < 299; batch++) {
      const got = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          getFrom(agent, server.url, `/g/${token}/${i % 2 ? 't' : 'i'}/ref${i}`).then((r) => r.status),
        ),
      );
      statuses.push(...got);
    }
    expect(statuses.filter((s) => s === 429)).toEqual([]);
    const pages = await Promise.all(
      Array.from({ length: 20 }, () => getFrom(agent, server.url, `/g/${token}`).then((r) => r.status)),
    );
    expect(pages.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    agent.destroy();
    // Another address has its own budget; and pages, the costly part, at most 300 of it.
    const other = agentAt('127.0.0.45');
    const pageStatuses: number[] = [];
    for (let batch = 0; batch < 31; batch++)
      pageStatuses.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, () => getFrom(other, server.url, `/g/${token}`).then((r) => r.status)),
        )),
      );
    expect(pageStatuses.slice(0, 300).every((s) => s === 404)).toBe(true);
    expect(pageStatuses.slice(300).every((s) => s === 429)).toBe(true);
    // Its thumbnails still load (the pages did not use up the shared budget).
    expect((await getFrom(other, server.url, `/g/${token}/t/ref`)).status).toBe(404);
    other.destroy();
  });

  it("finding 10: the API reference cannot be framed: one frame-ancestors directive, 'none'", async () => {
    const res = await fetch(`${server.url}/docs/static/index.html`, { headers: authHeader(server, ['slots:read']) });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp.match(/frame-ancestors[^;]*/g)).toEqual(["frame-ancestors 'none'"]);
  });

  it('finding 12: the bearer token of a login stops at its logout, and its event stream ends', async () => {
    const login = await jsonOf(
      await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(TEST_ADMIN),
      }),
    );
    const bearer = { authorization: `Bearer ${login.access_token as string}` };
    expect((await fetch(`${server.url}/api/slots`, { headers: bearer })).status).toBe(200);
    const stream = await fetch(`${server.url}/api/jobs/stream`, { headers: bearer });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();
    expect((await fetch(`${server.url}/api/logout`, { method: 'POST', headers: bearer })).status).toBe(204);
    expect((await fetch(`${server.url}/api/slots`, { headers: bearer })).status).toBe(401);
    expect(await Promise.race([ended, new Promise((r) => setTimeout(() => r(false), 4000))])).toBe(true);
    // A token from a password change by an API client is bound the same way.
    const own = await jsonOf(
      await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(TEST_ADMIN),
      }),
    );
    const changed = await jsonOf(
      await fetch(`${server.url}/api/me/password`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${own.access_token as string}`, 'content-type': 'application/json' },
        body: JSON.stringify({ current_password: TEST_ADMIN.password, new_password: TEST_ADMIN.password }),
      }),
    );
    const renewed = { authorization: `Bearer ${changed.access_token as string}` };
    expect((await fetch(`${server.url}/api/slots`, { headers: renewed })).status).toBe(200);
    expect((await fetch(`${server.url}/api/logout`, { method: 'POST', headers: renewed })).status).toBe(204);
    expect((await fetch(`${server.url}/api/slots`, { headers: renewed })).status).toBe(401);
    // Another login's token is untouched.
    const other = await jsonOf(
      await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(TEST_ADMIN),
      }),
    );
    expect(
      (await fetch(`${server.url}/api/slots`, { headers: { authorization: `Bearer ${other.access_token as string}` } }))
        .status,
    ).toBe(200);
  });

  it('finding 13: /metrics answers allowed addresses, the scrape token and administrators with stats:read; /docs answers accounts only', async () => {
    const local = agentAt('127.0.0.1');
    const stranger = agentAt('127.0.0.46');
    expect((await getFrom(local, server.url, '/metrics')).body).toContain('photochanger_');
    expect((await getFrom(stranger, server.url, '/metrics')).status).toBe(401);
    expect(
      (
        await getFrom(stranger, server.url, '/metrics', {
          authorization: 'Bearer wrong-token-of-the-same-length-000000000000',
        })
      ).status,
    ).toBe(401);
    const scraped = await getFrom(stranger, server.url, '/metrics', { authorization: `Bearer ${SCRAPE_TOKEN}` });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('photochanger_');
    expect((await getFrom(stranger, server.url, '/metrics', authHeader(server, ['stats:read']))).status).toBe(200);
    expect((await getFrom(stranger, server.url, '/metrics', authHeader(server, ['slots:read']))).status).toBe(403);
    for (const p of ['/docs', '/docs/json', '/docs/static/index.html']) {
      expect((await getFrom(local, server.url, p)).status, p).toBe(401);
      expect((await getFrom(stranger, server.url, p, authHeader(server, ['slots:read']))).status, p).toBeLessThan(400);
    }
    // By default loopback may scrape, except when the server listens on loopback without a named
    // proxy (a proxy on this machine would make every client look local).
    expect(loadConfig({}).metricsAllow).toEqual(['loopback']);
    expect(loadConfig({ PHOTOCHANGER_HOST: '127.0.0.1' }).metricsAllow).toEqual([]);
    expect(loadConfig({ PHOTOCHANGER_HOST: '127.0.0.1', PHOTOCHANGER_TRUST_PROXY: 'loopback' }).metricsAllow).toEqual([
      'loopback',
    ]);
    expect(() => loadConfig({ PHOTOCHANGER_METRICS_ALLOW: '1.2.3.4/40' })).toThrow(/PHOTOCHANGER_METRICS_ALLOW/);
    // The scrape token opens nothing else.
    expect(
      (await getFrom(stranger, server.url, '/api/slots', { authorization: `Bearer ${SCRAPE_TOKEN}` })).status,
    ).toBe(401);
    local.destroy();
    stranger.destroy();
  });

  it("finding 14: a browser keeps no private image: the admin gallery's never, a shared gallery's only revalidated", async () => {
    const job = (
      await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes(320, 240) })
    ).headers.get('x-job-id')!;
    for (const p of [`/api/gallery/${job}/thumb`, `/api/gallery/${job}/image`]) {
      const res = await fetch(`${server.url}${p}`, { headers: authHeader(server, ['stats:read']) });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('cache-control'), p).toBe('private, no-store');
    }
    const share = await jsonOf(
      await fetch(`${server.url}/api/gallery/shares`, {
        method: 'POST',
        headers: { ...authHeader(server), 'content-type': 'application/json' },
        body: JSON.stringify({ slot_ids: ['slot-001'] }),
      }),
    );
    const page = await (await fetch(`${server.url}${share.path as string}`)).text();
    const thumb = /src="(\/g\/[^"]+\/t\/[^"]+)"/.exec(page)?.[1];
    expect(thumb).toBeDefined();
    const shared = await fetch(`${server.url}${thumb!}`);
    expect(shared.status).toBe(200);
    expect(shared.headers.get('cache-control')).toBe('private, no-cache');
    // Revalidated while the link is open: 304 without the bytes; once revoked, 410.
    const etag = shared.headers.get('etag')!;
    expect((await fetch(`${server.url}${thumb!}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect(
      (
        await fetch(`${server.url}/api/gallery/shares/${share.id as string}`, {
          method: 'DELETE',
          headers: authHeader(server),
        })
      ).status,
    ).toBe(204);
    expect((await fetch(`${server.url}${thumb!}`, { headers: { 'if-none-match': etag } })).status).toBe(410);
  });
});

describe('red team 2026-12-07, finding 11: what a killed process left', () => {
  let server: TestServer | undefined;
  let root: string;
  afterAll(async () => {
    await server?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('payload folders without a live job are removed at start, before the server listens', async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-leftovers-'));
    const left = path.join(root, 'payloads', randomUUID());
    await fs.mkdir(left, { recursive: true });
    await fs.writeFile(path.join(left, '1-shot.jpg'), Buffer.alloc(1024, 1));
    const anHourAgo = new Date(Date.now() - 3600_000);
    await fs.utimes(path.join(left, '1-shot.jpg'), anHourAgo, anHourAgo);
    await fs.utimes(left, anHourAgo, anHourAgo);
    // An upload another instance is still writing (no job row yet, its file written just now) stays.
    const inProgress = path.join(root, 'payloads', randomUUID());
    await fs.mkdir(inProgress);
    await fs.writeFile(path.join(inProgress, '1-shot.jpg'), Buffer.alloc(1024, 2));
    await fs.utimes(inProgress, anHourAgo, anHourAgo);
    server = await startTestServer({ env: { PHOTOCHANGER_MEDIA_ROOT: root } });
    await expect(fs.access(left)).rejects.toThrow();
    await fs.access(inProgress);
    expect(server.logLines.some((l) => l.includes('removed payload folders left by an earlier process'))).toBe(true);
  });
});
