import { sql, type Kysely } from 'kysely';

/**
 * The enqueue as one statement (src/queue/statements.ts enqueueJob): the cluster-wide lock, the
 * count of unfinished jobs and the insert used to take four round trips (BEGIN, lock, INSERT,
 * COMMIT), about 2 ms of every booth answer. A PL/pgSQL function keeps the same order: each of its
 * statements takes a new snapshot, so the count runs after the lock is held and sees every job
 * committed by the previous holder. `p_claimed`: the job is inserted already taken by a worker of
 * the enqueueing process (processing, claimed_at = created_at), which then skips the claim.
 * Returns the slot's template images (what the worker sends with the photo) as JSON, or NULL when
 * the cap of unfinished jobs is reached and nothing was inserted. The fresh snapshot per statement
 * is READ COMMITTED's (PostgreSQL's default, which the server's connections use); under
 * REPEATABLE READ the count would not see the previous holder's insert. The lock key and the notification
 * channel are the caller's (one definition each, in src/queue/statements.ts and src/db/notifications.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION enqueue_job(
      p_id uuid, p_slot_id text, p_instance_id uuid, p_provider text, p_operation text, p_settings jsonb,
      p_failover jsonb, p_is_test boolean, p_payload_path text, p_payload_mime text, p_payload_size bigint,
      p_metadata jsonb, p_client_address text, p_correlation_id text, p_received_at timestamptz,
      p_created_at timestamptz, p_expires_at timestamptz, p_max_in_flight integer, p_claimed boolean,
      p_lock_key bigint, p_channel text
    ) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(p_lock_key);
      -- Job state may lose the last fraction of a second on an OS crash (docs/architecture.md).
      PERFORM set_config('synchronous_commit', 'off', true);
      IF (SELECT count(*) FROM job WHERE NOT is_finalized AND expires_at > p_created_at) >= p_max_in_flight THEN
        RETURN NULL;
      END IF;
      INSERT INTO job (id, slot_id, instance_id, status, claimed_at, provider, operation, settings, failover, is_test,
                       payload_path, payload_mime, payload_size, metadata, client_address, correlation_id,
                       received_at, created_at, expires_at)
      VALUES (p_id, p_slot_id, p_instance_id, CASE WHEN p_claimed THEN 'processing' ELSE 'pending' END,
              CASE WHEN p_claimed THEN p_created_at END, p_provider, p_operation, p_settings, p_failover, p_is_test,
              p_payload_path, p_payload_mime, p_payload_size, p_metadata, p_client_address, p_correlation_id,
              p_received_at, p_created_at, p_expires_at);
      PERFORM pg_notify(p_channel, p_id::text);
      RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'key', t.setting_key, 'path', t.path, 'mime', t.mime, 'size', t.size)
                                        ORDER BY t.setting_key), '[]'::jsonb)
                FROM template t WHERE t.slot_id = p_slot_id);
    END
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS enqueue_job`.execute(db);
}
