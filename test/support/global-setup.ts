import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';

/**
 * One PostgreSQL server for the whole run: the machine's (PHOTOCHANGER_TEST_DATABASE_URL, as CI's
 * second pass does) or an embedded one in a temporary directory. Each test file then creates its
 * own fresh database on it (test/support/db.ts).
 */
let embedded: EmbeddedDatabase | undefined;
let tmp: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.PHOTOCHANGER_TEST_DATABASE_URL;
  if (!url) {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-test-pg-'));
    await fs.chmod(tmp, 0o755);
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tmp, 'pgdata'),
      database: 'postgres',
      log: createLogger('silent'),
    });
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}
