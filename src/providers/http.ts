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
    for (const shift of [0, 1, 2])
      forms.push(b.subarray(shift).toString('base64'), b.subarray(shift).toString('base64url'));
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
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
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
export function translateFetchError(
  err: unknown,
  request: Pick<ProviderRequest, 'signal'>,
  signal: AbortSignal,
  title: string,
): unknown {
  if (request.signal.aborted) return abortReason(request.signal);
  if (signal.aborted) {
    return new ProviderCallFailure('deadline_exceeded', `${title} did not answer before the job deadline`);
  }
  if (err instanceof ProviderFailure) return err;
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: string } | undefined)?.code;
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new ProviderCallFailure(
    'network_error',
    `Network error talking to ${title}: ${code ? `${code} ` : ''}${message}`,
    {
      retryable: true,
      cause: err,
    },
  );
}

/**
 * Waits until the job's row is in the queue (ProviderRequest.ready); throws the abort reason when
 * the job ended meanwhile (a refused enqueue). Everything a driver sends or writes comes after it.
 */
export async function whenAdmitted(request: Pick<ProviderRequest, 'ready' | 'signal'>): Promise<void> {
  if (request.ready) await request.ready.catch(() => undefined);
  if (request.signal.aborted) throw abortReason(request.signal);
}

/** fetch bounded by the job: aborts cancel the socket at once; failures are typed. */
export async function sendRequest(
  fetchImpl: FetchLike,
  url: string,
  init: RequestInit,
  request: Pick<ProviderRequest, 'signal' | 'deadline' | 'clock' | 'ready'>,
  title: string,
): Promise<{ response: Response; body: Buffer; signal: AbortSignal }> {
  // Nothing reaches a provider for a job whose row is not in the queue (a refused enqueue aborts the job).
  await whenAdmitted(request);
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

/** A JSON answer whose inline images were kept as bytes (parseJsonWithInlineData). */
export interface JsonWithInlineData {
  value: unknown;
  /** A `data` string of `value` decoded as strict base64 (decodeBase64Strict's rules), or undefined. */
  decodeData(data: string): Buffer | undefined;
}

/**
 * Parses a JSON answer that carries images inline as `"data": "<base64>"` (Gemini's inlineData),
 * or undefined when it is not JSON. A `data` value of 64 KiB or more without escapes is not made a
 * string: it is cut out of the text before JSON.parse and decoded from its bytes by decodeData.
 * Making a megabyte string of an image and parsing it took 3 to 4 ms of every answer on the
 * benchmark machine, and decoding it from the string 1.5 more (docs/benchmarks.md, bench:overhead).
 * Everything else is exactly what JSON.parse gives (test/providers/json.test.ts).
 */
export function parseJsonWithInlineData(body: Buffer): JsonWithInlineData | undefined {
  const kept: Buffer[] = [];
  const decodeData = (data: string): Buffer | undefined => {
    if (!data.startsWith(KEPT_MARK)) return decodeBase64Strict(data);
    const bytes = kept[Number(data.slice(KEPT_MARK.length))];
    if (!bytes) return undefined;
    const decoded = decodeBase64Bytes(bytes);
    if (decoded) return decoded;
    // A raw control character (a line break not written as \n) would have made JSON.parse refuse
    // the whole answer: refused here too. Anything else goes the string's way, as before.
    if (bytes.some((b) => b < 0x20)) return undefined;
    return decodeBase64Strict(bytes.toString('latin1'));
  };
  try {
    const text = withInlineDataCutOut(body, kept);
    return { value: JSON.parse(text ?? body.toString('utf8')) as unknown, decodeData };
  } catch {
    return undefined;
  }
}

const KEPT_BYTES = 64 * 1024;
/** A kept value's stand-in, then its index: in the text as the JSON escape \u0000, parsed as a NUL character. */
const KEPT_MARK_TEXT = '\\u0000photochanger-kept-data:';
const KEPT_MARK = '\u0000photochanger-kept-data:';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DATA_KEY = Buffer.from('data');

/**
 * The JSON text with the large values of `data` keys replaced by stand-ins (their bytes kept in
 * `kept` by index), or undefined when there is none. Every unescaped quote opens or closes a string
 * (JSON has no quotes elsewhere); an unterminated string is left to JSON.parse to refuse.
 */
function withInlineDataCutOut(body: Buffer, kept: Buffer[]): string | undefined {
  const pieces: string[] = [];
  let copied = 0;
  let at = 0;
  let previous: { open: number; close: number } | undefined;
  for (;;) {
    const open = body.indexOf(QUOTE, at);
    if (open < 0) break;
    let close = open;
    do close = body.indexOf(QUOTE, close + 1);
    while (close > 0 && isEscaped(body, close));
    if (close < 0) break;
    if (close - open - 1 >= KEPT_BYTES && previous && isDataKeyBefore(body, previous, open)) {
      const inner = body.subarray(open + 1, close);
      if (inner.indexOf(BACKSLASH) < 0) {
        // Cut at quotes (single bytes): no UTF-8 sequence is split.
        pieces.push(body.toString('utf8', copied, open + 1), `${KEPT_MARK_TEXT}${kept.length}`);
        kept.push(inner);
        copied = close;
      }
    }
    previous = { open, close };
    at = close + 1;
  }
  if (kept.length === 0) return undefined;
  pieces.push(body.toString('utf8', copied));
  return pieces.join('');
}

/** Whether the string `key` is "data" and only a colon (and white space) lies between it and `open`. */
function isDataKeyBefore(body: Buffer, key: { open: number; close: number }, open: number): boolean {
  if (key.close - key.open - 1 !== DATA_KEY.length || !body.subarray(key.open + 1, key.close).equals(DATA_KEY))
    return false;
  let colons = 0;
  for (let i = key.close + 1; i < open; i++) {
    const c = body[i]!;
    if (c === 0x3a) colons++;
    else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return colons === 1;
}

/** Whether the byte at `i` follows an odd number of backslashes. */
function isEscaped(body: Buffer, i: number): boolean {
  let n = 0;
  while (i - 1 - n >= 0 && body[i - 1 - n] === BACKSLASH) n++;
  return n % 2 === 1;
}

const BASE64_VALUES = (() => {
  const table = new Int16Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Strict base64 from bytes, without making a string of them: one unbroken line of the standard
 * alphabet, padded to a multiple of four. Undefined for anything else (decodeBase64Strict then
 * decides, as for a string).
 */
export function decodeBase64Bytes(src: Uint8Array): Buffer | undefined {
  const n = src.length;
  if (n === 0 || n % 4 !== 0) return undefined;
  const pad = src[n - 1] === 0x3d ? (src[n - 2] === 0x3d ? 2 : 1) : 0;
  const out = Buffer.allocUnsafe((n / 4) * 3 - pad);
  const v = BASE64_VALUES;
  let o = 0;
  const whole = pad === 0 ? n : n - 4;
  for (let i = 0; i < whole; i += 4) {
    const a = v[src[i]!]!,
      b = v[src[i + 1]!]!,
      c = v[src[i + 2]!]!,
      d = v[src[i + 3]!]!;
    if ((a | b | c | d) < 0) return undefined;
    const triple = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = triple >> 16;
    out[o++] = (triple >> 8) & 0xff;
    out[o++] = triple & 0xff;
  }
  if (pad > 0) {
    const a = v[src[n - 4]!]!,
      b = v[src[n - 3]!]!;
    const c = pad === 1 ? v[src[n - 2]!]! : 0;
    if ((a | b | c) < 0) return undefined;
    const triple = (a << 18) | (b << 12) | (c << 6);
    out[o++] = triple >> 16;
    if (pad === 1) out[o++] = (triple >> 8) & 0xff;
  }
  return out.length > 0 ? out : undefined;
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
export function recordCall(
  request: ProviderRequest,
  meta: CallMeta,
  call: Omit<ProviderCallRecord, 'provider' | 'model'>,
): void {
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
        recordCall(request, meta, {
          ...base,
          outcome: request.signal.aborted ? 'aborted' : 'failure',
          detail: err instanceof Error ? err.message : String(err),
        });
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
      recordCall(request, meta, {
        ...base,
        ...ids,
        outcome: giveUp ? 'failure' : 'retry',
        detail: `${err.reason}: ${err.message}${giveUp && err.retryable ? ` (${giveUp})` : ''}`,
      });
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
    if (body.length > MAX_LISTING_BYTES)
      throw new ProviderCallFailure('invalid_response', `${title} answered a model list of ${body.length} bytes`);
    return { response, body };
  } catch (err) {
    if (err instanceof ProviderFailure) throw err;
    const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
    const why = signal.aborted
      ? 'no answer in time'
      : (cause?.code ?? (err instanceof Error ? err.message : String(err)));
    throw new ProviderCallFailure('provider_unreachable', `${title} could not be reached to list its models (${why})`, {
      cause: err,
    });
  }
}
