/**
 * The slot table's statements (and its templates'): one named function per query. Naming: a *Row*
 * is what a query returns (snake_case columns), a *Record* a row mapped for the code's hot paths
 * (camelCase), a *View* what the API sends (src/slots/service.ts).
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { NO_FAILOVER, type Failover, type SlotNotice } from '../db/schema.js';

/** What every shape of a slot has. */
export interface SlotCore {
  id: string;
  name: string;
  enabled: boolean;
  provider: string;
  operation: string;
  settings: Record<string, unknown>;
}

/** The fields of SlotCore from a row (the mapping every shape starts with). */
export function slotCoreOf(row: SlotCore): SlotCore {
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    provider: row.provider,
    operation: row.operation,
    settings: row.settings,
  };
}
export interface SlotRecord extends SlotCore {
  failover: Failover;
  maxUploadBytes: number | null;
  updatedAt: Date;
}

/** The slot columns a SlotRecord is made of (findSlot, and the ingest's admission read in src/ingest/statements.ts). */
export interface SlotRecordRow extends SlotCore {
  failover: Failover | null;
  max_upload_bytes: number | string | null;
  updated_at: Date;
}

export function slotRecordOf(row: SlotRecordRow): SlotRecord {
  return {
    ...slotCoreOf(row),
    failover: row.failover ?? NO_FAILOVER,
    maxUploadBytes: row.max_upload_bytes === null ? null : Number(row.max_upload_bytes),
    updatedAt: row.updated_at,
  };
}

