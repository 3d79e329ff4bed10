import { sql, type Kysely } from 'kysely';

/**
 * Refused ingests are counted per hour, slot and code instead of stored one row per request: a
 * flood of unauthenticated 404s must not grow the database by a row each (src/stats/rejections.ts
 * batches the counts in memory and writes them every few seconds). Existing rows are folded in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ingest_rejection_count (
      hour    timestamptz NOT NULL,
      slot_id text NOT NULL,
      code    text NOT NULL,
      status  integer NOT NULL,
      count   bigint NOT NULL,
      PRIMARY KEY (hour, slot_id, code)
    )`.execute(db);
  await sql`
    INSERT INTO ingest_rejection_count (hour, slot_id, code, status, count)
    SELECT date_trunc('hour', occurred_at), coalesce(slot_id, ''), code, max(status), count(*)
      FROM ingest_rejection GROUP BY 1, 2, 3`.execute(db);
  await sql`DROP TABLE ingest_rejection`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ingest_rejection (
      id bigserial PRIMARY KEY, slot_id text NULL, status integer NOT NULL, code text NOT NULL, occurred_at timestamptz NOT NULL
    )`.execute(db);
  await sql`DROP TABLE IF EXISTS ingest_rejection_count`.execute(db);
}
