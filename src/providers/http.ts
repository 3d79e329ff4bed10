/**
 * What the three HTTP drivers share: one call = one fetch bounded by the job's signal and
 * deadline; failures become typed ProviderFailures; a small retry loop that records every attempt,
 * honours Retry-After and never sleeps past the deadline; masking of keys and base64 in anything
 * that may reach a log line.
 */
import { performance } from 'node:perf_hooks';
import { ProviderFailure, type ProviderCallRecord, type ProviderRequest } from './types.js';

export type FetchLike = typeof fetch;

/** A ProviderFailure that also carries the provider's id for the failed call (for the call record). */
export class ProviderCallFailure extends ProviderFailure {
  constructor(
    reason: string,
    message: string,
    options: { retryable?: boolean; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
    readonly responseId?: string,
  ) {
    super(reason, message, options);
  }
}

const LONG_TOKEN = /[A-Za-z0-9+/_-]{120,}={0,2}/g;
/** Runs of key-ish characters (base64, base64url, hex, key prefixes such as AIza… or sk-…). */
const TOKEN_RUN = /[A-Za-z0-9+/_=-]{10,}/g;
/** Provider key shapes, whoever's they are. */
const KEY_SHAPES = [/AIza[0-9A-Za-z_-]{10,}/g, /\bsk-[A-Za-z0-9_-]{8,}/g, /\bBearer\s+\S+/gi];
const WINDOW = 10;

/**
 * Every WINDOW-long slice of the secret and of its base64, base64url and hex (either case) forms.
 * base64 of a part of the secret depends on where the part starts (mod 3 bytes): all three
 * alignments are covered.
 */
function secretWindows(secrets: readonly string[]): Set<string> {
  const windows = new Set<string>();
  for (const s of secrets) {
    if (s.length < WINDOW) continue;
    const b = Buffer.from(s);
    const hex = b.toString('hex');
    const forms = [s, hex, hex.toUpperCase()];
    for (const shift of [0, 1, 2]) forms.push(b.subarray(shift).toString('base64'), b.subarray(shift).toString('base64url'));
    for (const form of forms) {
      for (let i = 0; i + WINDOW <= form.length; i++) windows.add(form.slice(i, i + WINDOW));
    }
  }
  return windows;
}

/**
 * Text from a provider, made safe for logs and job records: each secret is removed also when
 * echoed truncated, in base64 or in hex (any run sharing ten characters with it), key-shaped
 * strings and bearer tokens are removed, long base64 runs (images) are summarized.
 */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  const windows = secretWindows(secrets);
  if (windows.size > 0) {
    out = out.replace(TOKEN_RUN, (run) => {
      for (let i = 0; i + WINDOW <= run.length; i++) if (windows.has(run.slice(i, i + WINDOW))) return '[redacted]';
      return run;
    });
  }
  for (const shape of KEY_SHAPES) out = out.replace(shape, '[redacted]');
  return out.replace(LONG_TOKEN, (m) => `[base64 ${m.length} chars]`);
}

/** The error to throw when the job's signal fired: its reason, or a standard AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** Waits `ms`, or rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After in milliseconds (delta-seconds or HTTP-date), or undefined. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export function remainingMs(request: Pick<ProviderRequest, 'deadline' | 'clock'>): number {
  return request.deadline.getTime() - request.clock.now().getTime();
}

/** Grace after the deadline before the safety net below fires (the worker's own abort should win). */
const DEADLINE_GRACE_MS = 250;

/**
 * The signal for one HTTP call: fires when the job's signal fires (worker abort, deadline) and, as a
 * safety net, shortly after the deadline even if nobody aborted.
 */
export function callSignal(request: Pick<ProviderRequest, 'signal' | 'deadline' | 'clock'>): AbortSignal {
  const left = Math.max(1, remainingMs(request) + DEADLINE_GRACE_MS);
  return AbortSignal.any([request.signal, AbortSignal.timeout(left)]);
}

/** Turns what fetch (or reading its body) threw into the error the driver must raise. */
export function translateFetchError(err: unknown, request: Pick<ProviderRequest, 'signal'>, signal: AbortSignal, title: string): unknown {
  if (request.signal.aborted) return abortReason(request.signal);
  if (signal.aborted) {
    return new ProviderCallFailure('deadline_exceeded', `${title} did not answer before the job deadline`);
  }
  if (err instanceof ProviderFailure) return err;
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: string } | undefined)?.code;
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new ProviderCallFailure('network_error', `Network error talking to ${title}: ${code ? `${code} ` : ''}${message}`, {
    retryable: true,
    cause: err,
  });
}

/** fetch bounded by the job: aborts cancel the socket at once; failures are typed. */
export async function sendRequest(
  fetchImpl: FetchLike,
  url: string,
  init: RequestInit,
  request: Pick<ProviderRequest, 'signal' | 'deadline' | 'clock'>,
  title: string,
): Promise<{ response: Response; body: Buffer; signal: AbortSignal }> {
  if (request.signal.aborted) throw abortReason(request.signal);
  const signal = callSignal(request);
  try {
    const response = await fetchImpl(url, { ...init, signal });
    const body = Buffer.from(await response.arrayBuffer());
    return { response, body, signal };
  } catch (err) {
    throw translateFetchError(err, request, signal, title);
  }
}

