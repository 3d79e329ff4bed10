import { createHmac, randomBytes } from 'node:crypto';
import { hashPassword, PasswordCheckDropped, verifyPassword } from '../auth/passwords.js';
import type { SettingsStore } from './store.js';
import { SETTING_KEYS } from './store.js';

/** The shortest ingest password accepted (it is all that stands between the internet and the AI bill). */
export const MIN_INGEST_PASSWORD_LENGTH = 8;

/**
 * Checks booth passwords against the stored argon2id hash without paying for an argon2
 * verification on every request: the outcome of a verification is remembered under an HMAC of
 * the candidate (keyed by a per-process random key, so the cache holds no usable secret) together
 * with the hash it was checked against. Rotating the password changes the hash, which misses the
 * cache, so the new password works and the old one fails on the very next request.
 * The cache is bounded; a flood of distinct wrong passwords costs argon2 per attempt, as it should.
 * Checks of the same candidate at the same time share one verification: booths sending their first
 * photos at once after a restart pay argon2 once, and count as one attempt (src/ingest/routes.ts).
 */
export class IngestPasswordVerifier {
  private readonly key = randomBytes(32);
  /** Wrong candidates (bounded, oldest forgotten first). */
  private readonly rejected = new Set<string>();
  /** Verifications running now, by fingerprint (bounded by the argon2 queue, src/auth/passwords.ts). */
  private readonly checking = new Map<string, Promise<boolean>>();
  /**
   * Right ones, kept apart: a flood of distinct wrong passwords cannot push the booth's password out
   * and make it pay argon2 again. One per stored hash; a few hashes (rotations) at most.
   */
  private readonly accepted = new Set<string>();

  constructor(private readonly maxEntries = 256) {}

  /** The remembered outcome for this candidate, without any argon2 (undefined: not known yet). */
  knownVerdict(storedHash: string | undefined, candidate: string): boolean | undefined {
    if (storedHash === undefined) return false;
    return this.remembered(this.fingerprint(storedHash, candidate));
  }

  private remembered(fingerprint: string): boolean | undefined {
    if (this.accepted.has(fingerprint)) return true;
    return this.rejected.has(fingerprint) ? false : undefined;
  }

  private fingerprint(storedHash: string, candidate: string): string {
    return createHmac('sha256', this.key).update(storedHash).update('\0').update(candidate).digest('base64');
  }

  /** `signal`: the asking request went away (a check still queued is dropped, and nothing is remembered). */
  /** Whether a verification of this very candidate is running (a request asking now shares it). */
  isBeingChecked(storedHash: string | undefined, candidate: string): boolean {
    return storedHash !== undefined && this.checking.has(this.fingerprint(storedHash, candidate));
  }

  async verify(storedHash: string | undefined, candidate: string, signal?: AbortSignal): Promise<boolean> {
    if (storedHash === undefined) return false;
    const fingerprint = this.fingerprint(storedHash, candidate);
    const known = this.remembered(fingerprint);
    if (known !== undefined) return known;
    const running = this.checking.get(fingerprint);
    if (running) {
      try {
        return await running;
      } catch (err) {
        // The request that started it went away: this one still wants an answer.
        if (err instanceof PasswordCheckDropped && !signal?.aborted) return this.verify(storedHash, candidate, signal);
        throw err;
      }
    }
    const check = this.check(storedHash, candidate, fingerprint, signal);
    this.checking.set(fingerprint, check);
    try {
      return await check;
    } finally {
      this.checking.delete(fingerprint);
    }
  }

  private async check(
    storedHash: string,
    candidate: string,
    fingerprint: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const ok = await verifyPassword(storedHash, candidate, signal);
    if (ok) {
      if (this.accepted.size >= 4) this.accepted.delete(this.accepted.values().next().value as string);
      this.accepted.add(fingerprint);
    } else {
      if (this.rejected.size >= this.maxEntries) this.rejected.delete(this.rejected.values().next().value as string);
      this.rejected.add(fingerprint);
    }
    return ok;
  }
}

export async function setIngestPassword(
  settings: SettingsStore,
  password: string,
  updatedBy: string | null,
): Promise<void> {
  await settings.set(SETTING_KEYS.ingestPassword, { hash: await hashPassword(password) }, updatedBy);
}
