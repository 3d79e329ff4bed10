/**
 * One booth request from arrival to disposal (POST /ingest/{slotId}, docs/api.md): admitted before
 * its body is read, received within the bounds for strangers and booths, submitted as a job and
 * answered. An `IngestAttempt` owns what the request holds — its place among the uploads being
 * received, its address's share of the queue, its unverified-bytes ticket, the payload files and
 * the job — and gives each back exactly once in `dispose()`. What all requests share (the gate,
 * the budgets, the password check) is the `IngestPolicy`, one per process.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { AppError, slotNotFound } from '../errors.js';
import type { Logger } from '../logger.js';
import { ClientCounts, clientKey } from '../auth/attempts.js';
import { decodeBudget, decodedBytesOf, DecodeTooLargeError } from '../media/decode-budget.js';
import type { MediaStore } from '../media/storage.js';
import {
  BOOTH_FIELD_LIMITS,
  emptyUpload,
  photoLimitBytes,
  photoOf,
  receiveUpload,
  type ReceivedFile,
  type ReceivedUpload,
} from '../media/upload.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { OperationDescriptor } from '../providers/types.js';
import { LONG_KEEP_ALIVE_SECONDS } from '../ops/connection-timeouts.js';
import { queueStatement } from '../queue/statements.js';
import type { LocalJob } from '../queue/local-job.js';
import {
  queueBusy,
  releaseJobFiles,
  submitJob,
  waitForOutcome,
  type JobOutcome,
  type JobServiceDeps,
  type ReleaseDeps,
} from '../queue/submit.js';
import { withoutNul } from '../json-safety.js';
import { isSlotId } from '../schemas.js';
import type { IngestPasswordVerifier } from '../settings/ingest-password.js';
import type { RuntimeSettings, SettingsStore } from '../settings/store.js';
import { BOOTH_CHECK_HEADERS, type BoothRequestLog } from '../stats/booth-requests.js';
import type { RejectionCounter } from '../stats/rejections.js';
import { BoothPasswordCheck } from './password-check.js';
import { readAdmission, type Admission } from './statements.js';
import { UnverifiedUploads, type UnverifiedTicket } from './unverified.js';
import { UploadGate } from './upload-gate.js';

/** What the ingest uses of the server's dependencies (src/deps.ts has them all). */
export interface IngestDeps extends JobServiceDeps, ReleaseDeps {
  boothRequests: BoothRequestLog;
  isShuttingDown?: () => boolean;
  rejections: RejectionCounter;
  db: Db;
  clock: Clock;
  config: Config;
  providers: ProviderRegistry;
  media: MediaStore;
  settings: SettingsStore;
  ingestPassword: IngestPasswordVerifier;
}

/** What a chunked file-first upload reserves of the unverified budget at first (a booth photo is 5–15 MB). */
const CHUNKED_RESERVE_BYTES = 16 * 1024 * 1024;

/** Query parameters kept with a job's fields (Breeze URL tokens): how many, and how long each. */
const QUERY_FIELD_LIMITS = { count: 16, chars: 1024 } as const;

type IngestRequest = FastifyRequest<{
  Params: { slotId: string };
  Querystring: Record<string, string | string[] | undefined>;
}>;

/** What every booth request of this process shares: the caps, the budgets, the password check. */
export class IngestPolicy {
  readonly gate: UploadGate;
  /** Photo bytes whose password has not come yet (file first): bounded per address and in all. */
  readonly unverified: UnverifiedUploads;
  /**
   * Photos of each client address being received or processed by this process (its share of the
   * in-flight cap: one booth password holder cannot take the whole queue).
   */
  readonly sharesTaken = new ClientCounts();
  readonly passwords: BoothPasswordCheck;
  readonly transfer: { totalMs: number; minBytesPerSecond: number; graceMs: number };
  private readonly admissions = new Map<string, Promise<Admission>>();

  constructor(readonly deps: IngestDeps) {
    const { config } = deps;
    this.gate = new UploadGate(config.maxConcurrentUploads);
    this.unverified = new UnverifiedUploads({
      budgetBytes: config.unverifiedUploadBudgetBytes,
      perAddress: config.unverifiedUploadsPerAddress,
      total: config.maxConcurrentUploads,
    });
    this.passwords = new BoothPasswordCheck(deps.ingestPassword, deps.clock, config.ingestFreeFailures);
    this.transfer = {
      totalMs: config.uploadTimeoutSeconds * 1000,
      minBytesPerSecond: config.uploadMinBytesPerSecond,
      graceMs: config.uploadRateGraceSeconds * 1000,
    };
  }

