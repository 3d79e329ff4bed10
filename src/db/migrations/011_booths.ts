import { sql, type Kysely } from 'kysely';

/**
 * Booths in sight: each job keeps the address its photo came from, and the newest refusals are
 * kept one row each (time, slot, code, address, the booth's `name`/`user_id` when it sent them) for
 * the jobs monitor's "Refused" view and the booth list. The table is bounded: the counter that
 * writes it (src/stats/rejections.ts) samples a flood and trims to the newest rows; the hourly
 * counts in ingest_rejection_count stay exact.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job ADD COLUMN client_address text NULL`.execute(db);
  await sql`CREATE INDEX job_booth_idx ON job (created_at DESC) WHERE client_address IS NOT NULL AND NOT is_test`.execute(
    db,
  );
  // Each slot's newest success and newest failure (the statistics page), without walking its history.
  await sql`CREATE INDEX job_slot_succeeded_idx ON job (slot_id, created_at DESC) WHERE is_finalized AND failure_reason IS NULL AND NOT is_test`.execute(
    db,
  );
  await sql`CREATE INDEX job_slot_failed_idx ON job (slot_id, created_at DESC) WHERE failure_reason IS NOT NULL AND NOT is_test`.execute(
    db,
  );
  await sql`
    CREATE TABLE ingest_refusal (
      id             bigserial PRIMARY KEY,
      occurred_at    timestamptz NOT NULL,
      -- The slot the booth asked for, as sent (cut to 64 characters): an unknown one is worth seeing.
      slot_id        text NOT NULL,
      status         integer NOT NULL,
      code           text NOT NULL,
      client_address text NOT NULL,
      booth_name     text NULL,
      booth_user_id  text NULL
    )`.execute(db);
  await sql`CREATE INDEX ingest_refusal_time_idx ON ingest_refusal (occurred_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS ingest_refusal`.execute(db);
  await sql`DROP INDEX IF EXISTS job_booth_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS job_slot_succeeded_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS job_slot_failed_idx`.execute(db);
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS client_address`.execute(db);
}
