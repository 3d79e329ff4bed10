import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../errors.js';
import { withoutNul } from '../json-safety.js';
import { sanitizeFileName } from './storage.js';
import { decodedBytesOf } from './decode-budget.js';

export interface ReceivedFile {
  path: string;
  originalName: string;
  mime: string;
  size: number;
  /** The file's first bytes (at most HEAD_BYTES), kept while it was written: its type and header are read from them, not from the disk again. */
  head: Buffer;
  /**
   * The image's decoded size from the header in `head` (decodedBytesOf; undefined when the head
   * does not hold it), measured while the rest of the file was still arriving.
   */
  decodedBytes: Promise<number | undefined>;
}

/** Enough for the type and, for a booth's photo, the header with its EXIF (an APP1 segment is at most 64 KiB). */
export const HEAD_BYTES = 128 * 1024;

export interface ReceivedUpload {
  password: string | undefined;
  file: ReceivedFile | undefined;
  /** Every other text field, kept as job metadata (repeated names become arrays). */
  fields: Record<string, string | string[]>;
  /** Why no file was chosen, when files were sent: the first unsupported type seen, or 'empty'. */
  rejectedFile: { mime: string | undefined; empty: boolean } | undefined;
  /** The parts in the order they came, as the booth check shows them (never a value). */
  parts: ReceivedPart[];
  /** Whether the payload folder was (being) made: nothing to remove otherwise. */
  folderMade?: boolean;
  /** Text fields dropped over the kept bytes (IntakeOptions.fieldLimits). */
  droppedFields: number;
}

/** One part of a multipart body: its name, size, declared type; a file or a text field. */
export interface ReceivedPart {
  name: string;
  bytes: number;
  file: boolean;
  /** A file part's declared Content-Type. */
  type?: string;
}

/** Parts listed per upload (the rest are counted, not listed). */
const LISTED_PARTS = 40;

export interface IntakeOptions {
  /** Directory for this job's payload (created here, removed by the caller in every case). */
  payloadDir: string;
  /** Byte limit for the file; the upload stops there with 413. */
  fileLimitBytes: number;
  /** Types accepted by the slot's provider, decided on the file's bytes. */
  acceptedMimeTypes: readonly string[];
  /**
   * The text field holding the password, kept out of the metadata (default `password`); `null`
   * when the caller has no password field (admin uploads: every text field is metadata).
   */
  passwordField?: string | null;
  /**
   * Called for the password field wherever it comes: before the file (`beforeFile`: the caller can
   * refuse the rest of the body unread), between or after the files. May throw to refuse.
   */
  onPassword?: (password: string, beforeFile: boolean) => Promise<void>;
  /**
   * Whether the caller holds a verified password for this upload (by an earlier field or the URL).
   * With it, an upload that has sent neither a verified password nor the start of a file within
   * the grace period is cut off (408): fields alone cannot hold a connection.
   */
  authenticated?: () => boolean;
  /** Bounds on the transfer: a whole-upload deadline and a minimum rate after a grace period. */
  transfer?: TransferLimits;
  /** Called when the file part begins, before any of its bytes are read (may throw to refuse). */
  onFileStart?: () => void;
  /**
   * Called with each chunk's size before it is written to disk (may throw to refuse: the chunk is
   * not written). The caller bounds bytes on disk with it (src/ingest/unverified.ts).
   */
  onFileBytes?: (bytes: number) => void;
  /**
   * Text fields: how many may come (beyond: 400), how long each (longer values are cut), and how
   * many bytes of them (names and values) are kept in memory: `keptBytes` in all, and only
   * `keptBytesUnverified` while the caller has no verified password (`authenticated`). Fields
   * beyond what is kept are dropped, not refused: a booth's upload is never refused for its
   * best-effort fields. Defaults suit an administrator's upload; the booth's intake takes fewer.
   */
  fieldLimits?: FieldLimits;
}

export interface FieldLimits {
  count: number;
  bytes: number;
  keptBytes: number;
  keptBytesUnverified: number;
  /**
   * Text bytes read at most while the caller has no verified password: beyond, the upload is
   * refused (413) and the rest not read. Dropping alone would still read (and make garbage of)
   * everything a stranger sends: 1,000 such requests of 512 KiB took 500 MB (bench:security (g)).
   */
  readBytesUnverified: number;
}

/**
 * Text fields a booth may send. DSLR Remote Pro sends a handful of short ones; Breeze Booth about
 * fifteen plus its survey and QR fields. Before a verified password, 8 KiB of them are kept (a
 * stranger's request holds no more); once verified, 64 KiB.
 */
