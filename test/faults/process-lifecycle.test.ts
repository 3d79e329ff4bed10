import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../src/auth/tokens.js';
import { systemClock } from '../../src/clock.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { createEmptyDatabase } from '../support/db.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import { eventually } from '../support/fakes/request.js';
import { jpegBytes, jsonOf, loginFromAddress, postIngest } from '../support/http.js';
import { TEST_ADMIN, TEST_INGEST_PASSWORD } from '../support/server.js';

const JWT_SECRET = 'child-server-test-jwt-secret-0123456789abcdef';

/** The real process: SIGKILL mid-processing and restart, and SIGTERM with requests in flight. */
describe('server process crash and graceful shutdown', () => {
  let gemini: GeminiFake;
  let database: { url: string; drop(): Promise<void> };
  const children: ChildServer[] = [];
  let photo: Buffer;

  const env = () => ({
    PHOTOCHANGER_DATABASE_URL: database.url,
    PHOTOCHANGER_GEMINI_BASE_URL: gemini.baseUrl,
    PHOTOCHANGER_GEMINI_API_KEY: gemini.apiKey,
    PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '6',
    PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS: '1000',
  });
  const query = async <T>(text: string, values: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    try {
      return (await c.query(text, values)).rows as T[];
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    gemini = await startGeminiFake();
    database = await createEmptyDatabase();
    photo = await jpegBytes(320, 240);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  });
  afterAll(async () => {
    await gemini.close();
    await database.drop();
  });

  it('SIGKILL mid-processing, then restart: the job is finalized (never resumed), no orphan files after one cleanup pass', async () => {
    const first = await startChildServer(env());
    children.push(first);
    await query(
      `UPDATE slot SET provider = 'gemini', operation = 'edit', settings = '{"prompt":"paint it"}' WHERE id = 'slot-009'`,
    );
    gemini.setBehaviour({ kind: 'slow', delayMs: 60_000 });
    const pending = postIngest(first.url, 'slot-009', { password: TEST_INGEST_PASSWORD, file: photo }).catch(
      (e: unknown) => e,
    );
    await eventually(() => gemini.requests.length === 1, 10_000);
    const [job] = await query<{ id: string }>(`SELECT id FROM job WHERE NOT is_finalized`);
    expect(job).toBeDefined();
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(await pending).toBeInstanceOf(Error); // the booth saw the connection drop
    const mediaRoot = path.join(first.dataDir, 'media');
    expect((await fs.readdir(path.join(mediaRoot, 'payloads'))).length).toBe(1); // left by the crash

    gemini.setBehaviour({ kind: 'image' });
    const second = await startChildServer(env(), first.dataDir);
    children.push(second);
    // The dead instance stopped heart-beating: its job is finalized by the sweeper, not resumed.
    const deadline = Date.now() + 30_000;
    let row: { is_finalized: boolean; failure_reason: string | null } | undefined;
    while (Date.now() < deadline) {
      [row] = await query<{ is_finalized: boolean; failure_reason: string | null }>(
        `SELECT is_finalized, failure_reason FROM job WHERE id = $1`,
        [job!.id],
      );
      if (row?.is_finalized) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(row).toMatchObject({ is_finalized: true, failure_reason: 'timeout' });
    expect(gemini.requests).toHaveLength(1); // never sent to the provider again

    const token = new TokenService(JWT_SECRET, systemClock).sign({
      username: 'admin',
      permissions: ['settings:write'],
    }).access_token;
    const purge = await fetch(`${second.url}/api/media/cache/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(purge.status).toBe(202);
    expect(await fs.readdir(path.join(mediaRoot, 'payloads'))).toEqual([]);
    expect(await fs.readdir(path.join(mediaRoot, 'results'))).toEqual([]);
    // And the restarted server serves booths.
    expect((await postIngest(second.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
      200,
    );
  });

  it('SIGKILL with the embedded database (and its watchdog): back within 15 s, results kept, the interrupted job finalized by its deadline', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-kill9-'));
    const embeddedEnv = { ...env(), PHOTOCHANGER_DATABASE_URL: '' };
    const first = await startChildServer(embeddedEnv, dir);
    children.push(first);
    const token = new TokenService(JWT_SECRET, systemClock).sign({
      username: 'admin',
      permissions: ['slots:read', 'slots:write', 'stats:read'],
    }).access_token;
    const auth = { authorization: `Bearer ${token}` };
    const slot = await fetch(`${first.url}/api/slots/slot-009`, { headers: auth });
    const put = await fetch(`${first.url}/api/slots/slot-009`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json', 'if-match': slot.headers.get('etag')! },
      body: JSON.stringify({
        name: 'Gemini',
        enabled: true,
        provider: 'gemini',
        operation: 'edit',
        settings: { prompt: 'paint it' },
        max_upload_bytes: null,
      }),
    });
    expect(put.status).toBe(200);
    const done = await postIngest(first.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(done.status).toBe(200);
    const doneId = done.headers.get('x-job-id')!;
    const doneBytes = Buffer.from(await done.arrayBuffer());

    gemini.setBehaviour({ kind: 'slow', delayMs: 60_000 });
    gemini.requests.length = 0;
    const pending = postIngest(first.url, 'slot-009', { password: TEST_INGEST_PASSWORD, file: photo }).catch(
      (e: unknown) => e,
    );
    await eventually(() => gemini.requests.length === 1, 10_000);
    const started = JSON.parse(first.logs.find((l) => l.includes('"embedded PostgreSQL started"'))!) as {
      pid: number;
      watchdog_pid: number;
    };
    // The worst case: the watchdog dies too (kill -9 of everything), so the database is left running.
    process.kill(started.watchdog_pid, 'SIGKILL');
    first.proc.kill('SIGKILL');
    await first.exited;
    const interrupted = await pending;
    expect(interrupted).toBeInstanceOf(Error);
    expect(() => process.kill(started.pid, 0)).not.toThrow(); // orphaned PostgreSQL still running

    gemini.setBehaviour({ kind: 'image' });
    const restartAt = Date.now();
    const second = await startChildServer(embeddedEnv, dir);
    children.push(second);
    expect(Date.now() - restartAt).toBeLessThan(15_000);
    expect(second.logs.some((l) => l.includes('still running (the previous server was killed): stopping it'))).toBe(
      true,
    );

    const kept = await fetch(`${second.url}/public/results/${doneId}`);
    expect(kept.status).toBe(200);
    expect(Buffer.from(await kept.arrayBuffer()).equals(doneBytes)).toBe(true);
    const jobs = (await (await fetch(`${second.url}/api/jobs?slot_id=slot-009`, { headers: auth })).json()) as {
      jobs: { id: string; is_finalized?: boolean; outcome?: string }[];
    };
    const interruptedId = jobs.jobs[0]!.id;
    const readJob = async () =>
      (await (await fetch(`${second.url}/api/jobs/${interruptedId}`, { headers: auth })).json()) as {
        outcome: string;
        finalized_at: string | null;
        deadline: { expires_at: string };
      };
    let job = await readJob();
    for (const until = Date.now() + 30_000; job.finalized_at === null && Date.now() < until; job = await readJob())
      await new Promise((r) => setTimeout(r, 250));
    expect(job.outcome).toBe('timeout');
    // Finalized by the sweeper within a few seconds of its deadline, not left open.
    expect(Date.parse(job.finalized_at!) - Date.parse(job.deadline.expires_at)).toBeLessThan(15_000);
    expect(gemini.requests).toHaveLength(1); // never resumed
    // Killing the restarted server with its watchdog alive: the watchdog stops the database.
    const again = JSON.parse(second.logs.find((l) => l.includes('"embedded PostgreSQL started"'))!) as { pid: number };
    second.proc.kill('SIGKILL');
    await second.exited;
    await eventually(() => {
      try {
        process.kill(again.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('backup and restore as docs/operations.md says: stop, tar the data directory, wipe it, restore it, start: results and accounts are back', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-backup-'));
    await fs.chmod(parent, 0o755);
    const dataDir = path.join(parent, 'data');
    await fs.mkdir(dataDir);
    const embeddedEnv = {
      ...env(),
      PHOTOCHANGER_DATABASE_URL: '',
      PHOTOCHANGER_MEDIA_ROOT: path.join(dataDir, 'media'),
    };
    const first = await startChildServer(embeddedEnv, dataDir);
    children.push(first);
    const shot = await postIngest(first.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(shot.status).toBe(200);
    const id = shot.headers.get('x-job-id')!;
    const bytes = Buffer.from(await shot.arrayBuffer());
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The documented commands, with this test's folders.
    execFileSync('tar', ['-C', parent, '-czpf', path.join(parent, 'backup.tar.gz'), 'data']);
    await fs.rm(dataDir, { recursive: true, force: true });
    execFileSync('tar', ['-C', parent, '-xzpf', path.join(parent, 'backup.tar.gz')]);
    const restored = await startChildServer(embeddedEnv, dataDir);
    children.push(restored);
    const again = await fetch(`${restored.url}/public/results/${id}`);
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);
    const login = await fetch(`${restored.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(TEST_ADMIN),
    });
    expect(login.status).toBe(200);
    restored.proc.kill('SIGTERM');
    expect(await restored.exited).toBe(0);
    await fs.rm(parent, { recursive: true, force: true });
  });

  it('the admin CLI works while the server runs on its embedded database: unlock and reset-password reach the server at once', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-cli-'));
    const server = await startChildServer({ ...env(), PHOTOCHANGER_DATABASE_URL: '' }, dir);
    children.push(server);
    const loginFrom = async (from: string, password: string) =>
      (await loginFromAddress(server.url, from, TEST_ADMIN.username, password)).status;
    for (let i = 0; i < 7; i++) await loginFrom('127.0.0.2', `wrong-${i}-password`);
    expect(await loginFrom('127.0.0.2', TEST_ADMIN.password)).toBe(429);
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], {
        env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATA_DIR: dir },
        encoding: 'utf8',
      });
    expect(cli('users', 'unlock', 'admin')).toContain('can log in again');
    expect(await loginFrom('127.0.0.2', TEST_ADMIN.password)).toBe(200);
    expect(cli('users', 'reset-password', 'admin', '--password', 'a-brand-new-password')).toContain('changed');
    expect(await loginFrom('127.0.0.3', TEST_ADMIN.password)).toBe(401);
    expect(await loginFrom('127.0.0.3', 'a-brand-new-password')).toBe(200);
    // A second `npm start` on the same data directory is refused in words; the running one keeps its database.
    const second = await startChildServer({ ...env(), PHOTOCHANGER_DATABASE_URL: '' }, dir).catch(
      (e: unknown) => e as Error,
    );
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(/Another PhotoChanger \(pid \d+\) is running on this data directory/);
    expect(await loginFrom('127.0.0.4', 'a-brand-new-password')).toBe(200);
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await expect(fs.access(path.join(dir, 'database-url'))).rejects.toThrow();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('SIGTERM: waiting requests are answered, new ones get 503 shutting_down, the process exits 0', async () => {
    const server = await startChildServer(env());
    children.push(server);
    await query(
      `UPDATE slot SET provider = 'gemini', operation = 'edit', settings = '{"prompt":"paint it"}' WHERE id = 'slot-009'`,
    );
    gemini.setBehaviour({ kind: 'image', delayMs: 1500 });
    gemini.requests.length = 0;
    const waiting = postIngest(server.url, 'slot-009', { password: TEST_INGEST_PASSWORD, file: photo });
    await eventually(() => gemini.requests.length === 1, 10_000);
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const refused = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo }).catch(
      (e: unknown) => e,
    );
    if (refused instanceof Response) {
      expect(refused.status).toBe(503);
      expect((await jsonOf(refused)).error.code).toBe('shutting_down');
    } else {
      // The listener may already be closed: the new request is refused at connect.
      expect(refused).toBeInstanceOf(Error);
    }
    const answered = await waiting;
    expect(answered.status).toBe(200);
    const stopStarted = Date.now();
    expect(await server.exited).toBe(0);
    // Idle keep-alive connections do not hold the shutdown.
    expect(Date.now() - stopStarted).toBeLessThan(10_000);
    const [unfinished] = await query<{ n: string }>(`SELECT count(*) AS n FROM job WHERE NOT is_finalized`);
    expect(Number(unfinished!.n)).toBe(0);
  });
});
