import { sql, type Kysely } from 'kysely';

/**
 * A refusal's exact message, as the booth read it in the answer (the Refused view shows it next to
 * the code). Bounded by its writer (src/stats/rejections.ts); never a password (no refusal echoes one).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE ingest_refusal ADD COLUMN message text NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE ingest_refusal DROP COLUMN IF EXISTS message`.execute(db);
}