  /**
   * The slot, the runtime settings and the queue's fill, in one statement. Requests for one slot
   * arriving while its admission is being read share that read: under a flood of strangers a
   * booth joins the statement in flight instead of queueing behind hundreds for the pool
   * (bench:security (d)). Stale by at most one statement's time; the enqueue's locked insert stays
   * the decision.
   */
  admission(slotId: string, at: Date): Promise<Admission> {
    const pending = this.admissions.get(slotId);
    if (pending) return pending;
    const read = queueStatement(() => readAdmission(this.deps.db, slotId, at));
    this.admissions.set(slotId, read);
    const done = () => {
      if (this.admissions.get(slotId) === read) this.admissions.delete(slotId);
    };
    read.then(done, done);
    return read;
  }
}

/** A request admitted before its body: its slot, settings and limits. */
interface Admitted {
  admission: Admission;
  slot: NonNullable<Admission['slot']>;
  runtime: RuntimeSettings;
  operation: OperationDescriptor;
  limit: number;
}

export class IngestAttempt {
  private readonly receivedAt: Date;
  private readonly startedMs = performance.now();
  /** What the booth check keeps of this request (src/stats/booth-requests.ts), filled as it goes. */
  private readonly check: { status: number; code: string | undefined; bodyMs: number | undefined } = {
    status: 200,
    code: undefined,
    bodyMs: undefined,
  };
  private readonly slotId: string;
  private readonly jobId = randomUUID();
  private readonly log: Logger;
  private readonly client: string;
  private readonly throttleKeys: string[];
  /** The job, once its row is in (only a job that exists is named to the booth: X-Job-Id). */
  private job: LocalJob | undefined;
  /** Holds a place among the uploads being received (while its photo arrives). */
  private entered = false;
  /** Holds one of its address's share of the in-flight cap (until disposed). */
  private tookShare = false;
  /** A password verified for this request (URL or form). */
  private verified = false;
  /** The photo's unverified accounting while its password has not come. */
  private ticket: UnverifiedTicket | undefined;
  /** Filled while the body is read: a refusal names the booth when it sent its name first. */
  private readonly received = emptyUpload();
  /** The booth went away: a queued password check is dropped, a running job is told. */
  private readonly clientGone = new AbortController();
  /** The payload's files once received (removed by name: no directory walk on the answer's path). */
  private readonly payloadFiles: string[] = [];
  /** Their removal, done once by whichever comes first: the worker's finalize, the answer, disposal. */
  private filesReleased: Promise<void> | undefined;
  private disposed = false;

