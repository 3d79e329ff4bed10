/**
 * Password hashing for administrators and the booth's ingest password: argon2id with OWASP's first
 * recommendation (19 MiB, 2 iterations). Verifications run behind their own small concurrency
 * limit: each costs 19 MiB and a thread of libuv's pool, which file I/O shares — a flood of wrong
 * passwords must queue here instead of starving the booths' uploads.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import pLimit from 'p-limit';
import { AppError } from '../errors.js';

export const ARGON2_OPTIONS = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** argon2 computations at once in this process (the pool has four threads; two stay for files). */
export const ARGON2_CONCURRENCY = 2;
const argon2Slots = pLimit(ARGON2_CONCURRENCY);

export function hashPassword(password: string): Promise<string> {
  return argon2Slots(() => hash(password, ARGON2_OPTIONS));
}

/**
 * Checks that may wait for a slot: beyond them a check is refused at once (429) rather than queued,
 * so a flood of wrong passwords cannot make a booth's right one wait past its upload grace period.
 */
export const MAX_WAITING_PASSWORD_CHECKS = 32;

/**
 * `signal`: the request that asked went away. A check still waiting for its slot is then dropped
 * (rejected, never computed), so a client that sends a password and disconnects at once cannot
 * keep the argon2 threads busy after it left.
 */
export function verifyPassword(passwordHash: string, password: string, signal?: AbortSignal): Promise<boolean> {
  if (argon2Slots.pendingCount >= MAX_WAITING_PASSWORD_CHECKS) {
    return Promise.reject(
      new AppError('too_many_attempts', 'Too many password checks are waiting; retry in a moment', {
        headers: { 'Retry-After': '1' },
      }),
    );
  }
  return argon2Slots(() => {
    if (signal?.aborted) return Promise.reject(new PasswordCheckDropped());
    computed += 1;
    return verify(passwordHash, password).catch(() => false);
  });
}

let computed = 0;

/** Password checks this process has computed with argon2 since it started (tests, metrics). */
export function passwordChecksComputed(): number {
  return computed;
}

/** A queued password check whose request went away before its turn. */
export class PasswordCheckDropped extends AppError {
  constructor() {
    super('invalid_request', 'The request went away before its password was checked');
  }
}

/** argon2 computations waiting for a slot right now (metrics, tests). */
export function pendingPasswordChecks(): number {
  return argon2Slots.pendingCount + argon2Slots.activeCount;
}

/** Constant-time string comparison (for secrets compared outside argon2). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'cmp').update(a).digest();
  const hb = createHmac('sha256', 'cmp').update(b).digest();
  return timingSafeEqual(ha, hb);
}
