import { sql, type Kysely } from 'kysely';

/**
 * Temporary public links (docs/architecture.md) for providers that fetch inputs by URL (Turbotext), and the
 * Turbotext webhook deliveries. Both live in the database because several instances share it: a
 * provider may fetch a link, or post a webhook, to an instance other than the one that created it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE temporary_media (
      id         text PRIMARY KEY,
      job_id     text NOT NULL,
      path       text NOT NULL,
      mime       text NOT NULL,
      size       bigint NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX temporary_media_job_idx ON temporary_media (job_id)`.execute(db);
  await sql`CREATE INDEX temporary_media_expiry_idx ON temporary_media (expires_at)`.execute(db);

  // One row per Turbotext job in webhook mode: the unguessable token in the webhook URL, and the
  // first delivery (later and duplicate deliveries are ignored).
  await sql`
    CREATE TABLE turbotext_webhook (
      token        text PRIMARY KEY,
      job_id       text NOT NULL,
      created_at   timestamptz NOT NULL,
      expires_at   timestamptz NOT NULL,
      delivered_at timestamptz NULL,
      payload      jsonb NULL
    )`.execute(db);
  await sql`CREATE INDEX turbotext_webhook_expiry_idx ON turbotext_webhook (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS turbotext_webhook`.execute(db);
  await sql`DROP TABLE IF EXISTS temporary_media`.execute(db);
}
