import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { MediaStore } from '../media/storage.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { IngestPasswordVerifier } from '../settings/ingest-password.js';
import type { SettingsStore } from '../settings/store.js';
import type { BoothRequestLog } from '../stats/booth-requests.js';
import type { RejectionCounter } from '../stats/rejections.js';
import { AppError, ErrorSchema, slotNotFound } from '../errors.js';
import { queueStatement } from '../queue/statements.js';
import { readAdmission, type Admission } from './statements.js';
import { AttemptThrottle, ClientCounts, clientKey } from '../auth/attempts.js';
import {
  BOOTH_FIELD_LIMITS,
  emptyUpload,
  photoLimitBytes,
  photoOf,
  receiveUpload,
  type ReceivedFile,
  type ReceivedUpload,
} from '../media/upload.js';
import {
  markJobAnswered,
  queueBusy,
  releaseJobFiles,
  submitAndWait,
  type JobServiceDeps,
  type ReleaseDeps,
} from '../queue/submit.js';
import { UploadGate } from './upload-gate.js';
import { TrustedAddresses, UnverifiedUploads, type UnverifiedTicket } from './unverified.js';
import { lingerAfterRefusal } from './lingering-close.js';
import { decodeBudget, decodedBytesOf, DecodeTooLargeError } from '../media/decode-budget.js';
import { isSlotId } from '../schemas.js';
import { withoutNul } from '../json-safety.js';
import { BOOTH_CHECK_HEADERS } from '../stats/booth-requests.js';

/** Where booths post: ours, and the one of the Python system PhotoChanger replaces. */
export const INGEST_PATHS = ['/ingest/:slotId', '/api/ingest/:slotId'] as const;

const INGEST_DESCRIPTION = `DSLR Remote Pro / Breeze "web based post-processing": a multipart/form-data upload with the photo
(\`fileToUpload\`, or \`image\` / \`file\`) and the ingest password, as the \`password\` field (before, between or
after the files) or the \`password\` query parameter (Breeze Booth sends no password field). Other text fields and
query parameters are kept as job metadata. Answers within T_sync_response with the processed image (200, the image
bytes) or a JSON error, always a complete HTTP answer. Every answer carries \`Cache-Control: no-store\`.`;

/** What a chunked file-first upload reserves of the unverified budget at first (a booth photo is 5–15 MB). */
const CHUNKED_RESERVE_BYTES = 16 * 1024 * 1024;

/** Query parameters kept with a job's fields (Breeze URL tokens): how many, and how long each. */
const QUERY_FIELD_LIMITS = { count: 16, chars: 1024 } as const;

