import { sql, type Kysely } from 'kysely';

/**
 * Administrators (argon2id hashes, permissions, login lockout that survives a restart) and the
 * audit log of admin changes (who, when, which field — never a value).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE admin_account (
      username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
      password_hash text NOT NULL,
      permissions   text[] NOT NULL,
      failed_logins integer NOT NULL DEFAULT 0,
      locked_until  timestamptz NULL,
      created_at    timestamptz NOT NULL,
      updated_at    timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE audit_log (
      id     bigserial PRIMARY KEY,
      at     timestamptz NOT NULL,
      actor  text NOT NULL,
      action text NOT NULL,
      target text NULL,
      fields text[] NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE INDEX audit_log_at_idx ON audit_log (at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS audit_log`.execute(db);
  await sql`DROP TABLE IF EXISTS admin_account`.execute(db);
}
