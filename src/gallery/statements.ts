/**
 * The gallery's statements: results newest first (keyset pages on finalized_at, id — the partial
 * indexes of migration 010), one result, a slot's last result, results in time order for an
 * export, and the share links.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export type GalleryOutcome = 'succeeded' | 'failed' | 'all';

export interface GalleryFilter {
  slotIds?: readonly string[];
  from?: Date;
  to?: Date;
  outcome: GalleryOutcome;
  /** Keyset cursor: items strictly older than this one. */
  before?: { at: Date; id: string };
  limit: number;
  now: Date;
}

export interface GalleryRow {
  id: string;
  slot_id: string;
  provider: string;
  answered_by: string | null;
  operation: string;
  failure_reason: string | null;
  failure_detail: Record<string, unknown> | null;
  received_at: Date;
  claimed_at: Date | null;
  finalized_at: Date;
  result_path: string | null;
  result_mime: string | null;
  result_size: string | null;
  result_expires_at: Date | null;
  thumb_path: string | null;
  metadata: Record<string, unknown>;
}

const GALLERY_COLUMNS = sql`id, slot_id, provider, answered_by, operation, failure_reason, failure_detail, received_at, claimed_at,
  finalized_at, result_path, result_mime, result_size, result_expires_at, thumb_path, metadata`;

/** A live result: on disk and within its retention. */
const LIVE_RESULT = (now: Date) => sql`result_path IS NOT NULL AND result_expires_at > ${now}`;

/** One page of the gallery (test runs never appear). */
export async function listGallery(db: Db, f: GalleryFilter): Promise<GalleryRow[]> {
  const outcome =
    f.outcome === 'succeeded'
      ? LIVE_RESULT(f.now)
      : f.outcome === 'failed'
        ? sql`is_finalized AND failure_reason IS NOT NULL`
        : sql`is_finalized AND (failure_reason IS NOT NULL OR ${LIVE_RESULT(f.now)})`;
  const r = await sql<GalleryRow>`
    SELECT ${GALLERY_COLUMNS} FROM job
    WHERE ${outcome} AND NOT is_test
      AND ${f.slotIds ? sql`slot_id = ANY(${f.slotIds as string[]}::text[])` : sql`true`}
      AND ${f.from ? sql`finalized_at >= ${f.from}` : sql`true`}
      AND ${f.to ? sql`finalized_at < ${f.to}` : sql`true`}
      AND ${f.before ? sql`(finalized_at, id) < (${f.before.at}, ${f.before.id}::uuid)` : sql`true`}
    ORDER BY finalized_at DESC, id DESC
    LIMIT ${f.limit}`.execute(db);
  return r.rows;
}

/** One live result of the gallery (any slot unless `slotIds` narrows it). */
export async function findGalleryResult(
  db: Db,
  id: string,
  now: Date,
  slotIds?: readonly string[],
): Promise<GalleryRow | undefined> {
  const r = await sql<GalleryRow>`
    SELECT ${GALLERY_COLUMNS} FROM job
    WHERE id = ${id}::uuid AND ${LIVE_RESULT(now)} AND NOT is_test
      AND ${slotIds ? sql`slot_id = ANY(${slotIds as string[]}::text[])` : sql`true`}`.execute(db);
  return r.rows[0];
}

/** The newest live result of each slot (the slot list's cards). */
export async function lastResultPerSlot(db: Db, now: Date): Promise<Map<string, { id: string; finalized_at: Date }>> {
  const r = await sql<{ slot_id: string; id: string; finalized_at: Date }>`
    SELECT s.id AS slot_id, last.id, last.finalized_at FROM slot s
    CROSS JOIN LATERAL (
      SELECT id, finalized_at FROM job
      WHERE slot_id = s.id AND result_path IS NOT NULL AND NOT is_test AND result_expires_at > ${now}
      ORDER BY finalized_at DESC, id DESC LIMIT 1
    ) last`.execute(db);
  return new Map(r.rows.map((row) => [row.slot_id, { id: row.id, finalized_at: row.finalized_at }]));
}

export interface ExportRow {
  id: string;
  slot_id: string;
  finalized_at: Date;
  result_path: string;
  result_mime: string;
}

/** A batch of live results in time order (oldest first), after a keyset cursor. */
export async function listExportBatch(
  db: Db,
  f: {
    slotIds?: readonly string[];
    from?: Date;
    to?: Date;
    now: Date;
    after?: { at: Date; id: string };
    limit: number;
  },
): Promise<ExportRow[]> {
  const r = await sql<ExportRow>`
    SELECT id, slot_id, finalized_at, result_path, result_mime FROM job
    WHERE ${LIVE_RESULT(f.now)} AND NOT is_test
      AND ${f.slotIds ? sql`slot_id = ANY(${f.slotIds as string[]}::text[])` : sql`true`}
      AND ${f.from ? sql`finalized_at >= ${f.from}` : sql`true`}
      AND ${f.to ? sql`finalized_at < ${f.to}` : sql`true`}
      AND ${f.after ? sql`(finalized_at, id) > (${f.after.at}, ${f.after.id}::uuid)` : sql`true`}
    ORDER BY finalized_at, id
    LIMIT ${f.limit}`.execute(db);
  return r.rows;
}

export interface ShareRow {
  id: string;
  token: string;
  title: string;
  slot_ids: string[];
  ref_key: Buffer;
  since: Date;
  created_by: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export async function insertShare(db: Db, share: ShareRow): Promise<void> {
  await db.insertInto('gallery_share').values(share).execute();
}

/** Share links, newest first: every active one, and the latest 50 revoked or expired (for the record). */
export async function listShares(db: Db, now: Date): Promise<ShareRow[]> {
  const r = await sql<ShareRow>`
    (SELECT * FROM gallery_share WHERE revoked_at IS NULL AND expires_at > ${now})
    UNION ALL
    (SELECT * FROM gallery_share WHERE revoked_at IS NOT NULL OR expires_at <= ${now} ORDER BY created_at DESC LIMIT 50)
    ORDER BY created_at DESC`.execute(db);
  return r.rows;
}

export function findShareByToken(db: Db, token: string): Promise<ShareRow | undefined> {
  return db.selectFrom('gallery_share').selectAll().where('token', '=', token).executeTakeFirst();
}

export function findShare(db: Db, id: string): Promise<ShareRow | undefined> {
  return db.selectFrom('gallery_share').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Revokes a share link (idempotent); false when there is no such link. */
export async function revokeShare(db: Db, id: string, now: Date): Promise<boolean> {
  const r =
    await sql`UPDATE gallery_share SET revoked_at = COALESCE(revoked_at, ${now}) WHERE id = ${id}::uuid`.execute(db);
  return Number(r.numAffectedRows ?? 0) === 1;
}

/** The thumbnail of a result still on disk (false: the result expired or was removed meanwhile). */
export async function recordThumbnail(db: Db, jobId: string, thumbPath: string): Promise<boolean> {
  const r = await sql`UPDATE job SET thumb_path = ${thumbPath} WHERE id = ${jobId} AND result_path IS NOT NULL`.execute(
    db,
  );
  return Number(r.numAffectedRows ?? 0) === 1;
}

/** Which of these slot ids exist (a share names only real slots). */
export async function existingSlotIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('slot')
    .select('id')
    .where('id', 'in', [...ids])
    .execute();
  return new Set(rows.map((r) => r.id));
}
