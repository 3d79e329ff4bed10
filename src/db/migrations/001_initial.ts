import { sql, type Kysely } from 'kysely';

/**
 * The queue and its neighbours. Job rows are history (statistics read them); files are not.
 * All instants are timestamptz written from the application's clock.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE slot (
      id               text PRIMARY KEY CHECK (id ~ '^slot-[0-9]{3}$'),
      name             text NOT NULL,
      enabled          boolean NOT NULL DEFAULT true,
      provider         text NOT NULL DEFAULT 'local',
      operation        text NOT NULL DEFAULT 'neutral',
      settings         jsonb NOT NULL DEFAULT '{}'::jsonb,
      max_upload_bytes bigint NULL CHECK (max_upload_bytes IS NULL OR max_upload_bytes > 0),
      stats_reset_at   timestamptz NULL,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  // Exactly 15 slots exist from the first start, all on the built-in local provider.
  await sql`
    INSERT INTO slot (id, name)
    SELECT format('slot-%s', lpad(n::text, 3, '0')), format('Slot %s', n)
    FROM generate_series(1, 15) AS n`.execute(db);

  // A running server process. Jobs belong to the instance whose request waits for them; a job
  // whose instance stopped heart-beating has nobody waiting and is never sent to a provider.
  await sql`
    CREATE TABLE instance (
      id           uuid PRIMARY KEY,
      hostname     text NOT NULL,
      pid          integer NOT NULL,
      started_at   timestamptz NOT NULL,
      heartbeat_at timestamptz NOT NULL,
      stopped_at   timestamptz NULL
    )`.execute(db);

  await sql`
    CREATE TABLE job (
      id                uuid PRIMARY KEY,
      slot_id           text NOT NULL REFERENCES slot(id),
      instance_id       uuid NOT NULL,
      status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing')),
      is_finalized      boolean NOT NULL DEFAULT false,
      failure_reason    text NULL CHECK (failure_reason IN ('timeout', 'provider_error', 'cancelled', 'internal_error')),
      failure_detail    jsonb NULL,
      is_test           boolean NOT NULL DEFAULT false,
      provider          text NOT NULL,
      operation         text NOT NULL,
      settings          jsonb NOT NULL DEFAULT '{}'::jsonb,
      provider_ref      text NULL,
      provider_calls    jsonb NOT NULL DEFAULT '[]'::jsonb,
      payload_path      text NULL,
      payload_mime      text NULL,
      payload_size      bigint NULL,
      result_path       text NULL,
      result_mime       text NULL,
      result_size       bigint NULL,
      result_sha256     text NULL,
      result_expires_at timestamptz NULL,
      result_inline     bytea NULL,
      metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
      correlation_id    text NULL,
      received_at       timestamptz NOT NULL,
      created_at        timestamptz NOT NULL,
      expires_at        timestamptz NOT NULL,
      claimed_at        timestamptz NULL,
      finalized_at      timestamptz NULL,
      responded_at      timestamptz NULL,
      CHECK (is_finalized = (finalized_at IS NOT NULL))
    )`.execute(db);
  // The inline result is an already-compressed image: storing it out of line without trying to
  // compress it again saves the server a pointless pglz pass over every result.
  await sql`ALTER TABLE job ALTER COLUMN result_inline SET STORAGE EXTERNAL`.execute(db);
  // The claim and the in-flight cap only look at unfinished jobs: keep that set in a small index.
  await sql`CREATE INDEX job_unfinished_idx ON job (created_at) WHERE NOT is_finalized`.execute(db);
  await sql`CREATE INDEX job_slot_created_idx ON job (slot_id, created_at)`.execute(db);
  await sql`CREATE INDEX job_created_idx ON job (created_at)`.execute(db);
  await sql`CREATE INDEX job_result_expiry_idx ON job (result_expires_at) WHERE result_path IS NOT NULL`.execute(db);

  // Requests refused before a job existed (401/404/413/415/429/…): statistics count them by code.
  await sql`
    CREATE TABLE ingest_rejection (
      id          bigserial PRIMARY KEY,
      slot_id     text NULL,
      status      integer NOT NULL,
      code        text NOT NULL,
      occurred_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX ingest_rejection_time_idx ON ingest_rejection (occurred_at)`.execute(db);

  // Global settings as named JSON values (ingest password hash, T_sync override, retention, …).
  await sql`
    CREATE TABLE setting (
      key        text PRIMARY KEY,
      value      jsonb NOT NULL,
      updated_at timestamptz NOT NULL,
      updated_by text NULL
    )`.execute(db);

  // Template images of a slot, bound to a settings key (frame, style, face, background, …).
  await sql`
    CREATE TABLE template (
      id          uuid PRIMARY KEY,
      slot_id     text NOT NULL REFERENCES slot(id),
      setting_key text NOT NULL,
      path        text NOT NULL,
      mime        text NOT NULL,
      size        bigint NOT NULL,
      sha256      text NOT NULL,
      width       integer NULL,
      height      integer NULL,
      created_at  timestamptz NOT NULL,
      UNIQUE (slot_id, setting_key)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['template', 'setting', 'ingest_rejection', 'job', 'instance', 'slot']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
  }
}
