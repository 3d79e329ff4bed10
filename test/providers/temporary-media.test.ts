import fs from 'node:fs/promises';
import os from 'node:os';
import { sendError } from '../../src/app.js';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  createTemporaryMediaPublisher,
  publishTemporaryMedia,
  purgeExpiredTemporaryMedia,
  revokeTemporaryMediaForJob,
  temporaryMediaTtlSeconds,
  type TemporaryMediaDeps,
} from '../../src/media/temporary-links.js';
import { temporaryMediaRoutes } from '../../src/media/temporary-media-routes.js';
import { TINY_JPEG, TINY_PNG } from '../support/fakes/common.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('temporary public media links', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let mediaRoot: string;
  let deps: TemporaryMediaDeps;
  const clock = new ManualClock(new Date('2025-06-01T12:00:00Z'));

  beforeAll(async () => {
    t = await createTestDatabase();
    mediaRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'pc-tmpmedia-'));
    deps = { db: t.db, clock, mediaRoot, publicBaseUrl: () => 'https://booth.example.com/' };
    app = Fastify();
    // The server's one error path (src/app.ts) turns the route's AppErrors into the JSON error body.
    app.setErrorHandler((error, request, reply) => sendError(error as Error, request.id, reply, request.log as never));
    await app.register(temporaryMediaRoutes, { db: t.db, clock });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await t.destroy();
    await fs.rm(mediaRoot, { recursive: true, force: true });
  });

  async function sourceFile(bytes: Buffer, name: string): Promise<string> {
    const p = path.join(mediaRoot, name);
    await fs.writeFile(p, bytes);
    return p;
  }

  it('clamps the lifetime to 45–60 s', () => {
    expect(temporaryMediaTtlSeconds(3)).toBe(45);
    expect(temporaryMediaTtlSeconds(48)).toBe(48);
    expect(temporaryMediaTtlSeconds(90)).toBe(60);
  });

  it('serves a published file with its type, uncached, until it expires; then 410', async () => {
    const jobId = randomUUID();
    const src = await sourceFile(TINY_JPEG, 'photo-a.jpg');
    const link = await publishTemporaryMedia(deps, { jobId, file: { path: src, mime: 'image/jpeg' }, ttlSeconds: 45 });
    expect(link.id).toMatch(/^[A-Za-z0-9_-]{32}$/); // 192 bits
    expect(link.url).toBe(`https://booth.example.com/public/media/${link.id}`);
    expect(link.expiresAt.toISOString()).toBe('2025-06-01T12:00:45.000Z');

    // The payload may be deleted right after the response: the link has its own file.
    await fs.rm(src);
    const ok = await app.inject({ method: 'GET', url: `/public/media/${link.id}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('image/jpeg');
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.rawPayload.equals(TINY_JPEG)).toBe(true);

    clock.advance(44_999);
    expect((await app.inject({ method: 'GET', url: `/public/media/${link.id}` })).statusCode).toBe(200);
    clock.advance(1);
    const gone = await app.inject({ method: 'GET', url: `/public/media/${link.id}` });
    expect(gone.statusCode).toBe(410);
    expect(gone.headers['cache-control']).toBe('no-store');
    expect(gone.json()).toEqual({ error: { code: 'media_link_expired', message: expect.any(String) } });
  });

  it('answers 404 for unknown and malformed ids', async () => {
    const unknown = await app.inject({ method: 'GET', url: `/public/media/${'A'.repeat(32)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    expect((await app.inject({ method: 'GET', url: '/public/media/..%2F..%2Fetc%2Fpasswd' })).statusCode).toBe(404);
  });

  it('publishes prepared bytes and never reuses an id', async () => {
    const jobId = randomUUID();
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      ids.add(
        (await publishTemporaryMedia(deps, { jobId, file: { bytes: TINY_PNG, mime: 'image/png' }, ttlSeconds: 60 })).id,
      );
    }
    expect(ids.size).toBe(20);
    const [first] = [...ids];
    const res = await app.inject({ method: 'GET', url: `/public/media/${first}` });
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.rawPayload.equals(TINY_PNG)).toBe(true);
    await revokeTemporaryMediaForJob(deps, jobId);
  });

  it('revokes every link of a job (rows and files), leaving other jobs alone', async () => {
    const jobA = randomUUID();
    const jobB = randomUUID();
    const a1 = await publishTemporaryMedia(deps, {
      jobId: jobA,
      file: { bytes: TINY_JPEG, mime: 'image/jpeg' },
      ttlSeconds: 60,
    });
    await publishTemporaryMedia(deps, { jobId: jobA, file: { bytes: TINY_PNG, mime: 'image/png' }, ttlSeconds: 60 });
    const b1 = await publishTemporaryMedia(deps, {
      jobId: jobB,
      file: { bytes: TINY_JPEG, mime: 'image/jpeg' },
      ttlSeconds: 60,
    });
    expect(await revokeTemporaryMediaForJob(deps, jobA)).toEqual({ links: 2, files: 2 });
    expect((await app.inject({ method: 'GET', url: `/public/media/${a1.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/public/media/${b1.id}` })).statusCode).toBe(200);
    const files = await fs.readdir(path.join(mediaRoot, 'temporary'));
    expect(files.some((f) => f.startsWith(a1.id))).toBe(false);
    expect(files.some((f) => f.startsWith(b1.id))).toBe(true);
    await revokeTemporaryMediaForJob(deps, jobB);
  });

  it('purges expired links only and reports counts', async () => {
    await purgeExpiredTemporaryMedia(deps); // leftovers of earlier tests
    const jobId = randomUUID();
    const short = await publishTemporaryMedia(deps, {
      jobId,
      file: { bytes: TINY_JPEG, mime: 'image/jpeg' },
      ttlSeconds: 45,
    });
    const long = await publishTemporaryMedia(deps, {
      jobId,
      file: { bytes: TINY_JPEG, mime: 'image/jpeg' },
      ttlSeconds: 60,
    });
    clock.advance(50_000);
    expect(await purgeExpiredTemporaryMedia(deps)).toEqual({ links: 1, files: 1 });
    expect((await app.inject({ method: 'GET', url: `/public/media/${short.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/public/media/${long.id}` })).statusCode).toBe(200);
    clock.advance(10_000);
    expect(await purgeExpiredTemporaryMedia(deps)).toEqual({ links: 1, files: 1 });
    expect(await fs.readdir(path.join(mediaRoot, 'temporary'))).toEqual([]);
  });

  it('refuses to publish without a public base URL, and the publisher applies the clamped TTL', async () => {
    await expect(
      publishTemporaryMedia(
        { ...deps, publicBaseUrl: () => undefined },
        { jobId: randomUUID(), file: { bytes: TINY_JPEG, mime: 'image/jpeg' }, ttlSeconds: 45 },
      ),
    ).rejects.toThrow(/PHOTOCHANGER_PUBLIC_BASE_URL/);
    const publisher = createTemporaryMediaPublisher(deps, () => 5);
    const link = await publisher.publish({ jobId: randomUUID(), file: { bytes: TINY_JPEG, mime: 'image/jpeg' } });
    expect(link.expiresAt.getTime() - clock.now().getTime()).toBe(45_000);
  });
});
