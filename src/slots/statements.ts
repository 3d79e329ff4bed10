import type { Db } from '../db/database.js';
import { NO_FAILOVER, type Failover } from '../db/schema.js';

export interface SlotRecord {
  id: string;
  name: string;
  enabled: boolean;
  provider: string;
  operation: string;
  settings: Record<string, unknown>;
  failover: Failover;
  maxUploadBytes: number | null;
  updatedAt: Date;
}

/** The slot an ingest targets (enabled or not; the caller decides). */
export async function findSlot(db: Db, id: string): Promise<SlotRecord | undefined> {
  const row = await db
    .selectFrom('slot')
    .select(['id', 'name', 'enabled', 'provider', 'operation', 'settings', 'failover', 'max_upload_bytes', 'updated_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    provider: row.provider,
    operation: row.operation,
    settings: row.settings,
    failover: row.failover ?? NO_FAILOVER,
    maxUploadBytes: row.max_upload_bytes === null ? null : Number(row.max_upload_bytes),
    updatedAt: row.updated_at,
  };
}
