import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { BoothRequestTable, IngestRefusalTable } from '../db/schema.js';

export type GroupBy = 'hour' | 'day' | 'week';

export interface StatsRange {
  from: Date;
  to: Date;
  slotId?: string;
}

export interface HistogramRow {
  key: string | Date | null;
  failure_reason: string | null;
  is_finalized: boolean;
  lb: number | null;
  n: number;
}

/** Bucket widths for date_bin; the origin is a Monday at 00:00 UTC, so weeks are ISO weeks. */
const BIN: Record<GroupBy, string> = { hour: '1 hour', day: '1 day', week: '7 days' };

/**
 * Outcome counts and latency histogram rows of booth jobs in [from, to), keyed by `by` (series
 * buckets or providers): one range scan, one hash aggregate over small integers (the stored
 * latency_bucket column). Test runs are excluded. src/stats/summary.ts sums them.
 */
export async function jobHistogramRows(
  db: Db,
  range: StatsRange,
  by: { bucket: GroupBy } | 'provider' | 'none',
): Promise<HistogramRow[]> {
  const key =
    // Per provider: the one that answered (after a failover, not the slot's own).
    by === 'provider'
      ? sql`coalesce(answered_by, provider)`
      : by === 'none'
        ? sql`NULL::text`
        : sql`date_bin(${BIN[by.bucket]}::interval, created_at, '2001-01-01 00:00:00+00'::timestamptz)`;
  const result = await sql<HistogramRow>`
    SELECT ${key} AS key, failure_reason, is_finalized, latency_bucket AS lb, count(*)::int AS n
      FROM job
     WHERE created_at >= ${range.from} AND created_at < ${range.to} AND NOT is_test
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})
     GROUP BY 1, 2, 3, 4`.execute(db);
  return result.rows;
}

/** Requests refused before a job existed (401, 404, 413, 415, 429…), by code, optionally by bucket. */
export async function countRejections(
  db: Db,
  range: StatsRange,
  groupBy?: GroupBy,
): Promise<Array<{ bucket: Date | null; code: string; n: number }>> {
  // Counted per hour (src/stats/rejections.ts): a range starting inside an hour includes that hour.
  const bucket = groupBy
    ? sql`date_bin(${BIN[groupBy]}::interval, hour, '2001-01-01 00:00:00+00'::timestamptz)`
    : sql`NULL::timestamptz`;
  const result = await sql<{ bucket: Date | null; code: string; n: number }>`
    SELECT ${bucket} AS bucket, code, sum(count)::int AS n
      FROM ingest_rejection_count
     WHERE hour >= date_trunc('hour', ${range.from}::timestamptz, 'UTC') AND hour < ${range.to}
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})
     GROUP BY 1, 2`.execute(db);
  return result.rows;
}

