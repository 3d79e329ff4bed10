import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { runMediaCleanup } from '../../src/media/cleanup.js';
import { JobCompletion } from '../../src/queue/completion.js';
import { LocalJob } from '../../src/queue/local-job.js';
import { PHOTO_READ_AHEAD_BYTES, submitJob, waitForOutcome } from '../../src/queue/submit.js';
import { loadConfig } from '../../src/config.js';
import type { NotificationHub } from '../../src/db/notifications.js';
import { MediaStore } from '../../src/media/storage.js';
import {
  cancelJob,
  finalizeFailed,
  claimNextJob,
  enqueueJob,
  finalizeAbandonedJobs,
  finalizeAsTimedOut,
  finalizeSucceeded,
  markInstanceStopped,
  registerInstance,
  type NewJob,
} from '../../src/queue/statements.js';
import { readAdmission } from '../../src/ingest/statements.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { createScriptedProvider } from '../support/scripted-provider.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { listFiles, startTestServer, TEST_INGEST_PASSWORD } from '../support/server.js';

const log = createLogger('silent');

describe('queue statements', () => {
  let t: TestDatabase;
  const instanceId = randomUUID();
  const now = new Date('2026-11-24T12:00:00.000Z');

  const newJob = (overrides: Partial<NewJob> = {}): NewJob => ({
    id: randomUUID(),
    slot_id: 'slot-001',
    instance_id: instanceId,
    provider: 'local',
    operation: 'neutral',
    settings: {},
    failover: null,
    is_test: false,
    payload_path: '/nonexistent',
    payload_mime: 'image/jpeg',
    payload_size: 1,
    metadata: {},
    client_address: null,
    correlation_id: 'c',
    received_at: now,
    created_at: now,
    expires_at: new Date(now.getTime() + 48_000),
    ...overrides,
  });
  /** The job as a request of this process holds it (no payload, nothing to mark). */
  const localJobOf = (job: NewJob) =>
    new LocalJob(
      { ...job, templates: [] },
      Promise.resolve(),
      undefined,
      { release: async () => undefined },
      async () => undefined,
    );
  const result = {
    path: '/r',
    mime: 'image/jpeg',
    size: 1,
    sha256: 'x',
    expiresAt: now,
    inline: Buffer.from('x'),
    providerRef: undefined,
  };

  beforeAll(async () => {
    t = await createTestDatabase();
    await registerInstance(t.db, instanceId, 'test', 1, now);
  });
  afterAll(() => t.destroy());

  it('a success finished in this process reaches its waiting request in memory, at once, and is not kept', async () => {
    const quietHub = {
      subscribe: () => () => undefined,
      onReconnect: () => () => undefined,
    } as unknown as NotificationHub;
    // No notification will come and the poll is a minute away: only the hand-over can end the wait.
    const completion = new JobCompletion(t.db, quietHub, new ManualClock(now), log, 60_000);
    const job = newJob();
    expect(await enqueueJob(t.db, job, 100)).toEqual({ templates: [] });
    const jobId = job.id;
    const local = localJobOf(job);
    completion.track(local);
    const started = performance.now();
    const waiting = completion.waitForFinalization(jobId, new Date(now.getTime() + 48_000));
    await new Promise((r) => setTimeout(r, 20));
    // Another job's result wakes nobody here.
    localJobOf(newJob()).deliver({
      bytes: Buffer.from('nobody waits'),
      mime: 'image/jpeg',
      claimedAt: now,
      finalizedAt: now,
      recorded: Promise.resolve(true),
    });
    // The worker finds the job by its id (a claim) and hands the result over.
    completion.localJob(jobId)!.deliver({
      bytes: Buffer.from('the result'),
      mime: 'image/jpeg',
      claimedAt: now,
      finalizedAt: now,
      recorded: Promise.resolve(true),
    });
    expect(await waiting).toBe('finalized');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(local.result?.bytes.toString()).toBe('the result');
    completion.untrack(local);
    expect(completion.localJob(jobId)).toBeUndefined();
    expect(completion.waiting).toBe(0);
    completion.close();
    await cancelJob(t.db, jobId, 'test over', now); // the next tests claim the oldest pending job
  });

  it('a wait for a job just enqueued reads nothing first: only a notification, a hand-over or the poll ends it', async () => {
    const subscribers: Array<(id: string) => void> = [];
    const hub = {
      subscribe: (_c: string, f: (id: string) => void) => (subscribers.push(f), () => undefined),
      onReconnect: () => () => undefined,
    } as unknown as NotificationHub;
    const completion = new JobCompletion(t.db, hub, new ManualClock(now), log, 60_000);
    const job = newJob();
    await enqueueJob(t.db, job, 100);
    await cancelJob(t.db, job.id, 'finalized before the wait', now);
    // Without the flag the row is read at once; with it (the caller's promise), not.
    expect(await completion.waitForFinalization(job.id, new Date(now.getTime() + 48_000))).toBe('finalized');
    let settled = false;
    const waiting = completion
      .waitForFinalization(job.id, new Date(now.getTime() + 48_000), undefined, { justEnqueued: true })
      .finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    for (const notify of subscribers) notify(job.id);
    expect(await waiting).toBe('finalized');
    completion.close();
  });

  it('a hand-over whose record failed while the row is not final waits for the worker to record the failure (no early timeout)', async () => {
    const subscribers: Array<(id: string) => void> = [];
    const hub = {
      subscribe: (_c: string, f: (id: string) => void) => (subscribers.push(f), () => undefined),
      onReconnect: () => () => undefined,
    } as unknown as NotificationHub;
    const completion = new JobCompletion(t.db, hub, new ManualClock(now), log, 60_000);
    const deps = { db: t.db, config: loadConfig({}), clock: new ManualClock(now), completion, instanceId };
    const jobId = randomUUID();
    const local = await submitJob(deps, {
      jobId,
      slot: { id: 'slot-001', provider: 'local', operation: 'neutral', settings: {} },
      photo: { path: '/nonexistent', mime: 'image/jpeg', size: 1 },
      payload: { release: async () => undefined },
      metadata: {},
      isTest: false,
      correlationId: 'c',
      receivedAt: now,
      tSyncResponseSeconds: 48,
      log,
    });
    let settled = false;
    const waiting = waitForOutcome(deps, local, { log }).finally(() => (settled = true));
    // The worker's finalize failed (a dropped connection): the row is still unfinished.
    local.deliver({
      bytes: Buffer.from('x'),
      mime: 'image/jpeg',
      claimedAt: now,
      finalizedAt: now,
      recorded: Promise.resolve(false),
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false); // not answered 504 at once: it waits for the row
    await finalizeFailed(t.db, jobId, 'internal_error', { reason: 'internal_error' }, now);
    for (const notify of subscribers) notify(jobId);
    expect((await waiting).outcome).toBe('internal_error');
    completion.close();
  });

  it('an enqueue refused with no worker reserved ends no process: the caller gets 429, nothing else rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const quietHub = {
        subscribe: () => () => undefined,
        onReconnect: () => () => undefined,
      } as unknown as NotificationHub;
      const completion = new JobCompletion(t.db, quietHub, new ManualClock(now), log, 60_000);
      const refusing = {
        db: t.db,
        config: { ...loadConfig({}), queueMaxInFlightJobs: 0 },
        clock: new ManualClock(now),
        completion,
        instanceId,
      };
      const jobId = randomUUID();
      await expect(
        submitJob(refusing, {
          jobId,
          slot: { id: 'slot-001', provider: 'local', operation: 'neutral', settings: {} },
          templates: [], // known: the job object exists before the row is in
          photo: { path: '/nonexistent', mime: 'image/jpeg', size: 1 },
          payload: { release: async () => undefined },
          metadata: {},
          isTest: false,
          correlationId: 'c',
          receivedAt: now,
          tSyncResponseSeconds: 48,
          log,
        }),
      ).rejects.toMatchObject({ code: 'queue_busy' });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(completion.localJob(jobId)).toBeUndefined();
      completion.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a hand-over whose record failed is not answered as a success: the job row decides, after the caller did its work', async () => {
    const quietHub = {
      subscribe: () => () => undefined,
      onReconnect: () => () => undefined,
    } as unknown as NotificationHub;
    const completion = new JobCompletion(t.db, quietHub, new ManualClock(now), log, 60_000);
    const jobId = randomUUID();
    const steps: string[] = [];
    const deps = { db: t.db, config: loadConfig({}), clock: new ManualClock(now), completion, instanceId };
    const local = await submitJob(deps, {
      jobId,
      slot: { id: 'slot-001', provider: 'local', operation: 'neutral', settings: {} },
      photo: { path: '/nonexistent', mime: 'image/jpeg', size: 1 },
      payload: { release: async () => void steps.push('payload released') },
      metadata: {},
      isTest: false,
      correlationId: 'c',
      receivedAt: now,
      tSyncResponseSeconds: 48,
      log,
    });
    const submitted = waitForOutcome(deps, local, { log });
    // Enqueued and waiting (no fixed sleep: the insert may take long on a loaded machine).
    await expect.poll(() => completion.waiting, { timeout: 10_000 }).toBe(1);
    // Another writer finalized the row first (say, a cancellation); the worker's finalize lost.
    expect(await cancelJob(t.db, jobId, 'test', now)).toBe(true);
    let record!: (won: boolean) => void;
    completion.localJob(jobId)!.deliver({
      bytes: Buffer.from('late'),
      mime: 'image/jpeg',
      claimedAt: now,
      finalizedAt: now,
      recorded: new Promise((r) => (record = r)),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(steps).toEqual(['payload released']); // done while the record was pending
    record(false);
    const outcome = await submitted;
    expect(outcome.outcome).toBe('cancelled');
    expect(completion.localJob(jobId)).toBeUndefined(); // nothing kept once the outcome is known
    completion.close();
  });

  it('timeout first: the late worker result loses and is not stored', async () => {
    const job = newJob();
    expect(await enqueueJob(t.db, job, 100)).toEqual({ templates: [] });
    expect((await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), []))?.id).toBe(job.id);
    expect(await finalizeAsTimedOut(t.db, job.id, now)).toBe(true);
    expect(await finalizeSucceeded(t.db, job.id, result, now)).toBe(false);
    const row = await t.db.selectFrom('job').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
    expect(row.failure_reason).toBe('timeout');
    expect(row.result_path).toBeNull();
    expect(row.result_inline).toBeNull();
  });

  it('result first: the timeout loses and the success stands', async () => {
    const job = newJob();
    await enqueueJob(t.db, job, 100);
    await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), []);
    expect(await finalizeSucceeded(t.db, job.id, result, now)).toBe(true);
    expect(await finalizeAsTimedOut(t.db, job.id, now)).toBe(false);
    expect(await cancelJob(t.db, job.id, 'client_disconnected', now)).toBe(false);
    const row = await t.db.selectFrom('job').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
    expect(row.failure_reason).toBeNull();
    expect(row.result_path).toBe('/r');
  });

  it('concurrent finalizations: exactly one wins', async () => {
    const job = newJob();
    await enqueueJob(t.db, job, 100);
    const outcomes = await Promise.all([
      finalizeAsTimedOut(t.db, job.id, now),
      finalizeSucceeded(t.db, job.id, result, now),
      cancelJob(t.db, job.id, 'x', now),
      finalizeAsTimedOut(t.db, job.id, now),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('a cancelled or expired job is never claimed, nor one of a stopped instance', async () => {
    const cancelled = newJob();
    await enqueueJob(t.db, cancelled, 100);
    await cancelJob(t.db, cancelled.id, 'client_disconnected', now);
    const expired = newJob({ expires_at: new Date(now.getTime() - 1) });
    await enqueueJob(t.db, expired, 100);
    const dead = randomUUID();
    await registerInstance(t.db, dead, 'gone', 2, now);
    await markInstanceStopped(t.db, dead, now);
    const orphan = newJob({ instance_id: dead });
    await enqueueJob(t.db, orphan, 100);
    const claimed = await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), []);
    expect([cancelled.id, expired.id, orphan.id]).not.toContain(claimed?.id);
    // The sweeper finalizes the expired one as timeout and the orphan as cancelled.
    const swept = await finalizeAbandonedJobs(
      t.db,
      new Date(now.getTime() + 5000),
      2000,
      new Date(now.getTime() - 10_000),
    );
    expect(swept).toEqual(expect.arrayContaining([orphan.id]));
    const rows = await t.db
      .selectFrom('job')
      .select(['id', 'failure_reason'])
      .where('id', 'in', [expired.id, orphan.id])
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.failure_reason]))).toEqual({
      [expired.id]: 'timeout',
      [orphan.id]: 'cancelled',
    });
  });

  it('skips providers the caller is saturated on', async () => {
    const a = newJob({ provider: 'openai', created_at: new Date(now.getTime() - 100_000) });
    await enqueueJob(t.db, a, 100);
    const claimed = await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), ['openai']);
    expect(claimed?.id).not.toBe(a.id);
    expect((await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), []))?.id).toBeDefined();
  });

  it('a job enqueued as claimed is processing at once and no claim takes it; both return the slot templates', async () => {
    const templateId = randomUUID();
    await t.db
      .insertInto('template')
      .values({
        id: templateId,
        slot_id: 'slot-002',
        setting_key: 'reference',
        path: '/t/ref.png',
        mime: 'image/png',
        size: 123,
        sha256: 'x',
        width: 4,
        height: 4,
        created_at: now,
      })
      .execute();
    const mine = newJob({ slot_id: 'slot-002' });
    const enqueued = await enqueueJob(t.db, mine, 100, true);
    expect(enqueued).toEqual({
      templates: [{ id: templateId, key: 'reference', path: '/t/ref.png', mime: 'image/png', size: 123 }],
    });
    const row = await t.db
      .selectFrom('job')
      .select(['status', 'claimed_at'])
      .where('id', '=', mine.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'processing', claimed_at: now });
    const pending = newJob({ slot_id: 'slot-002' });
    await enqueueJob(t.db, pending, 100);
    const claimed = await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), []);
    expect(claimed?.id).toBe(pending.id);
    expect(claimed?.templates).toEqual([
      { id: templateId, key: 'reference', path: '/t/ref.png', mime: 'image/png', size: 123 },
    ]);
    expect(await claimNextJob(t.db, now, new Date(now.getTime() - 10_000), [])).toBeUndefined();
    for (const j of [mine, pending]) await cancelJob(t.db, j.id, 'test over', now);
    await t.db.deleteFrom('template').where('id', '=', templateId).execute();
  });

  it('holds the in-flight cap under concurrent enqueues (many connections)', async () => {
    const t2 = await createTestDatabase();
    try {
      await registerInstance(t2.db, instanceId, 'test', 1, now);
      const results = await Promise.all(Array.from({ length: 30 }, () => enqueueJob(t2.db, newJob(), 7)));
      expect(results.filter((r) => r !== 'queue_busy')).toHaveLength(7);
      expect((await readAdmission(t2.db, 'slot-001', now)).inFlight).toBe(7);
    } finally {
      await t2.destroy();
    }
  });
});