/** POST /ingest/:slotId — the booth's synchronous contract (docs/api.md). */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface IngestRouteDeps extends JobServiceDeps, ReleaseDeps {
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

export const ingestRoutes: FastifyPluginAsyncTypebox<{ deps: IngestRouteDeps }> = async (app, { deps }) => {
  const { db, clock, config, providers, media, settings, ingestPassword } = deps;
  const gate = new UploadGate(config.maxConcurrentUploads);
  // Photo bytes whose password has not come yet (file first): bounded per address and in all.
  const unverified = new UnverifiedUploads({
    budgetBytes: config.unverifiedUploadBudgetBytes,
    perAddress: config.unverifiedUploadsPerAddress,
    total: config.maxConcurrentUploads,
  });
  const trusted = new TrustedAddresses(clock);
  // Photos of each client address being received or processed by this process (its share of the
  // in-flight cap: one booth password holder cannot take the whole queue).
  const sharesTaken = new ClientCounts();
  // Requests for one slot arriving while its admission is being read share that read: under a
  // flood of strangers a booth joins the statement in flight instead of queueing behind hundreds
  // for the pool (bench:security (d)). Stale by at most one statement's time; the enqueue's locked
  // insert stays the decision.
  const admissions = new Map<string, Promise<Admission>>();
  const admit = (slotId: string, at: Date): Promise<Admission> => {
    const pending = admissions.get(slotId);
    if (pending) return pending;
    const read = queueStatement(() => readAdmission(db, slotId, at));
    admissions.set(slotId, read);
    const done = () => {
      if (admissions.get(slotId) === read) admissions.delete(slotId);
    };
    read.then(done, done);
    return read;
  };
  // Wrong passwords per client address, and per address and slot (a booth elsewhere is unaffected).
  const throttle = new AttemptThrottle({ clock, freeFailures: config.ingestFreeFailures });
  const transfer = {
    totalMs: config.uploadTimeoutSeconds * 1000,
    minBytesPerSecond: config.uploadMinBytesPerSecond,
    graceMs: config.uploadRateGraceSeconds * 1000,
  };

  // Whatever the booth sends, the route decides (a non-multipart body is a 400 invalid_request,
  // not Fastify's 415), and no body is read before the route has checked the slot.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // Every answer of the ingest, including errors raised before the handler, is not cacheable.
  // A refusal in the middle of a body is answered completely before the connection closes: the
  // booth may still be sending (src/ingest/lingering-close.ts).
  app.addHook('onSend', async (request, reply) => {
    void reply.header('Cache-Control', 'no-store');
    lingerAfterRefusal(request, reply, config.uploadMinBytesPerSecond);
  });

  // The previous system's path answers exactly the same (booths moved from it keep their URL).
  for (const url of INGEST_PATHS)
    app.post<{ Params: { slotId: string }; Querystring: Record<string, string | string[] | undefined> }>(
      url,
      {
        schema: {
          summary:
            url === '/ingest/:slotId'
              ? 'Process a booth photo (DSLR Remote Pro HTTP POST)'
              : 'The same as POST /ingest/{slotId} (the path of the system PhotoChanger replaces)',
          description: INGEST_DESCRIPTION,
          tags: ['ingest'],
          consumes: ['multipart/form-data'],
          params: Type.Object({ slotId: Type.String({ maxLength: 64 }) }),
          querystring: Type.Object(
            {
              password: Type.Optional(
                Type.String({
                  description:
                    'The ingest password, for booths that cannot send a form field (Breeze Booth); the form field wins when both are sent. Never logged.',
                }),
              ),
            },
            {
              additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]),
              description:
                'Other query parameters (Breeze URL tokens such as `style` or survey answers) are kept with the job fields.',
            },
          ),
          response: {
            200: {
              description: 'The processed image (Content-Type = its MIME); header X-Job-Id',
              content: { 'image/*': { schema: { type: 'string', format: 'binary' } } },
            },
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
            408: ErrorSchema,
            413: ErrorSchema,
            415: ErrorSchema,
            429: ErrorSchema,
            500: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
            504: ErrorSchema,
            507: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        void reply.header('Cache-Control', 'no-store');
        const receivedAt = clock.now();
        const startedMs = performance.now();
        // What the booth check keeps of this request (src/stats/booth-requests.ts), filled as it goes.
        const check: { status: number; code: string | undefined; bodyMs: number | undefined } = {
          status: 200,
          code: undefined,
          bodyMs: undefined,
        };
        const slotId = request.params.slotId;
        const jobId = randomUUID();
        const payloadDir = media.payloadDir(jobId);
        let jobCreated = false;
        const log = request.log.child({ slot_id: slotId, job_id: jobId });
        const client = clientKey(request.ip);
        const throttleKeys = [`ip:${client}`, `ip:${client}|slot:${slotId.slice(0, 64)}`];
        let entered = false;
        let cleaned = false;
        // A password verified for this request (URL or form), and the photo's unverified accounting
        // while its password has not come.
        let verified = false;
        let tookShare = false;
        let ticket: UnverifiedTicket | undefined;
        const releaseTicket = () => {
          ticket?.release();
          ticket = undefined;
        };
        // Filled while the body is read: a refusal names the booth when it sent its name first.
        const received = emptyUpload();
        // The booth went away: a queued password check is dropped, a running job is told.
        const clientGone = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) clientGone.abort();
        });
        // The payload never outlives the response; the inline copy is cleared once answered.
        // The payload's file once received (removed by name: no directory walk on the answer's path).
        const payloadFiles: string[] = [];
        // Its removal, done once by whichever comes first: the worker's finalize, the answer, the clean-up.
        let filesReleased: Promise<void> | undefined;
        // A request refused before its folder was made (a stranger's flood) has nothing to remove.
        const releaseFiles = () =>
          (filesReleased ??= received.folderMade ? releaseJobFiles(deps, jobId, log, payloadFiles) : Promise.resolve());
        const cleanUp = async () => {
          if (cleaned) return;
          cleaned = true;
          await releaseFiles();
          if (jobCreated) await markJobAnswered(deps, jobId, log);
        };
        try {
          if (deps.isShuttingDown?.())
            throw new AppError('shutting_down', undefined, { headers: { Connection: 'close', 'Retry-After': '5' } });
          // Decided before the body is read: unknown/disabled slot, queue already full. The slot, the
          // runtime settings and the queue's fill are read in one statement.
          // Only ids of the slot-NNN form reach the database (a NUL or a path would only make it fail).
          if (!isSlotId(slotId)) throw slotNotFound(slotId, { orDisabled: true, close: true });
          const admission = await admit(slotId, receivedAt);
          const { slot, inFlight } = admission;
          const runtime = settings.runtimeOf(admission.settings);
          if (!slot || !slot.enabled) throw slotNotFound(slotId, { orDisabled: true, close: true });
          const operation = providers.operation(slot.provider, slot.operation);
          if (!operation) {
            throw new AppError(
              'provider_error',
              `Slot ${slot.id} uses ${slot.provider}/${slot.operation}, which this server does not provide`,
              { details: { reason: 'provider_unknown' }, headers: { Connection: 'close' } },
            );
          }
          // An address guessing passwords waits, unread, before any argon2 is spent on it.
          const wait = throttle.waitMs(...throttleKeys);
          if (wait > 0) throw tooManyAttempts(wait);
          // Refused before the body is read when the queue could not take it (jobs in flight +
          // photos being received) or the cap of photos received at once is reached.
          if (gate.count >= gate.max || inFlight + gate.count >= config.queueMaxInFlightJobs)
            throw withClose(queueBusy(config));
          const limit = photoLimitBytes(config.maxUploadBytes, slot, operation);
          if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();

          const checkPassword = async (password: string) => {
            const known = ingestPassword.knownVerdict(runtime.ingestPasswordHash, password);
            // The same candidate being checked for another request is shared, not a new attempt.
            if (known === undefined && !ingestPassword.isBeingChecked(runtime.ingestPasswordHash, password)) {
              // An argon2 check is about to be spent: it counts as a failure until it succeeds, so
              // guesses sent in parallel from one address are bounded too, not only sequential ones.
              const wait = throttle.waitMs(...throttleKeys);
              if (wait > 0) throw tooManyAttempts(wait);
              throttle.fail(...throttleKeys);
            }
            const ok = known ?? (await ingestPassword.verify(runtime.ingestPasswordHash, password, clientGone.signal));
            if (ok) {
              throttle.succeed(...throttleKeys);
              trusted.remember(client);
            } else if (known === false) throttle.fail(...throttleKeys);
            return ok;
          };
          // The photo's place among the uploads being received is taken once its password is verified.
          const enterGate = () => {
            // One address (one password holder) takes at most its share of the in-flight cap.
            if (sharesTaken.of(client) >= config.queueSharePerAddress) throw addressShareUsed(config);
            if (gate.tryEnter(inFlight, config.queueMaxInFlightJobs) !== 'ok') throw withClose(queueBusy(config));
            entered = true;
            sharesTaken.add(client);
            tookShare = true;
          };
          // The URL's password (Breeze Booth has no password field): checked before the body is read.
          // A wrong one is decided at the end, when the form has sent no password of its own.
          const queryPassword = firstValue(request.query.password);
          if (queryPassword && (await checkPassword(queryPassword))) verified = true;
          const upload = await receiveUpload(
            request,
            {
              payloadDir,
              fileLimitBytes: limit,
              acceptedMimeTypes: operation.acceptedMimeTypes,
              fieldLimits: BOOTH_FIELD_LIMITS,
              transfer,
              authenticated: () => verified,
              // The password field, wherever it comes. First: a wrong one is refused before the photo is
              // read. After the photo: a wrong one is refused (the photo removed), a right one makes the
              // photo's bytes verified.
              onPassword: async (password, beforeFile) => {
                if (password === '') return; // the same as none (400 at the end unless the URL has one)
                if (!(await checkPassword(password))) throw invalidPassword(true);
                const wasVerified = verified;
                verified = true;
                if (!beforeFile && !wasVerified) {
                  releaseTicket();
                  if (!entered) enterGate();
                }
              },
              // Verified: the photo's place is reserved when its bytes begin (atomic: one thread). Not
              // yet: it is received within the unverified bounds until its password comes.
              onFileStart: () => {
                if (verified) return enterGate();
                // What it will write: at most its declared body (a file is never longer), else a guess
                // for a chunked body (grown while the budget has room); never more than the budget.
                const declared = Number(request.headers['content-length']);
                const guess = Number.isFinite(declared) && declared > 0 ? declared : CHUNKED_RESERVE_BYTES;
                const reserve = Math.min(guess, limit, config.unverifiedUploadBudgetBytes);
                const started = unverified.tryStart(client, trusted.has(client), reserve);
                if (started === 'per_address') throw tooManyUnverified(config.unverifiedUploadsPerAddress);
                if (started === 'budget' || started === 'total')
                  throw unverifiedBudgetFull(config.unverifiedUploadBudgetBytes);
                ticket = started;
              },
              onFileBytes: (n) => {
                if (ticket && !ticket.add(n)) throw unverifiedBudgetFull(config.unverifiedUploadBudgetBytes);
              },
            },
            received,
          );
          check.bodyMs = Math.round(performance.now() - startedMs);
          if (entered) gate.leave();
          entered = false;
          if (upload.file) payloadFiles.push(upload.file.path);
          const photo = checkUpload(
            upload,
            { verified, queryPasswordSent: queryPassword !== undefined && queryPassword !== '' },
            operation.acceptedMimeTypes,
          );
          // Its decoded size, from the header, before anything decodes it (a small file can hide a huge
          // image): measured on the bytes kept on the way in, from the file only when the header is longer.
          const decoded =
            (await photo.decodedBytes) ??
            (photo.head.length < photo.size ? await decodedBytesOf(photo.path) : undefined);
          if (decoded !== undefined && decoded > Math.min(decodeBudget.perImageBytes, decodeBudget.totalBytes)) {
            const limit = Math.min(decodeBudget.perImageBytes, decodeBudget.totalBytes);
            throw new AppError('payload_too_large', new DecodeTooLargeError(decoded, limit).message, {
              details: { decoded_bytes: decoded, limit_decoded_bytes: limit },
            });
          }

          const outcome = await submitAndWait(deps, {
            jobId,
            slot,
            photo,
            metadata: {
              ...queryFields(request.query),
              ...upload.fields,
              original_filename: photo.originalName,
              ...(upload.droppedFields > 0 ? { fields_dropped: String(upload.droppedFields) } : {}),
            },
            clientAddress: request.ip,
            templates: admission.templates,
            isTest: false,
            correlationId: request.id,
            receivedAt,
            tSyncResponseSeconds: runtime.tSyncResponseSeconds,
            clientGone: clientGone.signal,
            // Only a job that exists is named to the booth (X-Job-Id); a refusal before it is counted.
            onEnqueued: () => (jobCreated = true),
            // The photo is gone before the bytes go out, so nothing of it is left once the booth has
            // them: removed while the worker's finalize runs; the row's bookkeeping (answered)
            // follows the send (finally below).
            whileRecording: releaseFiles,
            log,
          });
          if (outcome.outcome !== 'succeeded') throw outcome.error;
          log.info({ outcome: 'succeeded', size: outcome.bytes.length, timings: outcome.timings }, 'ingest answered');
          // A result read from the row (another instance's worker) did not pass through whileRecording.
          await releaseFiles();
          void reply
            .code(200)
            .header('Content-Type', outcome.mime)
            .header('Content-Length', String(outcome.bytes.length))
            .header('X-Job-Id', jobId)
            .send(outcome.bytes);
          return reply;
        } catch (err) {
          check.status = err instanceof AppError ? err.status : 500;
          check.code = err instanceof AppError ? err.code : 'internal_error';
          if (clientGone.signal.aborted) Object.assign(check, { status: 499, code: 'client_gone' });
          if (err instanceof AppError) {
            if (jobCreated) void reply.header('X-Job-Id', jobId);
            // A booth that hung up was not refused (and shutting down is not the booth's fault).
            if (!jobCreated && err.code !== 'shutting_down' && !clientGone.signal.aborted) {
              deps.rejections.count(slotId, err.status, err.code, {
                address: request.ip,
                key: client,
                boothName: firstValue(received.fields.name),
                boothUserId: firstValue(received.fields.user_id),
              });
            }
          }
          throw err;
        } finally {
          if (entered) gate.leave();
          if (tookShare) sharesTaken.remove(client);
          deps.boothRequests.record({
            at: receivedAt,
            slotId,
            address: request.ip,
            clientKey: client,
            // Named only once its password is verified: a stranger cannot write into a booth's log.
            boothName: verified ? (firstValue(received.fields.name) ?? firstValue(request.query.name)) : undefined,
            httpVersion: request.raw.httpVersion,
            headers: Object.fromEntries(
              BOOTH_CHECK_HEADERS.flatMap((h) =>
                typeof request.headers[h] === 'string' ? [[h, request.headers[h]]] : [],
              ),
            ),
            queryKeys: Object.keys(request.query),
            parts: received.parts,
            status: check.status,
            code: check.code,
            jobId: jobCreated ? jobId : undefined,
            timings: {
              ...(check.bodyMs === undefined ? {} : { body_ms: check.bodyMs }),
              total_ms: Math.round(performance.now() - startedMs),
            },
          });
          await cleanUp();
          // Unverified bytes count until their file is gone, not only until the answer.
          releaseTicket();
        }
      },
    );
};

function firstValue(field: string | string[] | undefined): string | undefined {
  return Array.isArray(field) ? field[0] : field;
}

function tooManyAttempts(waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('too_many_attempts', `Too many wrong passwords from this address; retry in ${seconds} s`, {
    details: { retry_after_seconds: seconds },
    headers: { 'Retry-After': String(seconds), Connection: 'close' },
  });
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