export const BOOTH_FIELD_LIMITS: FieldLimits = {
  count: 100,
  bytes: 16 * 1024,
  keptBytes: 64 * 1024,
  keptBytesUnverified: 8 * 1024,
  readBytesUnverified: 32 * 1024,
};
const ADMIN_FIELD_LIMITS: FieldLimits = {
  count: 200,
  bytes: 64 * 1024,
  keptBytes: 1024 * 1024,
  keptBytesUnverified: 1024 * 1024,
  readBytesUnverified: Infinity,
};

export interface TransferLimits {
  totalMs: number;
  minBytesPerSecond: number;
  graceMs: number;
}

/** 408 in the canonical shape; the connection is closed (the rest of the body is not read). */
function uploadTooSlow(message: string, details: Record<string, unknown>): AppError {
  return new AppError('upload_timeout', message, { details: details, headers: { Connection: 'close' } });
}

/** Nothing received yet. A caller that passes its own to receiveUpload sees the fields read before a refusal. */
export function emptyUpload(): ReceivedUpload {
  return { password: undefined, file: undefined, fields: {}, rejectedFile: undefined, parts: [], droppedFields: 0 };
}

/**
 * Streams a booth's multipart upload: text fields (the password too) before, between or after the
 * files, in any order; the first file of
 * an accepted type written to disk under `payloadDir` with a sanitized name, its type detected
 * from its bytes. Nothing is buffered beyond a part's chunk; the byte limit stops the upload.
 * Errors are AppErrors (400/401/413), and may leave files in payloadDir for the caller to remove.
 */
