import fs from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Failover } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { JobCompletion } from './completion.js';
import { LocalJob, type JobPayload } from './local-job.js';
import type { JobDispatcher } from './workers.js';
import {
  cancelJob,
  enqueueJob,
  finalizeAsTimedOut,
  markResponded,
  queueStatement,
  readJobOutcome,
  type JobOutcomeRow,
  type NewJob,
  type SlotTemplateRecord,
} from './statements.js';

export interface JobServiceDeps {
  db: Db;
  config: Config;
  clock: Clock;
  completion: JobCompletion;
  instanceId: string;
  /** This process's workers: an idle one takes a new job at once (no claim, no notification round trip). */
  dispatch?: JobDispatcher;
}

export interface JobSubmission {
  jobId: string;
  /** The slot as configured when the photo arrived: the job keeps its provider, operation and settings. */
  slot: { id: string; provider: string; operation: string; settings: Record<string, unknown>; failover?: Failover };
  photo: { path: string; mime: string; size: number };
  /** The photo's files: removed once, by whoever comes first (the submitter until the job exists, then the job too). */
  payload: JobPayload;
  metadata: Record<string, unknown>;
  /** The booth's address (none for a test run from the admin UI). */
  clientAddress?: string;
  isTest: boolean;
  correlationId: string;
  /** When the request arrived: the deadline counts from here (the booth's clock started then). */
  receivedAt: Date;
  tSyncResponseSeconds: number;
  /** The slot's template images when the photo arrived, if the caller read them (a worker may then start before the row is in). */
  templates?: SlotTemplateRecord[];
  log: Logger;
}

export interface JobTimings {
  queue_wait_ms: number | null;
  processing_ms: number | null;
  total_ms: number | null;
}

export type JobOutcome =
  | { outcome: 'succeeded'; jobId: string; expiresAt: Date; bytes: Buffer; mime: string; timings: JobTimings }
  | {
      outcome: 'timeout' | 'provider_error' | 'cancelled' | 'internal_error';
      jobId: string;
      expiresAt: Date;
      error: AppError;
      timings: JobTimings;
    };

/**
 * Enqueues a job under the in-flight cap and returns it once its row is in, handed to an idle
 * worker of this process when there is one. Throws AppError for sync_timeout (the upload alone
 * used up the window: no job), queue_busy (429) and queue_unavailable (503).
 */
export async function submitJob(deps: JobServiceDeps, job: JobSubmission): Promise<LocalJob> {
  const { db, clock, config } = deps;
  const expiresAt = new Date(job.receivedAt.getTime() + job.tSyncResponseSeconds * 1000);
  const createdAt = clock.now();
  if (createdAt >= expiresAt) throw syncTimeout(job.jobId, expiresAt);
  const row: NewJob = {
    id: job.jobId,
    slot_id: job.slot.id,
    instance_id: deps.instanceId,
    provider: job.slot.provider,
    operation: job.slot.operation,
    settings: job.slot.settings,
    failover: job.slot.failover && job.slot.failover.steps.length > 0 ? job.slot.failover : null,
    is_test: job.isTest,
    payload_path: job.photo.path,
    payload_mime: job.photo.mime,
    payload_size: job.photo.size,
    metadata: job.metadata,
    client_address: job.clientAddress ?? null,
    correlation_id: job.correlationId,
    received_at: job.receivedAt,
    created_at: createdAt,
    expires_at: expiresAt,
  };
  // An idle worker of this process is set aside first: the row then goes in already claimed by it,
  // and the photo is read while the row is inserted when its driver would read it whole right after
  // (up to PHOTO_READ_AHEAD_BYTES: a larger upload is left to the driver's own limits).
  const reservation = deps.dispatch?.reserve(job.jobId, job.slot.provider);
  const readAhead = reservation?.wantsPhoto === true && job.photo.size <= PHOTO_READ_AHEAD_BYTES;
  const photo = readAhead ? fs.readFile(job.photo.path).catch(() => undefined) : undefined;
  const enqueuing = queueStatement(() => enqueueJob(db, row, config.queueMaxInFlightJobs, reservation !== undefined));
  const admission = enqueuing.then((r) => {
    if (r === 'queue_busy') throw queueBusy(config);
    return r;
  });
  admission.catch(() => undefined);
  const localJob = (templates: SlotTemplateRecord[]) => {
    const local = new LocalJob(
      { ...row, templates },
      admission.then(() => undefined),
      photo,
      job.payload,
      () => markJobAnswered(deps, job.jobId, job.log),
    );
    deps.completion.track(local);
    return local;
  };
  // With the slot's templates known (the ingest read them with the slot), the worker starts at once
  // and prepares the request while the row is inserted; it sends and writes nothing before the
  // admission, and a refused enqueue ends it with nothing done.
  let local = job.templates ? localJob(job.templates) : undefined;
  if (local) reservation?.start(local);
  let enqueued: Awaited<typeof admission>;
  try {
    enqueued = await admission;
  } catch (err) {
    reservation?.cancel(); // does nothing once the worker has started (it then ends the job itself)
    if (local) deps.completion.untrack(local);
    throw err;
  }
  if (!local) {
    local = localJob(enqueued.templates);
    reservation?.start(local);
  }
  job.log.debug({ job_id: job.jobId, slot_id: job.slot.id, expires_at: expiresAt.toISOString() }, 'job enqueued');
  return local;
}

