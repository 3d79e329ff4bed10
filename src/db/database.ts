import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

// bigint (int8) columns come back as strings by default; counts and sizes here fit a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

/**
 * The connection pool. Every statement is bounded twice: `statement_timeout` on the server and
 * `query_timeout` on the client (a paused or unreachable server never answers the first), and
 * acquiring a connection is bounded too, so a database outage surfaces as an error within
 * PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS (mapped to 503 queue_unavailable), not as a hang.
 */
export function connectDatabase(
  url: string,
  options: { statementTimeoutMs: number; log: Logger; max?: number },
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 20,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 250,
    connectionTimeoutMillis: options.statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
    idleTimeoutMillis: 30_000,
    application_name: 'photochanger',
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout reconnects.
  pool.on('error', (err) => options.log.warn({ err: { message: err.message } }, 'idle database connection lost'));
  // A checked-out client whose server goes away between two statements emits 'error' itself;
  // unhandled, that would crash the process. The statement in progress (if any) still fails.
  pool.on('connect', (client) =>
    client.on('error', (err) => options.log.warn({ err: { message: err.message } }, 'database connection lost')),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool, url, close: () => db.destroy() };
}

/** Runs every pending migration (Kysely's migrator takes an advisory lock, so instances may race). */
export async function migrateToLatest(db: Db, log: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') log.info({ migration: r.migrationName }, 'migration applied');
    if (r.status === 'Error') log.error({ migration: r.migrationName }, 'migration failed');
  }
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

const UNAVAILABLE_SQLSTATE_PREFIXES = ['08', '53', '57', '58'];

/**
 * True when an error means "the database could not answer" (connection refused or lost, timeout,
 * server shutting down or out of resources), as opposed to a bug in a statement.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code === '57014') return true; // statement_timeout (query_canceled)
    if (UNAVAILABLE_SQLSTATE_PREFIXES.some((p) => code.startsWith(p)) && code.length === 5) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
      return true;
  }
  const m = err.message;
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection timeout|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down)|Client was closed|Cannot use a pool after calling end/i.test(
    m,
  );
}
