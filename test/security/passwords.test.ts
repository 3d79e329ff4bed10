import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashPassword,
  PasswordCheckDropped,
  passwordChecksComputed,
  pendingPasswordChecks,
  verifyPassword,
} from '../../src/auth/passwords.js';
import { ShiftedClock } from '../support/clock.js';
import { jpegBytes, multipartBody, rawPost } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('finding 3: guessing the ingest password is throttled per client address', () => {
  let server: TestServer;
  let photo: Buffer;
  const clock = new ShiftedClock();

  beforeAll(async () => {
    server = await startTestServer({ clock, env: { PHOTOCHANGER_INGEST_FREE_FAILURES: '5' } });
    photo = await jpegBytes(320, 240);
  });
  afterAll(async () => server?.close());

  const ingest = (password: string, from: string, file = photo) => {
    const form = multipartBody([
      { name: 'password', value: password },
      { name: 'fileToUpload', value: file, filename: 'p.jpg', contentType: 'image/jpeg' },
    ]);
    return rawPost(
      server.url,
      '/ingest/slot-001',
      form.body,
      { 'Content-Type': form.contentType },
      { localAddress: from, expectContinue: true, continueTimeoutMs: 5000 },
    );
  };

  it('after the free failures an address waits (429 too_many_attempts, Retry-After), growing; a booth elsewhere is unaffected', async () => {
    for (let i = 0; i < 6; i++) expect((await ingest(`wrong-guess-${i}`, '127.0.0.2')).status).toBe(401);
    const blocked = await ingest(
      'wrong-guess-6',
      '127.0.0.2',
      Buffer.concat([photo, Buffer.alloc(4 * 1024 * 1024, 5)]),
    );
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.body.toString()).error).toMatchObject({ code: 'too_many_attempts' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(blocked.sawContinue).toBe(false); // refused before the body was asked for
    expect(blocked.bodyBytesSentBeforeAnswer).toBe(0);
    // Even the right password waits: nothing is checked for a blocked address.
    expect((await ingest(TEST_INGEST_PASSWORD, '127.0.0.2')).status).toBe(429);
    // The real booth, at another address, is served at once.
    const started = Date.now();
    expect((await ingest(TEST_INGEST_PASSWORD, '127.0.0.3')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);

    // The wait passes; another wrong guess doubles it.
    clock.offsetMs += 2_100;
    expect((await ingest('wrong-guess-7', '127.0.0.2')).status).toBe(401);
    const longer = await ingest('wrong-guess-8', '127.0.0.2');
    expect(longer.status).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBeGreaterThanOrEqual(3);
    // Once it is over, the right password works and clears the address.
    clock.offsetMs += 5_000;
    expect((await ingest(TEST_INGEST_PASSWORD, '127.0.0.2')).status).toBe(200);
    expect((await ingest('one-typo', '127.0.0.2')).status).toBe(401);
    expect((await ingest(TEST_INGEST_PASSWORD, '127.0.0.2')).status).toBe(200);
    await server.rejections.flush();
    const counted = await server.database.db
      .selectFrom('ingest_rejection_count')
      .select(['code', 'count'])
      .where('code', '=', 'too_many_attempts')
      .execute();
    expect(counted.reduce((n, r) => n + Number(r.count), 0)).toBeGreaterThanOrEqual(3);
  });

  it('guesses sent in parallel from one address are bounded too: only the free ones reach argon2', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ingest(`parallel-${i}-guess`, '127.0.0.9')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(14);
    // The booth at its own address is not affected, and neither is its first (uncached) check.
    expect((await ingest(TEST_INGEST_PASSWORD, '127.0.0.10')).status).toBe(200);
  });

  it('a flood of wrong passwords from many addresses queues behind two argon2 slots; the booth keeps its pace', async () => {
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, pendingPasswordChecks())), 5);
    const flood = Array.from({ length: 40 }, (_, i) => ingest(`flood-${i}`, `127.0.2.${i + 1}`));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const booth = await ingest(TEST_INGEST_PASSWORD, '127.0.0.3');
    const boothMs = Date.now() - started;
    const answers = await Promise.all(flood);
    clearInterval(sampler);
    expect(booth.status).toBe(200);
    expect(boothMs).toBeLessThan(3000);
    // Wrong passwords are refused; beyond the 32 that may wait for argon2 (docs/security.md) a
    // guess is refused at once with 429, so 40 at a time may see a few of those.
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(32);
    expect(peak).toBeGreaterThan(2); // they queued…
    // …behind two running computations (p-limit's active count is the running ones).
  });

  it('a password check still queued when its client hangs up is dropped, never computed', async () => {
    const hash = await hashPassword('the-right-one');
    // Both argon2 slots are taken; the checks of two requests wait behind them.
    const busy = [hashPassword('x'.repeat(12)), hashPassword('y'.repeat(12))];
    const gone = new AbortController();
    const before = passwordChecksComputed();
    const dropped = verifyPassword(hash, 'a-guess', gone.signal);
    const kept = verifyPassword(hash, 'the-right-one', new AbortController().signal);
    gone.abort(); // the first client hangs up while its check waits
    await expect(dropped).rejects.toBeInstanceOf(PasswordCheckDropped);
    expect(await kept).toBe(true);
    await Promise.all(busy);
    expect(passwordChecksComputed() - before).toBe(1);
  });

  it('an ingest password shorter than 8 characters is refused', async () => {
    const res = await fetch(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { ...authHeader(server), 'content-type': 'application/json' },
      body: JSON.stringify({ ingest_password: 'short12' }),
    });
    expect(res.status).toBe(400);
  });
});