/**
 * Waits for the job to be finalized (by any instance's worker) until its deadline and settles the
 * race at the deadline in the database; a client that goes away cancels it. Every outcome is
 * returned, never thrown. Call it in the same turn as submitJob's answer (no notification can have
 * been missed yet).
 */
export async function waitForOutcome(
  deps: JobServiceDeps,
  local: LocalJob,
  options: { clientGone?: AbortSignal; log: Logger },
): Promise<JobOutcome> {
  const { db, clock, completion } = deps;
  const { id: jobId, expires_at: expiresAt } = local.job;
  const { clientGone, log } = options;
  try {
    const waited = await completion.waitForFinalization(jobId, expiresAt, clientGone, { justEnqueued: true });
    if (waited === 'aborted') {
      const cancelled = await queueStatement(() => cancelJob(db, jobId, 'client_disconnected', clock.now())).catch(
        () => false,
      );
      log.info({ job_id: jobId, cancelled }, 'client went away; job cancelled');
    } else if (waited === 'deadline') {
      const timedOut = await queueStatement(() => finalizeAsTimedOut(db, jobId, clock.now()));
      if (timedOut) log.info({ job_id: jobId }, 'job timed out');
    }
    // Answered by a worker of this process: the bytes are here already.
    const delivered = local.result;
    if (delivered && waited === 'finalized') {
      // The photo is gone before the bytes go out, while the worker's finalize runs.
      await local.releasePayload();
      // The answer never runs ahead of the record: whoever reads the job after it sees it succeeded.
      if (await delivered.recorded) {
        const timings = timingsOf({
          created_at: local.job.created_at,
          claimed_at: delivered.claimedAt,
          finalized_at: delivered.finalizedAt,
        });
        return { outcome: 'succeeded', jobId, expiresAt, bytes: delivered.bytes, mime: delivered.mime, timings };
      }
      log.warn({ job_id: jobId }, 'the worker could not record its result; the job row decides the answer');
      // The worker records its failure next: the row is read once it is final (or the deadline passed).
      // Untracked first: its delivered result would otherwise end this wait at once.
      completion.untrack(local);
      const again = await completion.waitForFinalization(jobId, expiresAt, clientGone);
      if (again === 'deadline')
        await queueStatement(() => finalizeAsTimedOut(db, jobId, clock.now())).catch(() => false);
    }
    const row = await queueStatement(() => readJobOutcome(db, jobId));
    if (!row) throw new AppError('internal_error', 'The job disappeared');
    return await outcomeOf(jobId, row);
  } finally {
    completion.untrack(local);
  }
}

async function outcomeOf(jobId: string, row: JobOutcomeRow): Promise<JobOutcome> {
  const timings = timingsOf(row);
  switch (row.failure_reason) {
    case null: {
      if (!row.is_finalized)
        return failure('timeout', jobId, row.expires_at, syncTimeout(jobId, row.expires_at), timings);
      const bytes = row.result_inline ?? (row.result_path ? await fs.readFile(row.result_path) : undefined);
      if (!bytes || !row.result_mime)
        throw new AppError('internal_error', 'The job succeeded but its result is missing');
      return { outcome: 'succeeded', jobId, expiresAt: row.expires_at, bytes, mime: row.result_mime, timings };
    }
    case 'timeout':
      return failure('timeout', jobId, row.expires_at, syncTimeout(jobId, row.expires_at), timings);
    case 'provider_error': {
      // The booth (and anyone holding its URL) reads only our words and the reason; the
      // provider's own text stays in the job record for administrators (GET /api/jobs/:id).
      const reason = typeof row.failure_detail?.reason === 'string' ? row.failure_detail.reason : 'provider_error';
      return failure(
        'provider_error',
        jobId,
        row.expires_at,
        new AppError('provider_error', boothMessageFor(reason), { details: { job_id: jobId, reason } }),
        timings,
      );
    }
    case 'cancelled':
      return failure(
        'cancelled',
        jobId,
        row.expires_at,
        new AppError('internal_error', 'The job was cancelled', {
          details: { job_id: jobId, ...(row.failure_detail ?? {}) },
        }),
        timings,
      );
    default:
      if (row.failure_detail?.reason === 'insufficient_storage') {
        return failure(
          'internal_error',
          jobId,
          row.expires_at,
          new AppError('insufficient_storage', 'The media storage is full; the result could not be written', {
            details: { job_id: jobId },
          }),
          timings,
        );
      }
      return failure(
        'internal_error',
        jobId,
        row.expires_at,
        new AppError('internal_error', undefined, { details: { job_id: jobId, ...(row.failure_detail ?? {}) } }),
        timings,
      );
  }
}

