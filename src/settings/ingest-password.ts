import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { SettingsStore } from './store.js';
import { SETTING_KEYS } from './store.js';

/** argon2id parameters (OWASP's first recommendation: 19 MiB, 2 iterations). */
export const ARGON2_OPTIONS = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password).catch(() => false);
}

/**
 * Checks booth passwords against the stored argon2id hash without paying for an argon2
 * verification on every request: the outcome of a verification is remembered under an HMAC of
 * the candidate (keyed by a per-process random key, so the cache holds no usable secret) together
 * with the hash it was checked against. Rotating the password changes the hash, which misses the
 * cache, so the new password works and the old one fails on the very next request.
 * The cache is bounded; a flood of distinct wrong passwords costs argon2 per attempt, as it should.
 */
export class IngestPasswordVerifier {
  private readonly key = randomBytes(32);
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly maxEntries = 256) {}

  async verify(storedHash: string | undefined, candidate: string): Promise<boolean> {
    if (storedHash === undefined) return false;
    const fingerprint = createHmac('sha256', this.key).update(storedHash).update('\0').update(candidate).digest('base64');
    const known = this.verdicts.get(fingerprint);
    if (known !== undefined) return known;
    const ok = await verifyPassword(storedHash, candidate);
    if (this.verdicts.size >= this.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(fingerprint, ok);
    return ok;
  }
}

/** Constant-time string comparison (for secrets compared outside argon2). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'cmp').update(a).digest();
  const hb = createHmac('sha256', 'cmp').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export async function setIngestPassword(settings: SettingsStore, password: string, updatedBy: string | null): Promise<void> {
  await settings.set(SETTING_KEYS.ingestPassword, { hash: await hashPassword(password) }, updatedBy);
}
