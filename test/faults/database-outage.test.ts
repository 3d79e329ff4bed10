import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const STATEMENT_TIMEOUT_MS = 1000;

/** The server's own PostgreSQL, paused with SIGSTOP and killed with SIGKILL under booth load. */
describe('database paused and killed under load', () => {
  let dir: string;
  let port: number;
  let pg: EmbeddedDatabase;
  let server: TestServer;
  let photo: Buffer;
  const log = createLogger('silent');

  const postgresPids = async (): Promise<number[]> => {
    const postmaster = Number((await fs.readFile(path.join(dir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return [postmaster, ...children];
  };
  const signalAll = async (signal: NodeJS.Signals) => {
    for (const pid of await postgresPids()) process.kill(pid, signal);
  };
  const burst = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo }),
      ),
    );
  const recovered = async (withinMs: number) => {
    const until = Date.now() + withinMs;
    for (;;) {
      const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
      expect(res.status === 200 || res.status === 503, `status ${res.status}`).toBe(true);
      if (res.status === 200) return Date.now();
      if (Date.now() > until) throw new Error('the server did not recover');
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-outage-'));
    await fs.chmod(dir, 0o755);
    pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pgdata'), database: 'photochanger', log });
    port = Number(new URL(pg.url).port);
    server = await startTestServer({
      databaseUrl: pg.url,
      env: { PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) },
    });
    photo = await jpegBytes(160, 120);
    expect((await burst(3)).map((r) => r.status)).toEqual([200, 200, 200]);
  });
  afterAll(async () => {
    await server?.close();
    await signalAll('SIGCONT').catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('paused (SIGSTOP): every request answers 503 queue_unavailable within the statement timeout, none 500; resumes by itself', async () => {
    await signalAll('SIGSTOP');
    try {
      const started = Date.now();
      const answers = await burst(6);
      const elapsed = Date.now() - started;
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect((await jsonOf(r)).error.code).toBe('queue_unavailable');
      }
      // Each statement gives up at the timeout; a request runs at most a couple before answering.
      expect(elapsed).toBeLessThan(STATEMENT_TIMEOUT_MS * 4);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await signalAll('SIGCONT');
    }
    await recovered(15_000);
  });

  it('killed (SIGKILL): 503 while it is down, no 500, and recovery without a restart once it is back', async () => {
    await signalAll('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const answers = await burst(4);
    for (const r of answers) expect(r.status).toBe(503);
    pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pgdata'), database: 'photochanger', log, port });
    await recovered(20_000);
    expect(server.logLines.some((l) => l.includes('"statusCode":500'))).toBe(false);
  });
});