describe('the worker and its driver', () => {
  it('tells the driver to release each job once its work is over, after a success and after a failure', async () => {
    const scripted = createScriptedProvider();
    const server = await startTestServer({ providers: [scripted] });
    try {
      await server.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
      const photo = await jpegBytes(32, 32);
      const ok = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
      expect(ok.status).toBe(200);
      scripted.setScript({ kind: 'fail', reason: 'provider_unavailable', message: 'down' });
      const failed = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
      expect(failed.status).toBe(502);
      const ids = [ok.headers.get('x-job-id'), failed.headers.get('x-job-id')];
      expect(ids.every((id) => typeof id === 'string')).toBe(true);
      expect(scripted.released).toEqual(ids);
    } finally {
      await server.close();
    }
  });
});

describe('jobs handed to a waiting worker (WorkerPool.reserve)', () => {
  /** Counts the claims that found a job (the pool's own poll may add empty ones). */
  function countClaims(server: Awaited<ReturnType<typeof startTestServer>>): { found: number } {
    const pool = server.workers as unknown as { claimSerially: () => Promise<unknown> };
    const original = pool.claimSerially.bind(pool);
    const counts = { found: 0 };
    pool.claimSerially = async () => {
      const job = await original();
      if (job) counts.found++;
      return job;
    };
    return counts;
  }
  /** The pool's 1 s poll wakes every worker for a claim; the tests here need them asleep when a photo comes. */
  const stopPoll = (server: Awaited<ReturnType<typeof startTestServer>>) =>
    clearInterval((server.workers as unknown as { pollTimer: NodeJS.Timeout }).pollTimer);
  const jobRow = (server: Awaited<ReturnType<typeof startTestServer>>, id: string | null) =>
    server.database.db
      .selectFrom('job')
      .select(['created_at', 'claimed_at', 'is_finalized'])
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();

  it('an idle server starts each photo at once: the row is claimed when created, and no claim statement takes it', async () => {
    const scripted = createScriptedProvider();
    const server = await startTestServer({ providers: [scripted] });
    try {
      await server.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
      stopPoll(server);
      const claims = countClaims(server);
      const photo = await jpegBytes(32, 32);
      for (let i = 0; i < 3; i++) {
        const r = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
        expect(r.status).toBe(200);
        const row = await jobRow(server, r.headers.get('x-job-id'));
        expect(row.claimed_at).toEqual(row.created_at);
        expect(row.is_finalized).toBe(true);
      }
      expect(claims.found).toBe(0);
      expect(server.workers.busy).toBe(0);
      // The photo was read while its row was inserted: the driver got its bytes with the request.
      expect(scripted.calls.map((c) => c.contents)).toEqual(['matching', 'matching', 'matching']);
      // Not a photo over PHOTO_READ_AHEAD_BYTES (the driver's own limits apply to it), nor for a
      // driver that does not read photos whole.
      const large = Buffer.concat([photo, Buffer.alloc(PHOTO_READ_AHEAD_BYTES + 1)]);
      expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: large })).status).toBe(
        200,
      );
      expect(scripted.calls.at(-1)?.contents).toBeUndefined();
      (scripted as { readsPhoto: boolean }).readsPhoto = false;
      expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
        200,
      );
      expect(scripted.calls.at(-1)?.contents).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('a provider at its limit is not handed more: the job waits as pending and is claimed when the first ends', async () => {
    const scripted = createScriptedProvider();
    (scripted as { maxConcurrency: number }).maxConcurrency = 1;
    scripted.setScript({ kind: 'echo', delayMs: 300 });
    const server = await startTestServer({ providers: [scripted] });
    try {
      await server.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
      const claims = countClaims(server);
      const photo = await jpegBytes(32, 32);
      const responses = await Promise.all(
        [0, 1].map(() => postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })),
      );
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      const rows = await Promise.all(responses.map((r) => jobRow(server, r.headers.get('x-job-id'))));
      const direct = rows.filter((r) => r.claimed_at!.getTime() === r.created_at.getTime());
      expect(direct).toHaveLength(1);
      const waited = rows.find((r) => r !== direct[0])!;
      expect(waited.claimed_at!.getTime() - waited.created_at.getTime()).toBeGreaterThanOrEqual(200);
      expect(claims.found).toBe(1);
      // Only the job handed over directly came with the photo's bytes; the claimed one read its file.
      expect(scripted.calls.map((c) => c.contents ?? 'read from the file').sort()).toEqual([
        'matching',
        'read from the file',
      ]);
    } finally {
      await server.close();
    }
  });

  it('a job started before its row is in, whose enqueue is then refused, reaches no provider and leaves nothing', async () => {
    const scripted = createScriptedProvider();
    const server = await startTestServer({ providers: [scripted] });
    try {
      const deadline = Date.now() + 3000;
      while ((server.workers as unknown as { sleepers: unknown[] }).sleepers.length < 4 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const photoPath = path.join(server.mediaRoot, 'payloads', 'refused.jpg');
      await fs.writeFile(photoPath, await jpegBytes(16, 16));
      const jobId = randomUUID();
      const quietHub = {
        subscribe: () => () => undefined,
        onReconnect: () => () => undefined,
      } as unknown as NotificationHub;
      const completion = new JobCompletion(server.database.db, quietHub, systemClock, log);
      // The cap at 0: the enqueue refuses whatever the queue holds.
      const refusing = {
        db: server.database.db,
        config: { ...server.config, queueMaxInFlightJobs: 0 },
        clock: systemClock,
        completion,
        instanceId: randomUUID(),
        dispatch: server.workers,
      };
      await expect(
        submitJob(refusing, {
          jobId,
          slot: { id: 'slot-001', provider: 'scripted', operation: 'run', settings: {} },
          templates: [],
          photo: { path: photoPath, mime: 'image/jpeg', size: 1 },
          payload: { release: async () => undefined },
          metadata: {},
          isTest: false,
          correlationId: 'c',
          receivedAt: new Date(),
          tSyncResponseSeconds: 10,
          log,
        }),
      ).rejects.toMatchObject({ code: 'queue_busy' });
      expect(completion.localJob(jobId)).toBeUndefined(); // a refused job is not kept
      // The worker was handed the job (it let the driver go) and ended without calling it.
      await expect.poll(() => scripted.released).toEqual([jobId]);
      expect(scripted.calls).toEqual([]);
      await expect.poll(() => server.workers.busy).toBe(0);
      expect(await server.database.db.selectFrom('job').select('id').where('id', '=', jobId).execute()).toEqual([]);
      expect((await listFiles(path.join(server.mediaRoot, 'results'))).filter((f) => !f.endsWith('/'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a reservation counts as a busy worker until it is started and ends, or cancelled (once)', async () => {
    const scripted = createScriptedProvider();
    const server = await startTestServer({ providers: [scripted], env: { PHOTOCHANGER_WORKERS: '2' } });
    try {
      stopPoll(server);
      const pool = server.workers;
      // Both workers asleep (their first claims found nothing).
      const deadline = Date.now() + 3000;
      while ((pool as unknown as { sleepers: unknown[] }).sleepers.length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const a = pool.reserve('a', 'scripted');
      const b = pool.reserve('b', 'scripted');
      expect(a && b).toBeTruthy();
      expect(pool.reserve('c', 'scripted')).toBeUndefined(); // nobody left asleep
      expect(pool.busy).toBe(2);
      a!.cancel();
      a!.cancel();
      expect(pool.busy).toBe(1);
      b!.cancel();
      expect(pool.busy).toBe(0);
      // The released workers go back to sleep and can be reserved again.
      while ((pool as unknown as { sleepers: unknown[] }).sleepers.length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const again = Date.now() + 3000;
      while ((pool as unknown as { sleepers: unknown[] }).sleepers.length < 2 && Date.now() < again)
        await new Promise((r) => setTimeout(r, 10));
      const d = pool.reserve('d', 'scripted');
      expect(d).toBeDefined();
      d!.cancel();
    } finally {
      await server.close();
    }
  });
});

describe('two server instances on one database', () => {
  it('share the cap: never more than the cap in flight across both, and each answers its own requests', async () => {
    const scriptedA = createScriptedProvider();
    const scriptedB = createScriptedProvider();
    scriptedA.setScript({ kind: 'echo', delayMs: 1500 });
    scriptedB.setScript({ kind: 'echo', delayMs: 1500 });
    const env = { PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS: '4', PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '6' };
    const a = await startTestServer({ providers: [scriptedA], env });
    const b = await startTestServer({ providers: [scriptedB], env, databaseUrl: a.database.url });
    try {
      await a.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
      const photo = await jpegBytes(32, 32);
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          postIngest(i % 2 ? a.url : b.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo }),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      for (const r of responses.filter((x) => x.status === 200))
        expect(Buffer.from(await r.arrayBuffer())).toEqual(photo);
      // Work was shared: jobs were claimed by workers of both instances (each instance's
      // scripted provider only sees the jobs its own workers claimed).
      expect(scriptedA.calls.length + scriptedB.calls.length).toBe(4);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('media cleanup with an injected clock', () => {
  it('deletes an expired result and its link (410), removes orphan payloads and results, keeps live ones', async () => {
    const clock = new ManualClock(new Date('2026-11-24T10:00:00Z'));
    const scripted = createScriptedProvider();
    const server = await startTestServer({
      providers: [scripted],
      clock,
      env: { PHOTOCHANGER_RESULT_TTL_SECONDS: '3600' },
    });
    try {
      await server.database.db.updateTable('slot').set({ provider: 'scripted', operation: 'run' }).execute();
      const photo = await jpegBytes(16, 16);
      const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
      expect(res.status).toBe(200);
      const jobId = res.headers.get('x-job-id')!;
      const media = new MediaStore(server.mediaRoot);
      // An orphan payload (crash between upload and answer) and an orphan result file.
      const orphanId = randomUUID();
      await fs.mkdir(media.payloadDir(orphanId), { recursive: true });
      await fs.writeFile(path.join(media.payloadDir(orphanId), 'x.jpg'), 'x');
      await fs.writeFile(media.resultPath(randomUUID(), 'jpg'), 'x');
      const past = new Date(clock.now().getTime() - 120_000);
      await fs.utimes(path.join(media.payloadDir(orphanId), 'x.jpg'), past, past);
      await fs.utimes(media.payloadDir(orphanId), past, past);
      for (const f of await fs.readdir(media.dir('results')))
        await fs.utimes(path.join(media.dir('results'), f), past, past);

      clock.advance(3599_000);
      let report = await runMediaCleanup({ db: server.database.db, clock, media, log });
      expect(report).toMatchObject({ payloads: 1, results: 1 }); // the orphans only
      expect((await fetch(`${server.url}/public/results/${jobId}`)).status).toBe(200);

      clock.advance(2_000);
      expect((await fetch(`${server.url}/public/results/${jobId}`)).status).toBe(410); // expired, even before the pass
      report = await runMediaCleanup({ db: server.database.db, clock, media, log });
      expect(report.results).toBe(1);
      expect(await listFiles(media.dir('results'))).toEqual([]);
      expect(await listFiles(media.dir('payloads'))).toEqual([]);
      const gone = await fetch(`${server.url}/public/results/${jobId}`);
      expect(gone.status).toBe(410);
      expect((await jsonOf(gone)).error.code).toBe('result_expired');
    } finally {
      await server.close();
    }
  });
});
