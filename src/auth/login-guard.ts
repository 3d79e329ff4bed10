/**
 * Throttling of administrator logins, per client address and account name and per address alone
 * (src/auth/attempts.ts): an attacker elsewhere cannot lock an administrator out, and names that
 * exist and names that do not get the same answers (the keys use the name as typed). An
 * administrator can lift it (API, CLI): the unlock is announced on CHANNELS.accounts so every
 * instance forgets the name.
 */
import type { Clock } from '../clock.js';
import { AttemptThrottle } from './attempts.js';

/** Wrong passwords for one name from one address before it must wait, and from one address for any names. */
export const LOGIN_FREE_FAILURES_PER_ACCOUNT = 5;
export const LOGIN_FREE_FAILURES_PER_ADDRESS = 20;

export class LoginGuard {
  private readonly perAccount: AttemptThrottle;
  private readonly perAddress: AttemptThrottle;

  constructor(clock: Clock) {
    this.perAccount = new AttemptThrottle({ clock, freeFailures: LOGIN_FREE_FAILURES_PER_ACCOUNT });
    this.perAddress = new AttemptThrottle({ clock, freeFailures: LOGIN_FREE_FAILURES_PER_ADDRESS });
  }

  private static accountKey(address: string, username: string): string {
    return `${address}|${username.toLowerCase()}`;
  }

  /** Milliseconds this address must wait before trying this name again (0: go ahead). */
  waitMs(address: string, username: string): number {
    return Math.max(this.perAccount.waitMs(LoginGuard.accountKey(address, username)), this.perAddress.waitMs(address));
  }

  fail(address: string, username: string): void {
    this.perAccount.fail(LoginGuard.accountKey(address, username));
    this.perAddress.fail(address);
  }

  /**
   * A right password: this name from this address starts afresh; the address only gets back the
   * failure counted ahead of this attempt. Its failures on other names stay counted, so an
   * attacker with an account of its own cannot clear its address's count by logging in.
   */
  succeed(address: string, username: string): void {
    this.perAccount.succeed(LoginGuard.accountKey(address, username));
    this.perAddress.undoFailure(address);
  }

  /**
   * Lifts the wait of every address for this name, and the per-address wait of the addresses that
   * tried it, but keeps their failures: the administrator who mistyped logs in with one right
   * try, while a guessing address gets one guess and then waits again, longer. Returns how many
   * waits were lifted.
   */
  unlock(username: string): number {
    const suffix = `|${username.toLowerCase()}`;
    const addresses = new Set<string>();
    const released = this.perAccount.release((key) => {
      if (!key.endsWith(suffix)) return false;
      addresses.add(key.slice(0, -suffix.length));
      return true;
    });
    return released + this.perAddress.release((address) => addresses.has(address));
  }
}