  constructor(
    private readonly policy: IngestPolicy,
    private readonly request: IngestRequest,
    private readonly reply: FastifyReply,
  ) {
    this.receivedAt = policy.deps.clock.now();
    this.slotId = request.params.slotId;
    this.log = request.log.child({ slot_id: this.slotId, job_id: this.jobId });
    this.client = clientKey(request.ip);
    this.throttleKeys = BoothPasswordCheck.keysOf(this.client, this.slotId);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) this.clientGone.abort();
    });
  }

  /** Decided before the body is read: shutting down, unknown or disabled slot, a guessing address, a full queue. */
  async admit(): Promise<Admitted> {
    const { deps } = this.policy;
    const { config } = deps;
    if (deps.isShuttingDown?.())
      throw new AppError('shutting_down', undefined, { headers: { Connection: 'close', 'Retry-After': '5' } });
    // Only ids of the slot-NNN form reach the database (a NUL or a path would only make it fail).
    if (!isSlotId(this.slotId)) throw slotNotFound(this.slotId, { orDisabled: true, close: true });
    const admission = await this.policy.admission(this.slotId, this.receivedAt);
    const { slot, inFlight } = admission;
    const runtime = deps.settings.runtimeOf(admission.settings);
    if (!slot || !slot.enabled) throw slotNotFound(this.slotId, { orDisabled: true, close: true });
    const operation = deps.providers.operation(slot.provider, slot.operation);
    if (!operation) {
      throw new AppError(
        'provider_error',
        `Slot ${slot.id} uses ${slot.provider}/${slot.operation}, which this server does not provide`,
        { details: { reason: 'provider_unknown' }, headers: { Connection: 'close' } },
      );
    }
    // An address guessing passwords waits, unread, before any argon2 is spent on it.
    this.policy.passwords.refuseIfWaiting(this.throttleKeys);
    // Refused before the body is read when the queue could not take it (jobs in flight + photos
    // being received) or the cap of photos received at once is reached.
    const { gate } = this.policy;
    if (gate.count >= gate.max || inFlight + gate.count >= config.queueMaxInFlightJobs)
      throw withClose(queueBusy(config));
    if (this.request.headers.expect?.toLowerCase() === '100-continue') this.reply.raw.writeContinue();
    return { admission, slot, runtime, operation, limit: photoLimitBytes(config.maxUploadBytes, slot, operation) };
  }

  /** Reads the body: the password wherever it comes, the photo within the bounds for its state. */
  async receive(admitted: Admitted): Promise<{ photo: ReceivedFile; upload: ReceivedUpload }> {
    const { config } = this.policy.deps;
    const checkPassword = (password: string) =>
      this.policy.passwords.check(
        admitted.runtime.ingestPasswordHash,
        password,
        { client: this.client, keys: this.throttleKeys },
        this.clientGone.signal,
      );
    // The URL's password (Breeze Booth has no password field): checked before the body is read.
    // A wrong one is decided at the end, when the form has sent no password of its own.
    const queryPassword = firstValue(this.request.query.password);
    if (queryPassword && (await checkPassword(queryPassword))) this.verified = true;
    const upload = await receiveUpload(
      this.request,
      {
        payloadDir: this.policy.deps.media.payloadDir(this.jobId),
        fileLimitBytes: admitted.limit,
        acceptedMimeTypes: admitted.operation.acceptedMimeTypes,
        fieldLimits: BOOTH_FIELD_LIMITS,
        transfer: this.policy.transfer,
        authenticated: () => this.verified,
        // The password field, wherever it comes. First: a wrong one is refused before the photo is
        // read. After the photo: a wrong one is refused (the photo removed), a right one makes the
        // photo's bytes verified.
        onPassword: async (password, beforeFile) => {
          if (password === '') return; // the same as none (400 at the end unless the URL has one)
          if (!(await checkPassword(password))) throw invalidPassword(true);
          const wasVerified = this.verified;
          this.verified = true;
          if (!beforeFile && !wasVerified) {
            this.releaseTicket();
            if (!this.entered) this.enterGate(admitted.admission.inFlight);
          }
        },
        // Verified: the photo's place is reserved when its bytes begin (atomic: one thread). Not
        // yet: it is received within the unverified bounds until its password comes.
        onFileStart: () => {
          if (this.verified) return this.enterGate(admitted.admission.inFlight);
          // What it will write: at most its declared body (a file is never longer), else a guess
          // for a chunked body (grown while the budget has room); never more than the budget.
          const declared = Number(this.request.headers['content-length']);
          const guess = Number.isFinite(declared) && declared > 0 ? declared : CHUNKED_RESERVE_BYTES;
          const reserve = Math.min(guess, admitted.limit, config.unverifiedUploadBudgetBytes);
          const started = this.policy.unverified.tryStart(
            this.client,
            this.policy.passwords.trusted.has(this.client),
            reserve,
          );
          if (started === 'per_address') throw tooManyUnverified(config.unverifiedUploadsPerAddress);
          if (started === 'budget' || started === 'total')
            throw unverifiedBudgetFull(config.unverifiedUploadBudgetBytes);
          this.ticket = started;
        },
        onFileBytes: (n) => {
          if (this.ticket && !this.ticket.add(n)) throw unverifiedBudgetFull(config.unverifiedUploadBudgetBytes);
        },
      },
      this.received,
    );
    this.check.bodyMs = Math.round(performance.now() - this.startedMs);
    this.leaveGate();
    if (upload.file) this.payloadFiles.push(upload.file.path);
    const photo = checkUpload(
      upload,
      { verified: this.verified, queryPasswordSent: queryPassword !== undefined && queryPassword !== '' },
      admitted.operation.acceptedMimeTypes,
    );
    // Its decoded size, from the header, before anything decodes it (a small file can hide a huge
    // image): measured on the bytes kept on the way in, from the file only when the header is longer.
    const decoded =
      (await photo.decodedBytes) ?? (photo.head.length < photo.size ? await decodedBytesOf(photo.path) : undefined);
    const decodeLimit = Math.min(decodeBudget.perImageBytes, decodeBudget.totalBytes);
    if (decoded !== undefined && decoded > decodeLimit) {
      throw new AppError('payload_too_large', new DecodeTooLargeError(decoded, decodeLimit).message, {
        details: { decoded_bytes: decoded, limit_decoded_bytes: decodeLimit },
      });
    }
    return { photo, upload };
  }

  /** The job, processed within T_sync_response; its outcome (a failure is thrown as its error). */
  async submit(
    admitted: Admitted,
    received: { photo: ReceivedFile; upload: ReceivedUpload },
  ): Promise<Extract<JobOutcome, { outcome: 'succeeded' }>> {
    const { photo, upload } = received;
    this.job = await submitJob(this.policy.deps, {
      jobId: this.jobId,
      slot: admitted.slot,
      photo,
      // The photo is gone before the bytes go out (removed while the worker's finalize runs), so
      // nothing of it is left once the booth has them; the row's bookkeeping follows the send (dispose).
      payload: { release: () => this.releaseFiles() },
      metadata: {
        ...queryFields(this.request.query),
        ...upload.fields,
        original_filename: photo.originalName,
        ...(upload.droppedFields > 0 ? { fields_dropped: String(upload.droppedFields) } : {}),
      },
      clientAddress: this.request.ip,
      templates: admitted.admission.templates,
      isTest: false,
      correlationId: this.request.id,
      receivedAt: this.receivedAt,
      tSyncResponseSeconds: admitted.runtime.tSyncResponseSeconds,
      log: this.log,
    });
    const outcome = await waitForOutcome(this.policy.deps, this.job, {
      clientGone: this.clientGone.signal,
      log: this.log,
    });
    if (outcome.outcome !== 'succeeded') throw outcome.error;
    return outcome;
  }

  /** 200 with the processed image. */
  async answer(outcome: Extract<JobOutcome, { outcome: 'succeeded' }>): Promise<FastifyReply> {
    this.log.info({ outcome: 'succeeded', size: outcome.bytes.length, timings: outcome.timings }, 'ingest answered');
    // A result read from the row (another instance's worker) has not removed the photo yet.
    await this.releaseFiles();
    return (
      this.reply
        .code(200)
        .header('Content-Type', outcome.mime)
        .header('Content-Length', String(outcome.bytes.length))
        .header('X-Job-Id', this.jobId)
        // Said as it is: the connection stays open for the next shot (src/ops/connection-timeouts.ts).
        .header('Keep-Alive', `timeout=${LONG_KEEP_ALIVE_SECONDS}`)
        .send(outcome.bytes)
    );
  }

  /** Notes a refusal or failure (booth check, refusal statistics) and returns it to be thrown. */
  refused(err: unknown): unknown {
    this.check.status = err instanceof AppError ? err.status : 500;
    this.check.code = err instanceof AppError ? err.code : 'internal_error';
    if (this.clientGone.signal.aborted) Object.assign(this.check, { status: 499, code: 'client_gone' });
    if (err instanceof AppError) {
      if (this.job) void this.reply.header('X-Job-Id', this.jobId);
      // A booth that hung up was not refused (and shutting down is not the booth's fault).
      if (!this.job && err.code !== 'shutting_down' && !this.clientGone.signal.aborted) {
        this.policy.deps.rejections.count(this.slotId, err.status, err.code, {
          address: this.request.ip,
          key: this.client,
          boothName: firstValue(this.received.fields.name),
          boothUserId: firstValue(this.received.fields.user_id),
          message: err.message,
        });
      }
    }
    return err;
  }

  /** Gives back everything the request held, once: its places, its files, its job's bookkeeping. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.leaveGate();
    if (this.tookShare) this.policy.sharesTaken.remove(this.client);
    this.tookShare = false;
    this.recordBoothCheck();
    await this.releaseFiles();
    await this.job?.markAnswered();
    // Unverified bytes count until their file is gone, not only until the answer.
    this.releaseTicket();
  }

  /** The photo's place among the uploads being received, taken once its password is verified. */
  private enterGate(inFlight: number): void {
    const { config } = this.policy.deps;
    // One address (one password holder) takes at most its share of the in-flight cap.
    if (this.policy.sharesTaken.of(this.client) >= config.queueSharePerAddress) throw addressShareUsed(config);
    if (this.policy.gate.tryEnter(inFlight, config.queueMaxInFlightJobs) !== 'ok') throw withClose(queueBusy(config));
    this.entered = true;
    this.policy.sharesTaken.add(this.client);
    this.tookShare = true;
  }

  private leaveGate(): void {
    if (this.entered) this.policy.gate.leave();
    this.entered = false;
  }

  private releaseTicket(): void {
    this.ticket?.release();
    this.ticket = undefined;
  }

  /** The payload's removal, once; a request refused before its folder was made (a stranger's flood) has nothing to remove. */
  private releaseFiles(): Promise<void> {
    return (this.filesReleased ??= this.received.folderMade
      ? releaseJobFiles(this.policy.deps, this.jobId, this.log, this.payloadFiles)
      : Promise.resolve());
  }

  private recordBoothCheck(): void {
    const { request, check, received } = this;
    this.policy.deps.boothRequests.record({
      at: this.receivedAt,
      slotId: this.slotId,
      address: request.ip,
      clientKey: this.client,
      // Named only once its password is verified: a stranger cannot write into a booth's log.
      boothName: this.verified ? (firstValue(received.fields.name) ?? firstValue(request.query.name)) : undefined,
      httpVersion: request.raw.httpVersion,
      headers: Object.fromEntries(
        BOOTH_CHECK_HEADERS.flatMap((h) => (typeof request.headers[h] === 'string' ? [[h, request.headers[h]]] : [])),
      ),
      queryKeys: Object.keys(request.query),
      parts: received.parts,
      status: check.status,
      code: check.code,
      jobId: this.job?.id,
      timings: {
        ...(check.bodyMs === undefined ? {} : { body_ms: check.bodyMs }),
        total_ms: Math.round(performance.now() - this.startedMs),
      },
    });
  }
}

