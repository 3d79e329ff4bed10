import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabase, migrateToLatest, type DatabaseHandle } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';

/** The server every test database lives on (embedded, or CI's PostgreSQL). */
export function adminDatabaseUrl(): string {
  return inject('adminDatabaseUrl');
}

/** Creates an empty, uniquely named database and returns its URL. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = adminDatabaseUrl();
  const name = `pc_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestDatabase extends DatabaseHandle {
  /** Closes the pool and drops the database. */
  destroy(): Promise<void>;
}

/** A fresh, migrated database with its pool: one per test file (or per test that needs isolation). */
export async function createTestDatabase(options: { statementTimeoutMs?: number } = {}): Promise<TestDatabase> {
  const empty = await createEmptyDatabase();
  const log = createLogger('silent');
  const handle = connectDatabase(empty.url, { statementTimeoutMs: options.statementTimeoutMs ?? 2000, log });
  await migrateToLatest(handle.db, log);
  return {
    ...handle,
    destroy: async () => {
      await handle.close().catch(() => undefined);
      await empty.drop();
    },
  };
}