/** The slot an ingest targets (enabled or not; the caller decides). */
export async function findSlot(db: Db, id: string): Promise<SlotRecord | undefined> {
  const row = await db
    .selectFrom('slot')
    .select([
      'id',
      'name',
      'enabled',
      'provider',
      'operation',
      'settings',
      'failover',
      'max_upload_bytes',
      'updated_at',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? slotRecordOf(row) : undefined;
}

/** A slot row as the admin API shows it, with its activity (SQL over the job table). */
export interface SlotAdminRow extends SlotCore {
  max_upload_bytes: number | null;
  notice: SlotNotice | null;
  failover: Failover;
  updated_at: Date;
  last_activity_at: Date | null;
  today_succeeded: number;
  today_failed: number;
  /** Booth requests refused for a wrong password in the current and the previous hour. */
  recent_wrong_passwords: number;
}

/** Every slot (or one) with its last job and today's counts since `dayStart` (booth test runs excluded). */
export async function listSlotsForAdmin(
  db: Db,
  dayStart: Date,
  slotId?: string,
  now: Date = new Date(),
): Promise<SlotAdminRow[]> {
  const result = await sql<SlotAdminRow>`
    SELECT s.id, s.name, s.enabled, s.provider, s.operation, s.settings, s.max_upload_bytes, s.notice, s.failover, s.updated_at,
           (SELECT max(j.created_at) FROM job j WHERE j.slot_id = s.id) AS last_activity_at,
           (SELECT count(*) FROM job j WHERE j.slot_id = s.id AND j.created_at >= ${dayStart} AND NOT j.is_test
              AND j.is_finalized AND j.failure_reason IS NULL)::int AS today_succeeded,
           (SELECT count(*) FROM job j WHERE j.slot_id = s.id AND j.created_at >= ${dayStart} AND NOT j.is_test
              AND j.failure_reason IN ('timeout', 'provider_error', 'internal_error'))::int AS today_failed,
           (SELECT coalesce(sum(r.count), 0) FROM ingest_rejection_count r
             WHERE r.slot_id = s.id AND r.code = 'invalid_password'
               AND r.hour >= date_trunc('hour', ${now}::timestamptz, 'UTC') - interval '1 hour')::int AS recent_wrong_passwords
      FROM slot s
     WHERE (${slotId ?? null}::text IS NULL OR s.id = ${slotId ?? null})
     ORDER BY s.id`.execute(db);
  return result.rows.map((r) => ({
    ...r,
    max_upload_bytes: r.max_upload_bytes === null ? null : Number(r.max_upload_bytes),
  }));
}

export interface SlotUpdate {
  name: string;
  enabled: boolean;
  provider: string;
  operation: string;
  settings: Record<string, unknown>;
  maxUploadBytes: number | null;
  failover?: Failover;
}

/**
 * Optimistic concurrency in one statement: the row is written only if it still has the
 * `updated_at` the editor loaded. Returns the new `updated_at`, or undefined on a stale write.
 */
export async function updateSlotIfUnchanged(
  db: Db,
  id: string,
  expectedUpdatedAt: Date,
  update: SlotUpdate,
  now: Date,
): Promise<Date | undefined> {
  const row = await db
    .updateTable('slot')
    .set({
      name: update.name,
      enabled: update.enabled,
      provider: update.provider,
      operation: update.operation,
      settings: JSON.stringify(update.settings),
      max_upload_bytes: update.maxUploadBytes,
      ...(update.failover ? { failover: JSON.stringify(update.failover) } : {}),
      notice: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .where(sql<boolean>`date_trunc('milliseconds', updated_at) = ${expectedUpdatedAt}`)
    .returning('updated_at')
    .executeTakeFirst();
  return row?.updated_at;
}

/** Slots on a provider, with their settings (the start-up check of their models reads them). */
export async function listSlotSettingsForProvider(
  db: Db,
  provider: string,
): Promise<{ id: string; operation: string; settings: Record<string, unknown> }[]> {
  return db
    .selectFrom('slot')
    .select(['id', 'operation', 'settings'])
    .where('provider', '=', provider)
    .orderBy('id')
    .execute();
}

/**
 * Writes settings the server changed by itself (a shut-down model replaced), with the notice the
 * operator reads, only if the slot still has the settings that were checked (an admin's save wins).
 */
export async function replaceSlotSettingsWithNotice(
  db: Db,
  id: string,
  expected: Record<string, unknown>,
  update: { settings: Record<string, unknown>; notice: SlotNotice },
  now: Date,
): Promise<boolean> {
  const r = await sql`
    UPDATE slot SET settings = ${JSON.stringify(update.settings)}::jsonb, notice = ${JSON.stringify(update.notice)}::jsonb, updated_at = ${now}
     WHERE id = ${id} AND settings = ${JSON.stringify(expected)}::jsonb`.execute(db);
  return Number(r.numAffectedRows ?? 0) > 0;
}

export async function resetSlotStats(db: Db, id: string, now: Date): Promise<boolean> {
  const r = await db.updateTable('slot').set({ stats_reset_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export interface TemplateRow {
  id: string;
  slot_id: string;
  setting_key: string;
  path: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  created_at: Date;
}

export async function listTemplateRows(db: Db, slotId?: string): Promise<TemplateRow[]> {
  let q = db
    .selectFrom('template')
    .select(['id', 'slot_id', 'setting_key', 'path', 'mime', 'size', 'width', 'height', 'created_at'])
    .orderBy('setting_key');
  if (slotId) q = q.where('slot_id', '=', slotId);
  return (await q.execute()).map((r) => ({ ...r, size: Number(r.size) }));
}

export async function findTemplate(db: Db, slotId: string, templateId: string): Promise<TemplateRow | undefined> {
  const r = await db
    .selectFrom('template')
    .select(['id', 'slot_id', 'setting_key', 'path', 'mime', 'size', 'width', 'height', 'created_at'])
    .where('slot_id', '=', slotId)
    .where('id', '=', templateId)
    .executeTakeFirst();
  return r ? { ...r, size: Number(r.size) } : undefined;
}

/**
 * Binds a template to a slot's settings key, replacing the previous binding of that key in the
 * same transaction. Returns the path of the replaced file (to delete once committed).
 */
export async function bindTemplate(
  db: Db,
  t: {
    id: string;
    slotId: string;
    key: string;
    path: string;
    mime: string;
    size: number;
    sha256: string;
    width: number | null;
    height: number | null;
    createdAt: Date;
  },
): Promise<string | undefined> {
  return db.transaction().execute(async (trx) => {
    const old = await trx
      .deleteFrom('template')
      .where('slot_id', '=', t.slotId)
      .where('setting_key', '=', t.key)
      .returning('path')
      .executeTakeFirst();
    await trx
      .insertInto('template')
      .values({
        id: t.id,
        slot_id: t.slotId,
        setting_key: t.key,
        path: t.path,
        mime: t.mime,
        size: t.size,
        sha256: t.sha256,
        width: t.width,
        height: t.height,
        created_at: t.createdAt,
      })
      .execute();
    return old?.path;
  });
}

export async function deleteTemplate(db: Db, slotId: string, templateId: string): Promise<string | undefined> {
  const r = await db
    .deleteFrom('template')
    .where('slot_id', '=', slotId)
    .where('id', '=', templateId)
    .returning('path')
    .executeTakeFirst();
  return r?.path;
}

/** Whether any template row still points at a file (files may be shared after a copy). */
export async function isTemplateFileUsed(db: Db, filePath: string): Promise<boolean> {
  const r = await db.selectFrom('template').select('id').where('path', '=', filePath).executeTakeFirst();
  return r !== undefined;
}