function firstValue(field: string | string[] | undefined): string | undefined {
  return Array.isArray(field) ? field[0] : field;
}

function withClose(err: AppError): AppError {
  return new AppError(err.code, err.message, {
    details: err.details,
    headers: { ...err.headers, Connection: 'close' },
  });
}

function invalidPassword(early: boolean): AppError {
  return new AppError('invalid_password', undefined, { headers: early ? { Connection: 'close' } : undefined });
}

/** 429: this address already has its share of the in-flight cap. */
function addressShareUsed(config: { queueSharePerAddress: number; queueMaxInFlightJobs: number }): AppError {
  return new AppError(
    'queue_busy',
    `This address already has ${config.queueSharePerAddress} photos in progress (its share of the ${config.queueMaxInFlightJobs} the queue takes at once); retry shortly`,
    {
      details: { reason: 'address_share', share: config.queueSharePerAddress, retry_after_seconds: 2 },
      headers: { 'Retry-After': '2', Connection: 'close' },
    },
  );
}

/** 429: this address already sends as many photos without a verified password as it may. */
function tooManyUnverified(perAddress: number): AppError {
  return new AppError(
    'too_many_requests',
    `This address is already sending ${perAddress} photos without a verified password; send the password before the file, or retry shortly`,
    {
      details: { limit: perAddress, retry_after_seconds: 5 },
      headers: { 'Retry-After': '5', Connection: 'close' },
    },
  );
}