/** Parses a JSON body, or undefined when it is not JSON (HTML error pages, truncated bodies). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A short, masked excerpt of a non-JSON body for messages (HTML pages from front ends). */
export function bodyExcerpt(body: Buffer, secrets: readonly string[] = []): string {
  const text = body
    .toString('utf8')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return maskSecrets(text.length > 160 ? `${text.slice(0, 160)}…` : text, secrets);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 decoding: Buffer.from(…, 'base64') silently skips garbage, which must be an error here. */
export function decodeBase64Strict(data: string): Buffer | undefined {
  // The usual answer (one unbroken line): decoded at once, and accepted only when no character was
  // skipped, i.e. the bytes are exactly as many as the length promises. A regular expression over
  // a 1 MB image's 1.4 million characters cost 3 ms per answer (docs/benchmarks.md, bench:overhead).
  if (data.length > 0 && data.length % 4 === 0) {
    const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > 0 && bytes.length === (data.length / 4) * 3 - pad) return bytes;
  }
  // Anything else (line breaks, garbage): checked character by character.
  const compact = data.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 === 1 || !BASE64.test(compact)) return undefined;
  const bytes = Buffer.from(compact, 'base64');
  return bytes.length > 0 ? bytes : undefined;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Pause before the next attempt after `failure` (Retry-After, when given, wins). */
  delayMs(failure: ProviderFailure, attempt: number): number;
  /** Do not start an attempt with less time than this before the deadline. */
  minAttemptMs: number;
}

export interface AttemptResult<T> {
  value: T;
  responseId?: string;
  httpStatus?: number;
  detail?: string;
}

export interface CallMeta {
  provider: string;
  title: string;
  model?: string;
  /** Strings that must never reach a log line (the key). */
  secrets: readonly string[];
}

/** Stores and logs one call record (masked). */
export function recordCall(request: ProviderRequest, meta: CallMeta, call: Omit<ProviderCallRecord, 'provider' | 'model'>): void {
  const record: ProviderCallRecord = {
    provider: meta.provider,
    ...(meta.model === undefined ? {} : { model: meta.model }),
    ...call,
    ...(call.detail === undefined ? {} : { detail: maskSecrets(call.detail, meta.secrets).slice(0, 500) }),
  };
  request.recordCall(record);
  const level = record.outcome === 'success' ? 'info' : record.outcome === 'aborted' ? 'info' : 'warn';
  request.log[level]({ jobId: request.jobId, providerCall: record }, `${meta.title} call ${record.outcome}`);
}

/**
 * Runs `attempt` until it succeeds, a non-retryable failure occurs, the attempts are used up, or
 * the next pause would cross the deadline. Every attempt is recorded. An abort of the job's signal
 * propagates as the signal's reason (never as a ProviderFailure).
 */
export async function withRetries<T>(
  request: ProviderRequest,
  meta: CallMeta,
  policy: RetryPolicy,
  attempt: (n: number) => Promise<AttemptResult<T>>,
): Promise<T> {
  for (let n = 1; ; n++) {
    if (request.signal.aborted) throw abortReason(request.signal);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const result = await attempt(n);
      recordCall(request, meta, {
        attempt: n,
        durationMs: elapsed(),
        outcome: 'success',
        ...(result.responseId === undefined ? {} : { responseId: result.responseId }),
        ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }),
        ...(result.detail === undefined ? {} : { detail: result.detail }),
      });
      return result.value;
    } catch (err) {
      const base = { attempt: n, durationMs: elapsed() };
      if (request.signal.aborted || !(err instanceof ProviderFailure)) {
        recordCall(request, meta, { ...base, outcome: request.signal.aborted ? 'aborted' : 'failure', detail: err instanceof Error ? err.message : String(err) });
        throw request.signal.aborted ? abortReason(request.signal) : err;
      }
      const ids = {
        ...(err instanceof ProviderCallFailure && err.responseId !== undefined ? { responseId: err.responseId } : {}),
        ...(err.options.httpStatus === undefined ? {} : { httpStatus: err.options.httpStatus }),
      };
      let giveUp: string | undefined;
      let pause = 0;
      if (!err.retryable) giveUp = 'not retryable';
      else if (n >= policy.maxAttempts) giveUp = `gave up after ${n} attempts`;
      else {
        pause = err.options.retryAfterMs ?? policy.delayMs(err, n);
        if (remainingMs(request) - pause < policy.minAttemptMs) giveUp = 'the next attempt would cross the deadline';
      }
      recordCall(request, meta, { ...base, ...ids, outcome: giveUp ? 'failure' : 'retry', detail: `${err.reason}: ${err.message}${giveUp && err.retryable ? ` (${giveUp})` : ''}` });
      if (giveUp) throw err;
      await sleep(pause, request.signal);
    }
  }
}

/** Largest model listing read (Gemini's full list is ~100 kB). */
const MAX_LISTING_BYTES = 4 * 1024 * 1024;

/**
 * One GET of a provider's model listing (catalog and key check, never a job): bounded in time by
 * `signal` and in bytes; a network failure becomes `provider_unreachable`.
 */
export async function fetchModelList(
  fetchImpl: FetchLike,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  title: string,
): Promise<{ response: Response; body: Buffer }> {
  try {
    const response = await fetchImpl(url, { method: 'GET', headers, signal });
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > MAX_LISTING_BYTES) {
      await response.body?.cancel();
      throw new ProviderCallFailure('invalid_response', `${title} answered a model list of ${declared} bytes`);
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_LISTING_BYTES) throw new ProviderCallFailure('invalid_response', `${title} answered a model list of ${body.length} bytes`);
    return { response, body };
  } catch (err) {
    if (err instanceof ProviderFailure) throw err;
    const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
    const why = signal.aborted ? 'no answer in time' : (cause?.code ?? (err instanceof Error ? err.message : String(err)));
    throw new ProviderCallFailure('provider_unreachable', `${title} could not be reached to list its models (${why})`, { cause: err });
  }
}
