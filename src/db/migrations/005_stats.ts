import { sql, type Kysely } from 'kysely';

/**
 * Statistics at a million jobs: each job's latency bucket (log scale, 400 buckets from 1 ms to
 * 10 min; see src/stats/statements.ts) is computed once when the row is written, so the
 * statistics aggregate groups by a small integer instead of evaluating ln() on every row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE job ADD COLUMN latency_bucket smallint GENERATED ALWAYS AS (
      CASE WHEN is_finalized AND failure_reason IS NULL
           THEN width_bucket(ln(greatest(date_part('epoch', finalized_at - received_at) * 1000, 1)), 0, ln(600000), 400)
      END) STORED`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS latency_bucket`.execute(db);
}