/** 503: the server-wide budget of photo bytes received before their password is used up. */
function unverifiedBudgetFull(budgetBytes: number): AppError {
  return new AppError('uploads_busy', undefined, {
    details: { budget_bytes: budgetBytes, retry_after_seconds: 10 },
    headers: { 'Retry-After': '10', Connection: 'close' },
  });
}

/**
 * Query parameters kept with the job's fields (Breeze URL tokens such as `style` or survey answers):
 * never the password, at most QUERY_FIELD_LIMITS, NULs removed. A form field of the same name wins.
 */
function queryFields(query: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(query)) {
    if (key.toLowerCase() === 'password' || value === undefined) continue;
    if (Object.keys(out).length >= QUERY_FIELD_LIMITS.count) break;
    const cut = (v: string) => withoutNul(v).slice(0, QUERY_FIELD_LIMITS.chars);
    out[withoutNul(key).slice(0, 64)] = Array.isArray(value) ? value.slice(0, 8).map(cut) : cut(value);
  }
  return out;
}

/**
 * The contract's checks on a received upload, in the order docs/api.md lists them: the password
 * was checked where it came (a wrong one refused there); what is left is a missing one.
 */
function checkUpload(
  upload: ReceivedUpload,
  password: { verified: boolean; queryPasswordSent: boolean },
  accepted: readonly string[],
): ReceivedFile {
  if (!password.verified && (upload.password === undefined || upload.password === '') && !password.queryPasswordSent) {
    throw new AppError(
      'invalid_request',
      'The password is missing: send the password field (or ?password= in the URL)',
    );
  }
  // A missing or empty file is a 400 before a wrong password; a wrong type is a 415 after.
  if (!upload.file && (!upload.rejectedFile || upload.rejectedFile.empty)) photoOf(upload, accepted);
  // Only the URL's password was sent, and it is wrong (an empty form password is the same as none).
  if (!password.verified) throw invalidPassword(false);
  return photoOf(upload, accepted);
}
