/**
 * The database a command-line tool works on: PHOTOCHANGER_DATABASE_URL, else the running server's
 * embedded database (it leaves its address in DATA_DIR/database-url, mode 0600, while it runs),
 * else the embedded database of DATA_DIR started for the command (never a new, empty cluster).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import { connectDatabase, migrateToLatest, type Db } from '../db/database.js';
import { DATABASE_URL_FILE, startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import type { Logger } from '../logger.js';

export async function openCliDatabase(config: Config, log: Logger): Promise<{ db: Db; close(): Promise<void> }> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) url = await runningServerDatabase(config.dataDir);
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'pgdata'),
      database: 'photochanger',
      log,
      existingOnly: true,
    });
    url = embedded.url;
  }
  const database = connectDatabase(url, { statementTimeoutMs: config.queueStatementTimeoutMs, log });
  try {
    await migrateToLatest(database.db, log);
  } catch (err) {
    await database.close();
    await embedded?.stop();
    throw err;
  }
  return {
    db: database.db,
    close: async () => {
      await database.close();
      await embedded?.stop();
    },
  };
}

/** The running server's embedded database, when it is up (its address file and a connection). */
export async function runningServerDatabase(dataDir: string): Promise<string | undefined> {
  const url = (await fs.readFile(path.join(dataDir, DATABASE_URL_FILE), 'utf8').catch(() => '')).trim();
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined; // left by a server that is gone
  } finally {
    await client.end().catch(() => undefined);
  }
}