export async function receiveUpload(
  request: FastifyRequest,
  options: IntakeOptions,
  result: ReceivedUpload = emptyUpload(),
): Promise<ReceivedUpload> {
  // The folder is made while the first fields are read (awaited before the file is written).
  // The payload folder is made once the upload is worth a folder: at once for a caller without a
  // password check or with a verified one (made while the first fields are read), else when its
  // password is verified or its file begins within the bounds. A stranger refused before then
  // costs no file-system call (a flood of them would queue ahead of the booths' own file work).
  let folderReady: Promise<unknown> | undefined;
  const ensureFolder = () => {
    if (!folderReady) {
      result.folderMade = true;
      folderReady = fs.mkdir(options.payloadDir, { recursive: true });
      folderReady.catch(() => undefined);
    }
    return folderReady;
  };
  const ensureFolderIfAuthenticated = () => {
    if (!options.authenticated || options.authenticated()) void ensureFolder();
  };
  ensureFolderIfAuthenticated();
  let fileIndex = 0;
  // A booth that drops the connection mid-upload (even before this point) must not leave the
  // handler waiting for a part that will never come: the wait is raced against the close, and the
  // file being written is destroyed.
  let current: { destroy(err?: Error): void } | undefined;
  // The file being written: on an interruption it is waited for until closed, so it cannot be
  // created after the caller has removed the payload directory.
  let writing: WriteStream | undefined;
  let rejectInterrupted: (err: Error) => void = () => undefined;
  const interrupted = new Promise<never>((_, reject) => (rejectInterrupted = reject));
  interrupted.catch(() => undefined);
  const interruption = new AppError('invalid_request', 'The upload was interrupted before the body was complete');
  const onClose = () => {
    if (request.raw.complete) return;
    current?.destroy(interruption);
    rejectInterrupted(interruption);
  };
  if (request.raw.destroyed) onClose();
  else request.raw.once('close', onClose);
  // The transfer's bounds: checked every 250 ms against the socket's byte count, so a client
  // trickling one byte every few seconds (which would reset any idle timer) is cut off.
  let watchdog: NodeJS.Timeout | undefined;
  let fileStarted = false;
  if (options.transfer) {
    const { totalMs, minBytesPerSecond, graceMs } = options.transfer;
    const socket = request.raw.socket;
    const startBytes = socket?.bytesRead ?? 0;
    const started = performance.now();
    const stop = (err: AppError) => {
      clearInterval(watchdog);
      current?.destroy(err);
      rejectInterrupted(err);
    };
    watchdog = setInterval(() => {
      const elapsed = performance.now() - started;
      const received = (socket?.bytesRead ?? startBytes) - startBytes;
      if (options.authenticated && !options.authenticated() && !fileStarted && elapsed > graceMs) {
        // Text fields alone (no valid password, no photo yet) hold no upload past the grace period.
        stop(
          uploadTooSlow(
            `Neither a valid password nor the photo within ${Math.round(graceMs / 1000)} s of the upload's start`,
            { grace_seconds: Math.round(graceMs / 1000) },
          ),
        );
      } else if (elapsed > totalMs) {
        stop(
          uploadTooSlow(`The upload did not complete within ${Math.round(totalMs / 1000)} s`, {
            limit_seconds: Math.round(totalMs / 1000),
            received_bytes: received,
          }),
        );
      } else if (elapsed > graceMs && received / (elapsed / 1000) < minBytesPerSecond) {
        stop(
          uploadTooSlow(`The upload is slower than ${minBytesPerSecond} bytes per second`, {
            min_bytes_per_second: minBytesPerSecond,
            received_bytes: received,
          }),
        );
      }
    }, 250);
    watchdog.unref();
  }
  try {
    const fieldLimits = options.fieldLimits ?? ADMIN_FIELD_LIMITS;
    let keptFieldBytes = 0;
    let unverifiedFieldBytes = 0;
    const parts = request.parts({
      preservePath: true, // keep the booth's C:\\… path as metadata; the name on disk is sanitized
      limits: {
        fileSize: options.fileLimitBytes,
        files: 10,
        fields: fieldLimits.count,
        fieldSize: fieldLimits.bytes,
        parts: fieldLimits.count + 20,
      },
    });
    const iterator = parts[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([iterator.next(), interrupted]);
      if (next.done) break;
      const part = next.value;
      if (part.type === 'field') {
        // @fastify/multipart keeps every field of the request in one object shared by its parts
        // (`part.fields`) until the request ends: taken out here, so that only what this intake
        // keeps (fieldLimits) stays in memory (bench:security (g)).
        delete (part.fields as Record<string, unknown>)[part.fieldname];
        // PostgreSQL cannot store U+0000: removed from the booth's text (documented in docs/api.md).
        const value = withoutNul(typeof part.value === 'string' ? part.value : String(part.value ?? ''));
        const fieldname = withoutNul(part.fieldname);
        const passwordField = options.passwordField === undefined ? 'password' : options.passwordField;
        // The password's part is listed without its size: not even its length is shown.
        const isPassword = passwordField !== null && fieldname === passwordField;
        if (result.parts.length < LISTED_PARTS)
          result.parts.push({
            name: fieldname.slice(0, 64),
            bytes: isPassword ? 0 : Buffer.byteLength(value),
            file: false,
          });
        if (isPassword) {
          result.password = value;
          await options.onPassword?.(value, !fileStarted);
          ensureFolderIfAuthenticated();
        } else {
          const cost = Buffer.byteLength(fieldname) + Buffer.byteLength(value);
          const verified = !options.authenticated || options.authenticated();
          if (!verified && (unverifiedFieldBytes += cost) > fieldLimits.readBytesUnverified)
            throw fieldsBeforePassword(fieldLimits.readBytesUnverified);
          if (keptFieldBytes + cost > (verified ? fieldLimits.keptBytes : fieldLimits.keptBytesUnverified)) {
            result.droppedFields += 1;
            continue;
          }
          keptFieldBytes += cost;
          const existing = result.fields[fieldname];
          result.fields[fieldname] =
            existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
        }
        continue;
      }
      const listed: ReceivedPart | undefined =
        result.parts.length < LISTED_PARTS
          ? { name: withoutNul(part.fieldname).slice(0, 64), bytes: 0, file: true, type: part.mimetype?.slice(0, 100) }
          : undefined;
      if (listed) result.parts.push(listed);
      // Its size, counted as it flows (the listener goes on just before it flows: nothing is missed).
      const countPart = () => {
        if (listed) part.file.on('data', (chunk: Buffer) => (listed.bytes += chunk.length));
      };
      if (result.file) {
        countPart();
        part.file.resume(); // a later file: drained, not stored
        await Promise.race([
          new Promise<void>((resolve, reject) => {
            part.file.once('end', resolve);
            part.file.once('error', reject);
          }),
          interrupted,
        ]);
        continue;
      }
      if (fileIndex === 0) {
        fileStarted = true;
        options.onFileStart?.();
      }
      fileIndex += 1;
      const target = path.join(options.payloadDir, `${fileIndex}-${sanitizeFileName(part.filename)}`);
      current = part.file;
      await Promise.race([ensureFolder(), interrupted]);
      // At the limit, stop at once (busboy would otherwise read the rest of the part to discard it).
      part.file.once('limit', () => part.file.destroy(tooLarge(options.fileLimitBytes)));
      writing = createWriteStream(target, { flags: 'wx' });
      // The first bytes are kept on their way to the disk (the stream's own chunks, no copy).
      const headChunks: Buffer[] = [];
      let headBytes = 0;
      let fullHead: { head: Buffer; decodedBytes: Promise<number | undefined> } | undefined;
      const keepHead = (chunk: Buffer) => {
        headChunks.push(chunk);
        headBytes += chunk.length;
        if (headBytes < HEAD_BYTES) return;
        part.file.off('data', keepHead);
        const head = Buffer.concat(headChunks).subarray(0, HEAD_BYTES);
        fullHead = { head, decodedBytes: decodedBytesOf(head) };
      };
      part.file.on('data', keepHead);
      countPart();
      const written = writing;
      const onFileBytes = options.onFileBytes;
      if (onFileBytes) {
        // Each chunk is counted before it is written: a refused chunk never reaches the disk.
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            try {
              onFileBytes(chunk.length);
              callback(null, chunk);
            } catch (err) {
              callback(err as Error);
            }
          },
        });
        await pipeline(part.file, meter, written);
      } else {
        await pipeline(part.file, written);
      }
      writing = undefined;
      current = undefined;
      if (part.file.truncated) throw tooLarge(options.fileLimitBytes);
      const size = written.bytesWritten;
      const head = fullHead?.head ?? Buffer.concat(headChunks);
      const detected = size > 0 ? await fileTypeFromBuffer(head) : undefined;
      if (size > 0 && detected && options.acceptedMimeTypes.includes(detected.mime)) {
        const decodedBytes = fullHead?.decodedBytes ?? decodedBytesOf(head);
        result.file = {
          path: target,
          originalName: withoutNul(part.filename ?? ''),
          mime: detected.mime,
          size,
          head,
          decodedBytes,
        };
      } else {
        result.rejectedFile ??= { mime: detected?.mime ?? (size > 0 ? 'unknown' : undefined), empty: size === 0 };
        await fs.rm(target, { force: true });
      }
    }
    await folderReady;
  } catch (err) {
    // The folder exists (or failed) before the caller removes it: a refusal never races its creation.
    await folderReady?.catch(() => undefined);
    if (writing && !writing.closed)
      await once(writing, 'close', { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    throw toIntakeError(err, options.fileLimitBytes);
  } finally {
    clearInterval(watchdog);
    request.raw.removeListener('close', onClose);
  }
  return result;
}

/** 413: more text than any booth sends before its password (the rest of the body is not read). */
function fieldsBeforePassword(limit: number): AppError {
  return new AppError(
    'payload_too_large',
    `More than ${limit} bytes of text fields before the password: send the password first (or in the URL)`,
    {
      details: { reason: 'fields_before_password', limit_bytes: limit },
      headers: { Connection: 'close' },
    },
  );
}

function tooLarge(limit: number): AppError {
  // The rest of the body is not read: the connection is closed after the answer.
  return new AppError('payload_too_large', `The file exceeds the upload limit of ${limit} bytes`, {
    details: { limit_bytes: limit },
    headers: { Connection: 'close' },
  });
}

/** busboy/@fastify/multipart failures → the ingest contract's codes. */
export function toIntakeError(err: unknown, limit: number): AppError {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(limit);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError('invalid_request', 'The request is not multipart/form-data');
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new AppError('invalid_request', 'Too many parts in the multipart body', {
        headers: { Connection: 'close' },
      });
    case 'ENOSPC':
    case 'EDQUOT':
      // The partial file is removed with the payload directory by the caller.
      return new AppError('insufficient_storage', 'The media storage is full; the upload was not kept', {
        headers: { Connection: 'close' },
      });
    case 'FST_PROTO_VIOLATION':
      return new AppError('invalid_request', 'Forbidden field name in the multipart body');
    default:
      return new AppError('invalid_request', `Malformed multipart body: ${e.message ?? 'unreadable'}`, {
        headers: { Connection: 'close' },
      });
  }
}

/** The largest photo a slot takes: the server's limit, the slot's own and its provider's. */
export function photoLimitBytes(
  serverLimit: number,
  slot: { maxUploadBytes: number | null },
  operation: { maxInputBytes: number },
): number {
  return Math.min(serverLimit, slot.maxUploadBytes ?? Infinity, operation.maxInputBytes);
}

/**
 * The photo of a received upload, or the contract's error: 400 `invalid_request` when no file or
 * an empty one was sent, 415 `unsupported_media_type` (with what was detected) when its bytes are
 * not of an accepted type.
 */
export function photoOf(upload: ReceivedUpload, accepted: readonly string[]): ReceivedFile {
  if (upload.file) return upload.file;
  if (!upload.rejectedFile) throw new AppError('invalid_request', 'The fileToUpload file is missing');
  if (upload.rejectedFile.empty) throw new AppError('invalid_request', 'The uploaded file is empty');
  throw new AppError(
    'unsupported_media_type',
    `The file type ${upload.rejectedFile.mime ?? 'unknown'} is not accepted; accepted: ${accepted.join(', ')}`,
    {
      details: {
        detected: upload.rejectedFile.mime ?? null,
        accepted,
      },
    },
  );
}