/** What a booth reads for each provider failure reason: our own sentence, never upstream text. */
const BOOTH_MESSAGES: Record<string, string> = {
  provider_not_configured: 'The AI provider of this slot has no API key configured',
  public_base_url_missing:
    'This slot needs a public address (Settings → Public address, or PHOTOCHANGER_PUBLIC_BASE_URL): the provider downloads the photo from this server',
  model_unavailable: "The slot's AI model no longer exists at the provider: switch the slot to a current model",
  safety_block: 'The AI provider refused the photo or the prompt for safety reasons',
  moderation_blocked: 'The AI provider refused the photo or the prompt for safety reasons',
  recitation: 'The AI provider refused to reproduce protected content',
  no_image: 'The AI provider returned no image',
  rate_limited: 'The AI provider is rate-limiting this account; retry shortly',
  quota_exceeded: "The AI provider account's quota is exhausted",
  auth_failed: 'The AI provider rejected the configured API key',
  organization_unverified: "The AI provider requires the key's organization to be verified for this model",
  provider_unavailable: 'The AI provider is unavailable',
  network_error: 'The AI provider could not be reached',
  deadline_exceeded: 'The AI provider did not answer in time',
  invalid_response: 'The AI provider sent an answer that could not be used',
  invalid_image: 'The photo could not be decoded',
  image_too_large: 'The image is too large to decode within the memory limit',
  bad_request: 'The AI provider refused the request (check the slot settings)',
};

export function boothMessageFor(reason: string): string {
  return BOOTH_MESSAGES[reason] ?? 'The AI provider failed to process the photo';
}

function failure(
  outcome: Exclude<JobOutcome['outcome'], 'succeeded'>,
  jobId: string,
  expiresAt: Date,
  error: AppError,
  timings: JobTimings,
): JobOutcome {
  return { outcome, jobId, expiresAt, error, timings };
}

export function syncTimeout(jobId: string, expiresAt: Date): AppError {
  return new AppError('sync_timeout', undefined, { details: { job_id: jobId, expires_at: expiresAt.toISOString() } });
}

export type ReleaseDeps = {
  db: Db;
  clock: Clock;
  media: { removePayload(jobId: string, files?: readonly string[]): Promise<void> };
};

/**
 * What a job keeps after its answer is sent: nothing but the result file. The payload is deleted
 * (releaseJobFiles) and the row marked answered, its inline result copy cleared (markJobAnswered,
 * through LocalJob.markAnswered); the temporary public links of its inputs were revoked by the
 * worker when the provider's work ended (ProviderDriver.releaseJob).
 *
 * releaseJobFiles is the part that must be done before the booth has its answer: the photo is gone.
 */
export async function releaseJobFiles(
  deps: ReleaseDeps,
  jobId: string,
  log: Logger,
  files?: readonly string[],
): Promise<void> {
  await deps.media.removePayload(jobId, files).catch((e: unknown) => log.error({ err: e }, 'could not remove payload'));
}

/** The bookkeeping that may follow the answer: the row says answered, its inline copy cleared. */
async function markJobAnswered(deps: Pick<ReleaseDeps, 'db' | 'clock'>, jobId: string, log: Logger): Promise<void> {
  await markResponded(deps.db, jobId, deps.clock.now()).catch((e: unknown) =>
    log.warn({ err: { message: (e as Error).message } }, 'could not clear inline result'),
  );
}

/** The largest photo read while its job is enqueued (a DSLR JPEG is 5 to 15 MB). */
export const PHOTO_READ_AHEAD_BYTES = 32 * 1024 * 1024;

/** 429 with a Retry-After long enough for a few jobs to finish. */
export function queueBusy(config: Config): AppError {
  const retryAfter = Math.max(1, Math.ceil(config.tSyncResponseSeconds / 8));
  return new AppError('queue_busy', undefined, {
    details: { max_in_flight_jobs: config.queueMaxInFlightJobs },
    headers: { 'Retry-After': String(retryAfter) },
  });
}

export function timingsOf(row: { created_at: Date; claimed_at: Date | null; finalized_at: Date | null }): JobTimings {
  const ms = (a: Date | null, b: Date | null) => (a && b ? b.getTime() - a.getTime() : null);
  return {
    queue_wait_ms: ms(row.created_at, row.claimed_at),
    processing_ms: ms(row.claimed_at, row.finalized_at),
    total_ms: ms(row.created_at, row.finalized_at),
  };
}
