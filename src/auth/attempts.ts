/**
 * Throttling of password guessing, per key (a client address, an address and a slot, an address
 * and an account name): `freeFailures` wrong passwords are free, then each further one makes the
 * key wait 2 s, doubling up to `maxDelayMs`; a right password clears the key. Kept in memory per
 * process (a restart forgets it; several instances each throttle what they see), bounded in size,
 * read on the injected clock.
 */
import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.js';
import { withoutIPv4Mapping } from '../net/addresses.js';

/**
 * The throttling key of a client address: an IPv4 address as is (also when IPv4-mapped), an IPv6
 * address by its /64 (one host may rotate through its whole /64, every address a fresh key).
 */
export function clientKey(ip: string): string {
  const plain = withoutIPv4Mapping(ip);
  if (plain !== ip) return plain;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...headGroups,
    ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'),
    ...tailGroups,
  ];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * What each client (a clientKey) has open right now — connections, uploads, photos in progress —
 * counted up and down; a client back at zero is forgotten, so the map holds only open things.
 */
export class ClientCounts {
  private readonly counts = new Map<string, number>();

  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.of(key) + 1);
  }

  remove(key: string): void {
    const left = this.of(key) - 1;
    if (left <= 0) this.counts.delete(key);
    else this.counts.set(key, left);
  }
}

interface Entry {
  failures: number;
  /** Until when this key is refused without checking the password (ms since epoch). */
  blockedUntil: number;
  lastSeen: number;
}

export interface AttemptThrottleOptions {
  clock: Clock;
  freeFailures: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Keys remembered at most (the oldest are forgotten first). */
  maxKeys?: number;
  /** A key without a failure for this long starts afresh. */
  forgetAfterMs?: number;
}

export class AttemptThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxKeys: number;
  private readonly forgetAfterMs: number;

  constructor(private readonly options: AttemptThrottleOptions) {
    this.baseDelayMs = options.baseDelayMs ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000;
    this.maxKeys = options.maxKeys ?? 50_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 60 * 60_000;
  }

  /** Milliseconds any of these keys must still wait, or 0. */
  waitMs(...keys: string[]): number {
    const now = this.options.clock.now().getTime();
    let wait = 0;
    for (const key of keys) {
      const e = this.live(key, now);
      if (e && e.blockedUntil > now) wait = Math.max(wait, e.blockedUntil - now);
    }
    return wait;
  }

  /** A wrong password: counts against every key given. Returns the wait it imposes now (ms). */
  fail(...keys: string[]): number {
    const now = this.options.clock.now().getTime();
    let wait = 0;
    for (const key of keys) {
      const e = this.live(key, now) ?? { failures: 0, blockedUntil: 0, lastSeen: now };
      e.failures += 1;
      e.lastSeen = now;
      const over = e.failures - this.options.freeFailures;
      if (over > 0) e.blockedUntil = now + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(over - 1, 30));
      this.entries.delete(key);
      this.entries.set(key, e); // most recent last: the oldest are evicted first
      wait = Math.max(wait, Math.max(0, e.blockedUntil - now));
    }
    while (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
    return wait;
  }

  /** A right password: the keys start afresh. */
  succeed(...keys: string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  /**
   * Takes back one failure counted ahead of a check that then succeeded (the key was not waiting
   * when the attempt began): the failures before it stay counted.
   */
  undoFailure(...keys: string[]): void {
    for (const key of keys) {
      const e = this.entries.get(key);
      if (!e) continue;
      e.failures -= 1;
      // Within the free failures nothing waits; beyond them (a concurrent failure, or an address
      // with many recent ones) the wait already earned stays.
      if (e.failures <= this.options.freeFailures) e.blockedUntil = 0;
      if (e.failures <= 0) this.entries.delete(key);
    }
  }

  /**
   * Lifts the current wait of the matching keys but keeps their failures (an administrator
   * unlocking an account): each may try once more, and its next failure waits again, longer.
   * Returns how many keys were waiting.
   */
  release(predicate: (key: string) => boolean): number {
    const now = this.options.clock.now().getTime();
    let n = 0;
    for (const [key, e] of this.entries) {
      if (!predicate(key)) continue;
      if (e.blockedUntil > now) n++;
      e.blockedUntil = 0;
    }
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && now - e.lastSeen > this.forgetAfterMs && e.blockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}
