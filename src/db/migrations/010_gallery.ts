import { sql, type Kysely } from 'kysely';

/**
 * Gallery: each result gets a thumbnail (its path on the job row, removed with the result), the
 * gallery reads results newest first (one index for all slots, one per slot), and an administrator
 * can share chosen slots' results with guests through a link that expires and can be revoked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job ADD COLUMN thumb_path text NULL`.execute(db);
  await sql`CREATE INDEX job_gallery_idx ON job (finalized_at DESC, id DESC) WHERE result_path IS NOT NULL AND NOT is_test`.execute(
    db,
  );
  await sql`CREATE INDEX job_gallery_slot_idx ON job (slot_id, finalized_at DESC, id DESC) WHERE result_path IS NOT NULL AND NOT is_test`.execute(
    db,
  );
  await sql`
    CREATE TABLE gallery_share (
      id uuid PRIMARY KEY,
      token text NOT NULL UNIQUE,
      title text NOT NULL DEFAULT '',
      slot_ids text[] NOT NULL,
      -- Photos of a share are named by an encryption of their job id under this key, so a shared
      -- gallery never shows a job id (nor a guest link that outlives the share's revocation).
      ref_key bytea NOT NULL,
      -- The share shows photos taken from this moment (not the slot's earlier events).
      since timestamptz NOT NULL,
      created_by text NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS gallery_share`.execute(db);
  await sql`DROP INDEX IF EXISTS job_gallery_slot_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS job_gallery_idx`.execute(db);
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS thumb_path`.execute(db);
}
