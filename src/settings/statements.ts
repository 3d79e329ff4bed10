/** The settings table's SQL (key → JSON value), one named function per statement. */
import type { Db } from '../db/database.js';

export async function readSetting(
  db: Db,
  key: string,
): Promise<{ value: unknown; updated_at: Date; updated_by: string | null } | undefined> {
  return db
    .selectFrom('setting')
    .select(['value', 'updated_at', 'updated_by'])
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Inserts or replaces one setting (its value as JSON text). */
export async function upsertSetting(
  db: Db,
  row: { key: string; json: string; now: Date; updatedBy: string | null },
): Promise<void> {
  await db
    .insertInto('setting')
    .values({ key: row.key, value: row.json, updated_at: row.now, updated_by: row.updatedBy })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value: row.json, updated_at: row.now, updated_by: row.updatedBy }),
    )
    .execute();
}

export async function deleteSetting(db: Db, key: string): Promise<void> {
  await db.deleteFrom('setting').where('key', '=', key).execute();
}

/** The rows of these keys (absent keys have none). */
export async function readSettings(db: Db, keys: readonly string[]): Promise<Array<{ key: string; value: unknown }>> {
  return db.selectFrom('setting').select(['key', 'value']).where('key', 'in', keys).execute();
}
