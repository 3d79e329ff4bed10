import type { Clock } from '../clock.js';
import { AttemptThrottle } from '../auth/attempts.js';
import { AppError } from '../errors.js';
import type { IngestPasswordVerifier } from '../settings/ingest-password.js';
import { TrustedAddresses } from './unverified.js';

/**
 * The booth's password check and its throttle: wrong passwords counted per client address, and per
 * address and slot (a booth elsewhere is unaffected); an argon2 check counts as a failure until it
 * succeeds, so guesses sent in parallel are bounded too; the address of a right password is
 * trusted for a while (src/ingest/unverified.ts).
 */
export class BoothPasswordCheck {
  private readonly throttle: AttemptThrottle;
  /** Addresses that sent the right password lately (not counted against the unverified budget). */
  readonly trusted: TrustedAddresses;

  constructor(
    private readonly verifier: IngestPasswordVerifier,
    clock: Clock,
    freeFailures: number,
  ) {
    this.throttle = new AttemptThrottle({ clock, freeFailures });
    this.trusted = new TrustedAddresses(clock);
  }

  /** The throttle keys of a request: its client, and its client on this slot. */
  static keysOf(client: string, slotId: string): string[] {
    return [`ip:${client}`, `ip:${client}|slot:${slotId.slice(0, 64)}`];
  }

  /** 429 before anything is read when these keys must still wait. */
  refuseIfWaiting(keys: readonly string[]): void {
    const wait = this.throttle.waitMs(...keys);
    if (wait > 0) throw tooManyAttempts(wait);
  }

  /** Whether `password` is the ingest password (hash `passwordHash`), counted against `keys`. */
  async check(
    passwordHash: string | undefined,
    password: string,
    who: { client: string; keys: readonly string[] },
    signal: AbortSignal,
  ): Promise<boolean> {
    const known = this.verifier.knownVerdict(passwordHash, password);
    // The same candidate being checked for another request is shared, not a new attempt.
    if (known === undefined && !this.verifier.isBeingChecked(passwordHash, password)) {
      this.refuseIfWaiting(who.keys);
      this.throttle.fail(...who.keys);
    }
    const ok = known ?? (await this.verifier.verify(passwordHash, password, signal));
    if (ok) {
      this.throttle.succeed(...who.keys);
      this.trusted.remember(who.client);
    } else if (known === false) this.throttle.fail(...who.keys);
    return ok;
  }
}

function tooManyAttempts(waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('too_many_attempts', `Too many wrong passwords from this address; retry in ${seconds} s`, {
    details: { retry_after_seconds: seconds },
    headers: { 'Retry-After': String(seconds), Connection: 'close' },
  });
}
