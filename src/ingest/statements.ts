/**
 * The ingest's own statement: what decides whether a booth's photo is taken, before its body is
 * read, in one round trip (three reads at once cost three backends' work and the slowest's wait).
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { slotRecordOf, type SlotRecord, type SlotRecordRow } from '../slots/statements.js';
import { RUNTIME_SETTING_KEYS } from '../settings/store.js';
import { slotTemplatesJson, templateRecord, type SlotTemplateRecord } from '../queue/statements.js';

export interface Admission {
  /** The slot (enabled or not; the caller decides), undefined when there is none. */
  slot: SlotRecord | undefined;
  /** The rows of RUNTIME_SETTING_KEYS by key (SettingsStore.runtimeOf resolves them). */
  settings: Record<string, unknown>;
  /** Unfinished, unexpired jobs right now: the quantity the in-flight cap bounds (enqueue_job counts the same). */
  inFlight: number;
  /** The slot's template images (what its job sends with the photo), as the slot is when the photo arrives. */
  templates: SlotTemplateRecord[];
}

export async function readAdmission(db: Db, slotId: string, now: Date): Promise<Admission> {
  const r = await sql<
    Partial<SlotRecordRow> & {
      runtime_settings: Record<string, unknown>;
      in_flight: number;
      templates: SlotTemplateRecord[];
    }
  >`
    SELECT s.id, s.name, s.enabled, s.provider, s.operation, s.settings, s.failover, s.max_upload_bytes, s.updated_at,
           (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM setting
             WHERE key = ANY(${sql.val(RUNTIME_SETTING_KEYS)}::text[])) AS runtime_settings,
           (SELECT count(*)::int FROM job WHERE NOT is_finalized AND expires_at > ${now}) AS in_flight,
           ${slotTemplatesJson(slotId)} AS templates
      FROM (SELECT 1) AS one LEFT JOIN slot s ON s.id = ${slotId}`.execute(db);
  const row = r.rows[0]!;
  return {
    slot: row.id === null || row.id === undefined ? undefined : slotRecordOf(row as SlotRecordRow),
    settings: row.runtime_settings,
    inFlight: row.in_flight,
    templates: row.templates.map(templateRecord),
  };
}