/** Booth jobs answered by a failover provider (not the slot's own). */
export async function countFailovers(db: Db, range: StatsRange): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM job
     WHERE created_at >= ${range.from} AND created_at < ${range.to} AND NOT is_test
       AND answered_by IS NOT NULL AND answered_by <> provider
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})`.execute(db);
  return r.rows[0]?.n ?? 0;
}

/** Provider errors by their reason (model_unavailable, safety_block, rate_limited, …). */
export async function countProviderErrorReasons(db: Db, range: StatsRange): Promise<Record<string, number>> {
  const result = await sql<{ reason: string | null; n: number }>`
    SELECT failure_detail->>'reason' AS reason, count(*)::int AS n
      FROM job
     WHERE created_at >= ${range.from} AND created_at < ${range.to} AND NOT is_test
       AND failure_reason = 'provider_error'
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})
     GROUP BY 1`.execute(db);
  return Object.fromEntries(result.rows.map((r) => [r.reason ?? 'unknown', r.n]));
}

/** When a slot's counters were last reset (null: never). */
export async function slotStatsResetAt(db: Db, slotId: string): Promise<{ exists: boolean; resetAt: Date | null }> {
  const row = await db.selectFrom('slot').select('stats_reset_at').where('id', '=', slotId).executeTakeFirst();
  return { exists: row !== undefined, resetAt: row?.stats_reset_at ?? null };
}

/** A slot's newest booth success and newest failure (any time, not only in the period shown). */
export async function slotLastOutcomes(
  db: Db,
  slotId: string,
): Promise<{ lastSuccessAt: Date | null; lastError: { at: Date; outcome: string; jobId: string } | null }> {
  const r = await sql<{
    success_at: Date | null;
    error_at: Date | null;
    error_outcome: string | null;
    error_job: string | null;
  }>`
    SELECT (SELECT finalized_at FROM job
             WHERE slot_id = ${slotId} AND NOT is_test AND is_finalized AND failure_reason IS NULL
             ORDER BY created_at DESC LIMIT 1) AS success_at,
           e.finalized_at AS error_at, e.failure_reason AS error_outcome, e.id::text AS error_job
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT finalized_at, failure_reason, id FROM job
                          WHERE slot_id = ${slotId} AND NOT is_test AND failure_reason IS NOT NULL
                          ORDER BY created_at DESC LIMIT 1) AS e ON true`.execute(db);
  const row = r.rows[0];
  return {
    lastSuccessAt: row?.success_at ?? null,
    lastError:
      row?.error_at && row.error_outcome && row.error_job
        ? { at: row.error_at, outcome: row.error_outcome, jobId: row.error_job }
        : null,
  };
}

/** A kept refusal as read (the id, a bigint, sent as text). */
export type RefusalRow = Selectable<IngestRefusalTable>;

/** The newest kept refusals, newest first, before the refusal `beforeId` (keyset paging). */
export async function listRefusals(
  db: Db,
  options: { limit: number; beforeId?: string; slotId?: string },
): Promise<RefusalRow[]> {
  const r = await sql<RefusalRow>`
    SELECT id::text AS id, occurred_at, slot_id, status, code, client_address, booth_name, booth_user_id, message
      FROM ingest_refusal
     WHERE (${options.beforeId ?? null}::bigint IS NULL OR id < ${options.beforeId ?? null}::bigint)
       AND (${options.slotId ?? null}::text IS NULL OR slot_id = ${options.slotId ?? null})
     ORDER BY ingest_refusal.id DESC -- the bigint, not the text it is sent as
     LIMIT ${options.limit}`.execute(db);
  return r.rows;
}

/** One booth as its contacts name it: address, DSLR Remote Pro `name` and `user_id` ('' when not sent). */
export interface BoothActivityRow {
  address: string;
  name: string;
  user_id: string;
  last_contact_at: Date;
  last_slot_id: string;
  jobs: number;
  refusals: number;
  last_job_at: Date | null;
  last_job_id: string | null;
  last_outcome: string | null;
  last_refusal_at: Date | null;
  last_refusal_code: string | null;
  last_refusal_status: number | null;
}

/**
 * Booths in contact since `since`: their jobs (the address each photo came from, the booth's
 * fields) and their kept refusals, grouped by address, name and user_id; booths with accepted
 * photos first, then by latest contact.
 */
export async function boothActivity(db: Db, since: Date, limit: number): Promise<BoothActivityRow[]> {
  const r = await sql<BoothActivityRow>`
    WITH contact AS (
      -- A field the booth sent twice is stored as an array: its first value names it, cut like a refusal's.
      SELECT client_address AS address,
             left(coalesce(CASE jsonb_typeof(metadata->'name') WHEN 'array' THEN metadata->'name'->>0 ELSE metadata->>'name' END, ''), 64) AS name,
             left(coalesce(CASE jsonb_typeof(metadata->'user_id') WHEN 'array' THEN metadata->'user_id'->>0 ELSE metadata->>'user_id' END, ''), 64) AS user_id,
             created_at AS at, slot_id, id::text AS job_id,
             CASE WHEN is_finalized THEN coalesce(failure_reason, 'succeeded') ELSE status END AS outcome,
             NULL::text AS code, NULL::int AS status
        FROM job
       WHERE client_address IS NOT NULL AND NOT is_test AND created_at >= ${since}
      UNION ALL
      SELECT client_address, coalesce(booth_name, ''), coalesce(booth_user_id, ''), occurred_at, slot_id, NULL, NULL, code, status
        FROM ingest_refusal
       WHERE occurred_at >= ${since}
    )
    SELECT address, name, user_id,
           max(at) AS last_contact_at,
           (array_agg(slot_id ORDER BY at DESC))[1] AS last_slot_id,
           count(job_id)::int AS jobs,
           count(code)::int AS refusals,
           max(at) FILTER (WHERE job_id IS NOT NULL) AS last_job_at,
           (array_agg(job_id ORDER BY at DESC) FILTER (WHERE job_id IS NOT NULL))[1] AS last_job_id,
           (array_agg(outcome ORDER BY at DESC) FILTER (WHERE job_id IS NOT NULL))[1] AS last_outcome,
           max(at) FILTER (WHERE code IS NOT NULL) AS last_refusal_at,
           (array_agg(code ORDER BY at DESC) FILTER (WHERE code IS NOT NULL))[1] AS last_refusal_code,
           (array_agg(status ORDER BY at DESC) FILTER (WHERE code IS NOT NULL))[1] AS last_refusal_status
      FROM contact
     GROUP BY address, name, user_id
     -- Booths whose photos were taken come first: strangers' refusals cannot push them off the list.
     ORDER BY count(job_id) > 0 DESC, last_contact_at DESC
     LIMIT ${limit}`.execute(db);
  return r.rows;
}

export type BoothRequestRow = Selectable<BoothRequestTable>;

/**
 * The booth check's new rows, then the table trimmed (one transaction): the newest `perBooth`
 * rows of each booth, and only the `booths` booths seen last.
 */
export async function insertBoothRequests(
  db: Db,
  rows: Insertable<BoothRequestTable>[],
  keep: { perBooth: number; booths: number },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('booth_request').values(rows).execute();
    const keys = [...new Set(rows.map((r) => r.booth_key))];
    await sql`
      DELETE FROM booth_request b
       USING (SELECT id, row_number() OVER (PARTITION BY booth_key ORDER BY id DESC) AS n
                FROM booth_request WHERE booth_key = ANY(${keys}::text[])) ranked
       WHERE b.id = ranked.id AND ranked.n > ${keep.perBooth}`.execute(trx);
    await sql`
      DELETE FROM booth_request
       WHERE booth_key IN (SELECT booth_key FROM booth_request GROUP BY booth_key ORDER BY max(id) DESC OFFSET ${keep.booths})`.execute(
      trx,
    );
  });
}

/** A booth's last requests, newest first. */
export async function listBoothRequests(db: Db, key: string, limit: number): Promise<BoothRequestRow[]> {
  return db
    .selectFrom('booth_request')
    .selectAll()
    .where('booth_key', '=', key)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Refusals of one (hour, slot, code), counted in memory before they are written. */
export interface RejectionCount {
  hour: Date;
  slotId: string;
  code: string;
  status: number;
  count: number;
}

/** One refused request kept as a row (the booth check's Refused view). */
export interface RefusalSample {
  at: Date;
  slotId: string;
  status: number;
  code: string;
  address: string;
  boothName: string | null;
  boothUserId: string | null;
  message: string | null;
}

/** Adds refusal counts per (hour, slot, code), in one statement. */
export async function addRejectionCounts(db: Db, batch: readonly RejectionCount[]): Promise<void> {
  await sql`
    INSERT INTO ingest_rejection_count (hour, slot_id, code, status, count)
    SELECT * FROM unnest(${batch.map((b) => b.hour)}::timestamptz[], ${batch.map((b) => b.slotId)}::text[],
                         ${batch.map((b) => b.code)}::text[], ${batch.map((b) => b.status)}::int[], ${batch.map((b) => b.count)}::bigint[])
    ON CONFLICT (hour, slot_id, code) DO UPDATE SET count = ingest_rejection_count.count + EXCLUDED.count`.execute(db);
}

/** Refusal samples, then the table trimmed to the newest `keep` rows (one transaction). */
export async function insertRefusalSamples(db: Db, samples: readonly RefusalSample[], keep: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO ingest_refusal (occurred_at, slot_id, status, code, client_address, booth_name, booth_user_id, message)
      SELECT * FROM unnest(${samples.map((s) => s.at)}::timestamptz[], ${samples.map((s) => s.slotId)}::text[], ${samples.map((s) => s.status)}::int[],
                           ${samples.map((s) => s.code)}::text[], ${samples.map((s) => s.address)}::text[],
                           ${samples.map((s) => s.boothName)}::text[], ${samples.map((s) => s.boothUserId)}::text[],
                           ${samples.map((s) => s.message)}::text[])`.execute(trx);
    await sql`
      DELETE FROM ingest_refusal
       WHERE id <= (SELECT id FROM ingest_refusal ORDER BY id DESC OFFSET ${keep} LIMIT 1)`.execute(trx);
  });
}
