import { sql, type Kysely } from 'kysely';

/**
 * Server-side sessions of the admin web UI (an HttpOnly cookie holds the random token; the row
 * holds its SHA-256, never the token), and the moment an account's credentials last changed:
 * bearer tokens issued before it stop working at once (password reset, account removal).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE admin_session (
      id           text PRIMARY KEY,
      username     text NOT NULL REFERENCES admin_account(username) ON DELETE CASCADE ON UPDATE CASCADE,
      csrf_token   text NOT NULL,
      remember     boolean NOT NULL,
      created_at   timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      expires_at   timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX admin_session_user_idx ON admin_session (username)`.execute(db);
  await sql`CREATE INDEX admin_session_expiry_idx ON admin_session (expires_at)`.execute(db);
  await sql`ALTER TABLE admin_account ADD COLUMN credentials_changed_at timestamptz NOT NULL DEFAULT '-infinity'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE admin_account DROP COLUMN IF EXISTS credentials_changed_at`.execute(db);
  await sql`DROP TABLE IF EXISTS admin_session`.execute(db);
}
