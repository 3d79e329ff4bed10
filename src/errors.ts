import { Type } from 'typebox';
import { isSlotId } from './schemas.js';
/**
 * Canonical errors: each code is defined once with its HTTP status and default message, and
 * app.ts maps every thrown AppError to the one JSON shape of docs/api.md:
 * `{"error": {"code", "message", "details"}}`.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, message: 'The request is malformed' },
  invalid_password: { status: 401, message: 'The ingest password does not match' },
  unauthorized: { status: 401, message: 'A valid access token is required' },
  invalid_credentials: { status: 401, message: 'Wrong user name or password' },
  forbidden: { status: 403, message: 'This account lacks the permission for this action' },
  csrf_failed: { status: 403, message: 'The X-CSRF-Token header of this session is missing or wrong; reload the page' },
  not_found: { status: 404, message: 'Not found' },
  slot_not_found: { status: 404, message: 'Unknown or disabled slot' },
  job_not_found: { status: 404, message: 'Unknown job' },
  request_timeout: { status: 408, message: 'The request (its headers or its body) did not arrive in time' },
  upload_timeout: { status: 408, message: 'The upload was too slow or took too long' },
  conflict: { status: 409, message: 'The resource was changed by someone else; reload and retry' },
  result_expired: { status: 410, message: 'The result has expired' },
  media_link_expired: { status: 410, message: 'The media link has expired' },
  payload_too_large: { status: 413, message: 'The file exceeds the upload limit' },
  uri_too_long: { status: 414, message: 'The URL is too long' },
  unsupported_media_type: { status: 415, message: 'The file type is not accepted by this slot' },
  invalid_settings: { status: 422, message: 'The settings are invalid' },
  login_locked: { status: 429, message: 'Too many failed logins; the account is locked for a while' },
  queue_busy: { status: 429, message: 'The queue is full; retry shortly' },
  too_many_streams: { status: 429, message: 'Too many live streams are open' },
  too_many_requests: { status: 429, message: 'Too many requests from this address; retry shortly' },
  too_many_attempts: { status: 429, message: 'Too many wrong passwords from this address; retry later' },
  not_ready: { status: 503, message: 'The server cannot take booth traffic right now' },
  internal_error: { status: 500, message: 'Unexpected server error' },
  provider_error: { status: 502, message: 'The AI provider failed to process the photo' },
  uploads_busy: {
    status: 503,
    message:
      'Too many photos without a password are being received; retry shortly, or send the password before the file',
  },
  queue_unavailable: { status: 503, message: 'The queue database is unavailable' },
  shutting_down: { status: 503, message: 'The server is shutting down' },
  public_url_missing: {
    status: 503,
    message: 'This server knows no address guests can reach: set PHOTOCHANGER_PUBLIC_BASE_URL',
  },
  sync_timeout: { status: 504, message: 'Ingest processing exceeded the synchronous response window' },
  insufficient_storage: { status: 507, message: 'The media storage is full' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly status: number;
  readonly details?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After, Connection: close). */
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_CODES[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.headers = options.headers;
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Errors raised when the queue database cannot answer in time: always 503 queue_unavailable. */
export class QueueUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('queue_unavailable');
    this.cause = cause;
  }
}

/** The error body's schema, for route responses in the OpenAPI document. */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { description: 'Error: {"error":{"code","message","details"}}' },
);

/** Error responses of a route, by status. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

/** A field's problem as a 422 lists it: a JSON pointer into the request body and a sentence. */
export interface FieldError {
  path: string;
  message: string;
}

/** 422 `invalid_settings`, the one constructor: `message` says it all, `details.errors` field by field. */
export function invalidFields(message: string, errors: readonly FieldError[]): AppError {
  return new AppError('invalid_settings', message, { details: { errors } });
}

/**
 * 404 `slot_not_found`, the one constructor (admin routes and the booth's ingest): `orDisabled` for
 * the ingest, which refuses a disabled slot the same way; `close` when the body is not read.
 */
export function slotNotFound(slotId: string, options: { orDisabled?: boolean; close?: boolean } = {}): AppError {
  // Only a well-formed id is named back: a path segment is whatever the client sent (a booth that
  // glued its password onto the URL would read it again, and the refusal log would keep it).
  const named = isSlotId(slotId) ? `Slot ${slotId}` : 'No slot by that name (slot ids look like slot-001): it';
  return new AppError('slot_not_found', `${named} does not exist${options.orDisabled ? ' or is disabled' : ''}`, {
    details: isSlotId(slotId) ? { slot_id: slotId } : {},
    ...(options.close ? { headers: { Connection: 'close' } } : {}),
  });
}
