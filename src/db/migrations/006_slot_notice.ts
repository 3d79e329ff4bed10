import { sql, type Kysely } from 'kysely';

/**
 * A notice the server leaves on a slot for the operator (e.g. "moved from a shut-down model to its
 * replacement at start"): shown on the slot list and in the editor until the slot is saved again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE slot ADD COLUMN notice jsonb NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE slot DROP COLUMN IF EXISTS notice`.execute(db);
}
