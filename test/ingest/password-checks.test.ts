import { describe, expect, it } from 'vitest';
import { clientKey } from '../../src/auth/attempts.js';
import { hashPassword, MAX_WAITING_PASSWORD_CHECKS, verifyPassword } from '../../src/auth/passwords.js';
import { AppError } from '../../src/errors.js';
import { IngestPasswordVerifier } from '../../src/settings/ingest-password.js';

/** What keeps a flood of wrong booth passwords from making the right one wait (docs/security.md). */
describe('password checks under a flood', () => {
  it("the booth's accepted password stays known however many distinct wrong ones follow", async () => {
    const stored = await hashPassword('the-booth-password');
    const verifier = new IngestPasswordVerifier(8);
    expect(await verifier.verify(stored, 'the-booth-password')).toBe(true);
    for (let i = 0; i < 20; i++) expect(await verifier.verify(stored, `wrong-${i}`)).toBe(false);
    expect(verifier.knownVerdict(stored, 'the-booth-password')).toBe(true);
    // The oldest wrong ones were forgotten (bounded), the newest are remembered.
    expect(verifier.knownVerdict(stored, 'wrong-0')).toBeUndefined();
    expect(verifier.knownVerdict(stored, 'wrong-19')).toBe(false);
    // A rotated password (a new hash) is not the old verdict.
    const rotated = await hashPassword('a-new-booth-password');
    expect(verifier.knownVerdict(rotated, 'the-booth-password')).toBeUndefined();
    expect(await verifier.verify(rotated, 'the-booth-password')).toBe(false);
  });

  it('argon2 checks beyond the waiting bound are refused at once with 429, not queued', async () => {
    const stored = await hashPassword('another-password');
    const outcomes = await Promise.allSettled(
      Array.from({ length: MAX_WAITING_PASSWORD_CHECKS + 12 }, (_, i) => verifyPassword(stored, `guess-${i}`)),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(8);
    for (const r of refused) {
      const err = (r as PromiseRejectedResult).reason as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.status).toBe(429);
      expect(err.code).toBe('too_many_attempts');
    }
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === false).length).toBe(
      MAX_WAITING_PASSWORD_CHECKS + 12 - refused.length,
    );
    // Once the queue drains, checks run again.
    expect(await verifyPassword(stored, 'another-password')).toBe(true);
  });

  it('throttling keys: IPv4 as is (also IPv4-mapped), IPv6 by its /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
