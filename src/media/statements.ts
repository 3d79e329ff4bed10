/**
 * The media lifecycle's SQL (results' retention, orphan files, temporary links, public results),
 * one named function per statement (docs/architecture.md). Batched: one query per cleanup step,
 * not one per file.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** Results whose retention ended (at most `limit`, oldest first). */
export async function listExpiredResults(
  db: Db,
  now: Date,
  limit: number,
): Promise<Array<{ id: string; result_path: string; thumb_path: string | null }>> {
  const r = await sql<{ id: string; result_path: string; thumb_path: string | null }>`
    SELECT id, result_path, thumb_path FROM job
    WHERE result_path IS NOT NULL AND result_expires_at <= ${now}
    ORDER BY result_expires_at LIMIT ${limit}`.execute(db);
  return r.rows;
}

/** Their files are gone: the links go too (the public route answers 410). */
export async function clearResults(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`UPDATE job SET result_path = NULL, result_inline = NULL, thumb_path = NULL WHERE id = ANY(${ids}::uuid[])`.execute(
    db,
  );
}

/** Of these job ids, which have a row, and which of those are unfinished. */
export async function jobStates(
  db: Db,
  ids: readonly string[],
): Promise<{ known: Set<string>; unfinished: Set<string> }> {
  if (ids.length === 0) return { known: new Set(), unfinished: new Set() };
  const r = await sql<{
    id: string;
    is_finalized: boolean;
  }>`SELECT id, is_finalized FROM job WHERE id = ANY(${ids}::uuid[])`.execute(db);
  return {
    known: new Set(r.rows.map((x) => x.id)),
    unfinished: new Set(r.rows.filter((x) => !x.is_finalized).map((x) => x.id)),
  };
}

/** Of these (job id, file) pairs, the files that are their job's result. */
export async function ownedResultFiles(
  db: Db,
  files: ReadonlyArray<{ id: string; file: string }>,
): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const r = await sql<{ result_path: string }>`
    SELECT j.result_path FROM job j
      JOIN unnest(${files.map((f) => f.id)}::uuid[], ${files.map((f) => f.file)}::text[]) AS f(id, file)
        ON j.id = f.id AND j.result_path = f.file`.execute(db);
  return new Set(r.rows.map((x) => x.result_path));
}

/** Of these job ids, those that still have a result. */
export async function jobsWithResults(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await sql<{
    id: string;
  }>`SELECT id FROM job WHERE id = ANY(${ids}::uuid[]) AND result_path IS NOT NULL`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}

/** A finalized, successful job's result as the public link shows it. */
export async function findFinalResult(db: Db, jobId: string) {
  return db
    .selectFrom('job')
    .select([
      'slot_id',
      'finalized_at',
      'result_path',
      'result_mime',
      'result_size',
      'result_expires_at',
      'result_sha256',
    ])
    .where('id', '=', jobId)
    .where('is_finalized', '=', true)
    .where('failure_reason', 'is', null)
    .executeTakeFirst();
}

// Temporary public links (src/media/temporary-links.ts)

export async function insertTemporaryMedia(
  db: Db,
  row: { id: string; jobId: string; path: string; mime: string; size: number; now: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('temporary_media')
    .values({
      id: row.id,
      job_id: row.jobId,
      path: row.path,
      mime: row.mime,
      size: row.size,
      created_at: row.now,
      expires_at: row.expiresAt,
    })
    .execute();
}

export async function findTemporaryMediaRow(db: Db, id: string) {
  return db
    .selectFrom('temporary_media')
    .select(['id', 'path', 'mime', 'size', 'expires_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Deletes a job's links; returns their files. */
export async function deleteTemporaryMediaOfJob(db: Db, jobId: string): Promise<string[]> {
  return (await db.deleteFrom('temporary_media').where('job_id', '=', jobId).returning(['path']).execute()).map(
    (r) => r.path,
  );
}

/** Deletes expired links; returns their files. */
export async function deleteExpiredTemporaryMedia(db: Db, now: Date): Promise<string[]> {
  return (await db.deleteFrom('temporary_media').where('expires_at', '<=', now).returning(['path']).execute()).map(
    (r) => r.path,
  );
}
