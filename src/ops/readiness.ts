import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/database.js';
import { pingDatabase } from './statements.js';

export interface ReadinessReport {
  ready: boolean;
  checks: { database: string; media: string };
}

/**
 * Ready to take booth traffic: the database answers within the statement timeout and the media
 * root accepts a write. Liveness (/healthz) does not depend on either.
 */
export async function checkReadiness(db: Db, mediaRoot: string, timeoutMs: number): Promise<ReadinessReport> {
  const withTimeout = <T>(p: Promise<T>) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  const database = await withTimeout(pingDatabase(db)).then(
    () => 'ok',
    (err: unknown) => `unavailable: ${(err as Error).message}`,
  );
  const probe = path.join(mediaRoot, 'payloads', `.ready-${randomUUID()}`);
  const media = await withTimeout(fs.writeFile(probe, 'ok').then(() => fs.rm(probe))).then(
    () => 'ok',
    (err: unknown) => {
      void fs.rm(probe, { force: true }).catch(() => undefined);
      return `not writable: ${(err as { code?: string }).code ?? (err as Error).message}`;
    },
  );
  return { ready: database === 'ok' && media === 'ok', checks: { database, media } };
}
