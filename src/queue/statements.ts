/**
 * The queue's statements. Each is one named function whose SQL fits on a screen: the in-flight
 * cap, the claim, and the race between a worker's result and the waiting request's timeout are
 * all decided here, by PostgreSQL, so any number of instances can share one database.
 *
 * Every finalization has the same guard, `WHERE id = $1 AND NOT is_finalized`: the first writer
 * wins and the others see zero rows. The winner announces it on the job-finalized channel in the
 * same statement, so waiting requests and running workers of every instance learn of it at commit.
 */
import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { CHANNELS } from '../db/notifications.js';
import type { Database, Failover, FailureReason } from '../db/schema.js';
import { QueueUnavailableError } from '../errors.js';

/**
 * Put in a statement of a job's life (enqueue, claim, finalize, answered, provider calls): its
 * commit does not wait for the WAL to reach the disk (synchronous_commit = off for this
 * transaction only). The row is visible to every instance at once all the same; what an operating
 * system crash or power loss can take is the last fraction of a second of such changes, and a job
 * whose state is lost is finalized as timed out by the sweeper. Each durable commit cost about
 * 1 ms of every booth answer (docs/benchmarks.md, bench:overhead). Settings, slots and accounts
 * keep durable commits.
 */
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true)`;

/** Advisory lock serializing enqueues (cluster-wide, so the cap holds across instances). */
const ENQUEUE_LOCK_KEY = 7_061_746_572; // "photo" → an arbitrary fixed bigint

/** Runs a queue statement; an unreachable or too-slow database becomes QueueUnavailableError (503). */
export async function queueStatement<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw new QueueUnavailableError(err);
    throw err;
  }
}

/**
 * A job as enqueue_job inserts it: the claimed job a worker runs (ClaimedJob, without the slot's
 * templates, which the insert reads) plus what only the record keeps.
 */
export interface NewJob extends Omit<ClaimedJob, 'templates'> {
  metadata: Record<string, unknown>;
  client_address: string | null;
  received_at: Date;
}

/** A job's row was inserted: the slot's template images at that moment come with it. */
export interface Enqueued {
  templates: SlotTemplateRecord[];
}

/**
 * Inserts a job unless the cap of unfinished jobs is reached, in one round trip: the function
 * enqueue_job (migration 013_enqueue_function) takes the advisory lock, then counts in a statement
 * that starts after the lock is held (so it sees every job committed by the previous holder), then
 * inserts and announces the job. Jobs past their deadline no longer count (the sweeper finalizes
 * them). `claimed`: a worker of this process takes the job at once (WorkerPool.reserve), so the row
 * is inserted as processing and nobody else claims it.
 */
export async function enqueueJob(
  db: Db,
  job: NewJob,
  maxInFlight: number,
  claimed = false,
): Promise<Enqueued | 'queue_busy'> {
  const r = await sql<{ templates: Array<SlotTemplateRecord> | null }>`
    SELECT enqueue_job(
      ${job.id}::uuid, ${job.slot_id}::text, ${job.instance_id}::uuid, ${job.provider}::text, ${job.operation}::text,
      ${JSON.stringify(job.settings)}::jsonb, ${job.failover ? JSON.stringify(job.failover) : null}::jsonb, ${job.is_test}::boolean,
      ${job.payload_path}::text, ${job.payload_mime}::text, ${job.payload_size}::bigint, ${JSON.stringify(job.metadata)}::jsonb,
      ${job.client_address}::text, ${job.correlation_id}::text, ${job.received_at}::timestamptz, ${job.created_at}::timestamptz,
      ${job.expires_at}::timestamptz, ${maxInFlight}::integer, ${claimed}::boolean, ${ENQUEUE_LOCK_KEY}::bigint, ${CHANNELS.jobEnqueued}::text
    ) AS templates`.execute(db);
  const templates = r.rows[0]?.templates;
  return templates ? { templates: templates.map(templateRecord) } : 'queue_busy';
}

export interface ClaimedJob {
  id: string;
  slot_id: string;
  instance_id: string;
  provider: string;
  operation: string;
  settings: Record<string, unknown>;
  failover: Failover | null;
  payload_path: string;
  payload_mime: string;
  payload_size: number;
  correlation_id: string | null;
  is_test: boolean;
  expires_at: Date;
  created_at: Date;
  /** The slot's template images when the job was claimed (read in the same statement). */
  templates: SlotTemplateRecord[];
}

/**
 * Takes the oldest pending job that still has a live waiting request: not finalized, before its
 * deadline, owned by an instance that heart-beat since `aliveSince`, and not for a provider this
 * process is saturated on. SKIP LOCKED lets concurrent workers of all instances each take a
 * different job without waiting on each other.
 */
export async function claimNextJob(
  db: Db,
  now: Date,
  aliveSince: Date,
  saturatedProviders: readonly string[],
): Promise<ClaimedJob | undefined> {
  const r = await sql<ClaimedJob>`
    UPDATE job SET status = 'processing', claimed_at = ${now}
    FROM (SELECT ${ASYNC_COMMIT}) AS async_commit
    WHERE id = (
      SELECT j.id FROM job j
      JOIN instance i ON i.id = j.instance_id
      WHERE NOT j.is_finalized AND j.status = 'pending' AND j.expires_at > ${now}
        AND i.stopped_at IS NULL AND i.heartbeat_at > ${aliveSince}
        AND NOT (j.provider = ANY(${sql.val(saturatedProviders)}::text[]))
      ORDER BY j.created_at
      LIMIT 1
      FOR UPDATE OF j SKIP LOCKED
    )
    RETURNING id, slot_id, instance_id, provider, operation, settings, failover, payload_path, payload_mime, payload_size,
              correlation_id, is_test, expires_at, created_at, ${slotTemplatesJson(sql.ref('job.slot_id'))} AS templates`.execute(
    db,
  );
  const job = r.rows[0];
  return job && { ...job, templates: job.templates.map(templateRecord) };
}

export interface StoredResult {
  path: string;
  mime: string;
  size: number;
  sha256: string;
  expiresAt: Date;
  /** The bytes for a waiting request on another instance; null when the waiter reads the file. */
  inline: Buffer | null;
  providerRef: string | undefined;
  /** The provider whose image this is (another than the job's after a failover). */
  answeredBy?: string;
  /** The job's provider call records, appended in the same statement (see recordProviderCalls). */
  providerCalls?: readonly unknown[];
  /** JOB_NOTICES codes: what the job did differently from its slot's settings. */
  notices?: readonly string[];
}

/** A worker's success. Returns false when someone else (timeout, cancel) finalized first. */
export async function finalizeSucceeded(db: Db, jobId: string, result: StoredResult, now: Date): Promise<boolean> {
  const r = await sql`
    WITH done AS (
      UPDATE job SET is_finalized = true, finalized_at = ${now}, failure_reason = NULL,
             result_path = ${result.path}, result_mime = ${result.mime}, result_size = ${result.size},
             result_sha256 = ${result.sha256}, result_expires_at = ${result.expiresAt},
             result_inline = ${result.inline}, provider_ref = ${result.providerRef ?? null},
             answered_by = ${result.answeredBy ?? null},
             provider_calls = provider_calls || ${JSON.stringify(result.providerCalls ?? [])}::jsonb,
             notices = ${result.notices ?? []}::text[]
      WHERE id = ${jobId} AND NOT is_finalized
      RETURNING id
    )
    SELECT pg_notify(${CHANNELS.jobFinalized}, id::text), ${ASYNC_COMMIT} FROM done`.execute(db);
  return r.rows.length === 1;
}

/** Any unsuccessful end: provider_error, internal_error, cancelled, timeout. First writer wins. */
export async function finalizeFailed(
  db: Db | Transaction<Database>,
  jobId: string,
  reason: FailureReason,
  detail: Record<string, unknown>,
  now: Date,
): Promise<boolean> {
  const r = await sql`
    WITH done AS (
      UPDATE job SET is_finalized = true, finalized_at = ${now}, failure_reason = ${reason},
             failure_detail = ${JSON.stringify(detail)}::jsonb
      WHERE id = ${jobId} AND NOT is_finalized
      RETURNING id
    )
    SELECT pg_notify(${CHANNELS.jobFinalized}, id::text) FROM done`.execute(db);
  return r.rows.length === 1;
}

/** The waiting request's move at the deadline. False: the worker's result got there first. */
export function finalizeAsTimedOut(db: Db, jobId: string, now: Date): Promise<boolean> {
  return finalizeFailed(db, jobId, 'timeout', { reason: 'deadline_passed' }, now);
}

/** The waiting request went away: the job must not reach (or must stop using) a provider. */
export function cancelJob(db: Db, jobId: string, reason: string, now: Date): Promise<boolean> {
  return finalizeFailed(db, jobId, 'cancelled', { reason }, now);
}

export interface JobOutcomeRow {
  is_finalized: boolean;
  failure_reason: FailureReason | null;
  failure_detail: Record<string, unknown> | null;
  result_inline: Buffer | null;
  result_mime: string | null;
  result_path: string | null;
  expires_at: Date;
  created_at: Date;
  claimed_at: Date | null;
  finalized_at: Date | null;
}

export async function readJobOutcome(db: Db, jobId: string): Promise<JobOutcomeRow | undefined> {
  const r = await sql<JobOutcomeRow>`
    SELECT is_finalized, failure_reason, failure_detail, result_inline, result_mime, result_path,
           expires_at, created_at, claimed_at, finalized_at
    FROM job WHERE id = ${jobId}`.execute(db);
  return r.rows[0];
}

export async function isJobFinalized(db: Db, jobId: string): Promise<boolean> {
  const r = await sql<{ is_finalized: boolean }>`SELECT is_finalized FROM job WHERE id = ${jobId}`.execute(db);
  return r.rows[0]?.is_finalized ?? true;
}

/** After the response: the inline copy is no longer needed; the file stays for its TTL. */
export async function markResponded(db: Db, jobId: string, now: Date): Promise<void> {
  await sql`UPDATE job SET result_inline = NULL, responded_at = ${now}, payload_path = NULL FROM (SELECT ${ASYNC_COMMIT}) AS async_commit WHERE id = ${jobId}`.execute(
    db,
  );
}

/** Appends provider call records (history for statistics; never changes the outcome). */
export async function recordProviderCalls(db: Db, jobId: string, calls: readonly unknown[]): Promise<void> {
  if (calls.length === 0) return;
  await sql`UPDATE job SET provider_calls = provider_calls || ${JSON.stringify(calls)}::jsonb FROM (SELECT ${ASYNC_COMMIT}) AS async_commit WHERE id = ${jobId}`.execute(
    db,
  );
}

/**
 * Finalizes jobs nobody waits for any more: past their deadline (plus a grace period, so the
 * waiting request normally does it itself), or owned by an instance that stopped or stopped
 * heart-beating (crashed). Such jobs are never resumed.
 */
export async function finalizeAbandonedJobs(db: Db, now: Date, graceMs: number, aliveSince: Date): Promise<string[]> {
  const r = await sql<{ id: string }>`
    WITH abandoned AS (
      SELECT j.id, (j.expires_at <= ${now}) AS expired FROM job j
      WHERE NOT j.is_finalized
        AND (j.expires_at <= ${new Date(now.getTime() - graceMs)}
             OR NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = j.instance_id
                            AND i.stopped_at IS NULL AND i.heartbeat_at > ${aliveSince}))
      FOR UPDATE OF j SKIP LOCKED
    ), done AS (
      UPDATE job SET is_finalized = true, finalized_at = ${now},
             failure_reason = CASE WHEN a.expired THEN 'timeout' ELSE 'cancelled' END,
             failure_detail = jsonb_build_object('reason', CASE WHEN a.expired THEN 'deadline_passed' ELSE 'instance_gone' END)
      FROM abandoned a WHERE job.id = a.id AND NOT job.is_finalized
      RETURNING job.id
    )
    SELECT id, pg_notify(${CHANNELS.jobFinalized}, id::text) FROM done`.execute(db);
  return r.rows.map((row) => row.id);
}

// --- instances -------------------------------------------------------------------------------

export async function registerInstance(db: Db, id: string, hostname: string, pid: number, now: Date): Promise<void> {
  await sql`INSERT INTO instance (id, hostname, pid, started_at, heartbeat_at) VALUES (${id}, ${hostname}, ${pid}, ${now}, ${now})`.execute(
    db,
  );
}

export async function heartbeatInstance(db: Db, id: string, now: Date): Promise<void> {
  await sql`UPDATE instance SET heartbeat_at = ${now} WHERE id = ${id} AND stopped_at IS NULL`.execute(db);
}

export async function markInstanceStopped(db: Db, id: string, now: Date): Promise<void> {
  await sql`UPDATE instance SET stopped_at = ${now} WHERE id = ${id}`.execute(db);
}

/** Jobs waiting or running right now (queue depth for metrics and the monitor). */
export async function countUnfinishedJobs(db: Db): Promise<{ pending: number; processing: number }> {
  const r = await sql<{ pending: number; processing: number }>`
    SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
           count(*) FILTER (WHERE status = 'processing')::int AS processing
      FROM job WHERE NOT is_finalized`.execute(db);
  return r.rows[0] ?? { pending: 0, processing: 0 };
}

export interface SlotTemplateRecord {
  id: string;
  key: string;
  path: string;
  mime: string;
  size: number;
}

/**
 * The slot's template images as one JSON array, in key order: a sub-select for the claim and the
 * ingest's admission read (enqueue_job, migration 013, builds the same).
 */
export function slotTemplatesJson(slotId: string | RawBuilder<unknown>): RawBuilder<SlotTemplateRecord[]> {
  return sql<
    SlotTemplateRecord[]
  >`(SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'key', t.setting_key, 'path', t.path, 'mime', t.mime, 'size', t.size)
                                                ORDER BY t.setting_key), '[]'::jsonb)
                       FROM template t WHERE t.slot_id = ${slotId})`;
}

/** A template row as the enqueue, the claim and the ingest's admission read return it (JSON: the size may come as a string). */
export function templateRecord(t: SlotTemplateRecord): SlotTemplateRecord {
  return { id: t.id, key: t.key, path: t.path, mime: t.mime, size: Number(t.size) };
}
