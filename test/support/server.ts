import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { InterfaceLister } from '../../src/ops/public-address.js';
import type { ProviderDriver } from '../../src/providers/types.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createEmptyDatabase } from './db.js';

export const TEST_INGEST_PASSWORD = 'booth-secret-1';
export const TEST_ADMIN = { username: 'admin', password: 'test-admin-password' };

export interface TestServer extends RunningServer {
  mediaRoot: string;
  dataDir: string;
  /** The server's database (for command-line tools run against it). */
  databaseUrl: string;
  /** Log lines written while the server ran (JSON strings). */
  logLines: string[];
  /** Stops the server, drops its database, removes its directories. */
  close(): Promise<void>;
}

/**
 * The real server (same startServer as `npm start`) on a fresh database of the test PostgreSQL,
 * a temporary data dir and media root, listening on 127.0.0.1 with a kernel-chosen port.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    providers?: ProviderDriver[];
    clock?: Clock;
    databaseUrl?: string;
    webRoot?: string;
    networkInterfaces?: InterfaceLister;
    announce?: (text: string) => void;
  } = {},
): Promise<TestServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-test-'));
  const database = options.databaseUrl ? undefined : await createEmptyDatabase();
  const config: Config = loadConfig({
    PHOTOCHANGER_HOST: '127.0.0.1',
    PHOTOCHANGER_PORT: '0',
    PHOTOCHANGER_DATA_DIR: dataDir,
    PHOTOCHANGER_MEDIA_ROOT: path.join(dataDir, 'media'),
    PHOTOCHANGER_DATABASE_URL: options.databaseUrl ?? database!.url,
    PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '5',
    PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS: '1000',
    PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD: TEST_INGEST_PASSWORD,
    PHOTOCHANGER_BOOTSTRAP_ADMIN: `${TEST_ADMIN.username}:${TEST_ADMIN.password}`,
    PHOTOCHANGER_LOG_LEVEL: 'debug',
    ...options.env,
  });
  const logLines: string[] = [];
  const log = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const server = await startServer(config, log, {
    providers: options.providers,
    clock: options.clock,
    webRoot: options.webRoot,
    announce: options.announce ?? (() => undefined),
    // No LAN address unless a test gives one: links are never built on this machine's real interfaces.
    networkInterfaces: options.networkInterfaces ?? (() => ({})),
  });
  let closed = false;
  return {
    ...server,
    mediaRoot: config.mediaRoot,
    dataDir,
    databaseUrl: config.databaseUrl!,
    logLines,
    close: async () => {
      if (closed) return;
      closed = true;
      // A stuck shutdown is a bug: say where it stuck (the last shutdown step logged) instead of
      // timing out silently.
      const watchdog = setTimeout(() => {
        const steps = logLines
          .filter((l) => l.includes('"shutdown step"'))
          .map((l) => (JSON.parse(l) as { step: string }).step);
        process.stderr.write(
          `test server close is stuck after ${JSON.stringify(steps)}; last log lines:\n${logLines.slice(-15).join('\n')}\n`,
        );
      }, 20_000);
      try {
        await server.forceStop().catch(() => undefined);
        await database?.drop();
        await fs.rm(dataDir, { recursive: true, force: true });
      } finally {
        clearTimeout(watchdog);
      }
    },
  };
}

/** Files left under a media subdirectory (recursively), for "nothing left behind" assertions. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${p}/`);
        await walk(p);
      } else out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** A bearer header for a token with these permissions (default: all), signed by the server's key. */
export function authHeader(
  server: RunningServer,
  permissions: Permission[] = [...PERMISSIONS],
  username = TEST_ADMIN.username,
): Record<string, string> {
  return { authorization: `Bearer ${server.tokens.sign({ username, permissions }).access_token}` };
}
