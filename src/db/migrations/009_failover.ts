import { sql, type Kysely } from 'kysely';

/**
 * Failover: a slot names providers to try, in order, when its own fails (each with its own
 * settings); a job keeps the list it was submitted with and records which provider answered.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE slot ADD COLUMN failover jsonb NOT NULL DEFAULT '{"steps":[],"on_safety":false}'::jsonb`.execute(
    db,
  );
  await sql`ALTER TABLE job ADD COLUMN failover jsonb NULL`.execute(db);
  await sql`ALTER TABLE job ADD COLUMN answered_by text NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS answered_by`.execute(db);
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS failover`.execute(db);
  await sql`ALTER TABLE slot DROP COLUMN IF EXISTS failover`.execute(db);
}
