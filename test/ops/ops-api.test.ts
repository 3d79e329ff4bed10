import fs from 'node:fs/promises';
import http from 'node:http';
import { shortJobId } from '../../src/media/guest-qr.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../src/providers/local/driver.js';
import { createScriptedProvider } from '../support/scripted-provider.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('statistics, jobs monitor, metrics and readiness', () => {
  let server: TestServer;
  const scripted = createScriptedProvider();
  let auth: Record<string, string>;
  const jobIds: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      providers: [createLocalProvider(), scripted],
      env: { PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '2' },
    });
    auth = authHeader(server, ['stats:read', 'slots:write']);
    await server.database.db
      .updateTable('slot')
      .set({ provider: 'scripted', operation: 'run' })
      .where('id', '=', 'slot-002')
      .execute();
    const photo = await jpegBytes();
    // Two successes on slot-001, a provider error and a timeout on slot-002, one refusal.
    for (let i = 0; i < 2; i++)
      jobIds.push(
        (await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).headers.get(
          'x-job-id',
        )!,
      );
    scripted.setScript({ kind: 'fail', reason: 'safety_block', message: 'blocked' });
    jobIds.push(
      (await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo })).headers.get(
        'x-job-id',
      )!,
    );
    scripted.setScript({ kind: 'hang' });
    jobIds.push(
      (await postIngest(server.url, 'slot-002', { password: TEST_INGEST_PASSWORD, file: photo })).headers.get(
        'x-job-id',
      )!,
    );
    scripted.setScript({ kind: 'echo' });
    expect((await postIngest(server.url, 'slot-001', { password: 'wrong-password', file: photo })).status).toBe(401);
    await server.rejections.flush(); // counted in memory, written every few seconds
  });
  afterAll(() => server.close());

  const get = (url: string, headers = auth) => fetch(`${server.url}${url}`, { headers });

  it('global statistics count outcomes, refusals and latency, with an hourly series', async () => {
    const res = await get('/api/stats/global?group_by=hour');
    expect(res.status).toBe(200);
    const stats = await jsonOf(res);
    expect(stats.totals).toMatchObject({
      total: 4,
      succeeded: 2,
      provider_errors: 1,
      timeouts: 1,
      cancellations: 0,
      rejections: { invalid_password: 1 },
    });
    expect(stats.totals.latency_ms.p50).toBeGreaterThanOrEqual(0);
    // Hourly buckets covering the last 24 h (25 when the window does not start on the hour).
    expect(stats.series.length).toBeGreaterThanOrEqual(24);
    expect(stats.series.length).toBeLessThanOrEqual(25);
    expect(new Date(stats.series[0].bucket_start).getTime()).toBeLessThanOrEqual(new Date(stats.from).getTime());
    expect(stats.series.reduce((n: number, b: { total: number }) => n + b.total, 0)).toBe(4);
    expect(stats.providers.map((p: { provider: string }) => p.provider).sort()).toEqual(['local', 'scripted']);
  });

  it('slot statistics, and a reset that keeps history but restarts the since-reset totals', async () => {
    const before = await jsonOf(await get('/api/stats/slots/slot-002?group_by=day'));
    expect(before.totals).toMatchObject({ total: 2, provider_errors: 1, timeouts: 1 });
    expect(before.since_reset).toMatchObject({ at: null, totals: { total: 2 } });
    const reset = await fetch(`${server.url}/api/slots/slot-002/stats/reset`, { method: 'POST', headers: auth });
    expect(reset.status).toBe(200);
    const after = await jsonOf(await get('/api/stats/slots/slot-002?group_by=day'));
    expect(after.totals.total).toBe(2);
    expect(after.since_reset.totals.total).toBe(0);
    expect(after.since_reset.at).toBe((await jsonOf(reset)).stats_reset_at);
    expect((await get('/api/stats/global?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z')).status).toBe(400);
    expect((await get('/api/stats/global?from=2000-01-01T00:00:00Z&group_by=hour')).status).toBe(400);
  });

  it('lists and filters jobs, and shows one with its deadline, timings and result link but no bytes', async () => {
    const all = await jsonOf(await get('/api/jobs'));
    expect(all.total).toBe(4);
    expect(all.jobs[0].id).toBe(jobIds[3]); // newest first
    const failed = await jsonOf(await get('/api/jobs?slot_id=slot-002&failure_reason=timeout'));
    expect(failed.jobs.map((j: { id: string }) => j.id)).toEqual([jobIds[3]]);
    const page = await jsonOf(await get('/api/jobs?limit=1&offset=1&sort=created_at'));
    expect(page).toMatchObject({ total: 4, limit: 1, offset: 1 });
    expect(page.jobs[0].id).toBe(jobIds[1]);

    const detail = await jsonOf(await get(`/api/jobs/${jobIds[0]}`));
    expect(detail).toMatchObject({
      id: jobIds[0],
      outcome: 'succeeded',
      deadline: { is_expired: expect.any(Boolean), remaining_ms: 0 },
      result: { url: `/public/results/${jobIds[0]}`, guest_url: `/r/${shortJobId(jobIds[0]!)}`, mime: 'image/jpeg' },
    });
    expect(detail.timings.total_ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(detail)).not.toMatch(/result_inline|payload_path|password/);
    const timeout = await jsonOf(await get(`/api/jobs/${jobIds[3]}`));
    expect(timeout).toMatchObject({ outcome: 'timeout', result: null, deadline: { is_expired: true } });
    expect((await get('/api/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await get('/api/jobs', authHeader(server, ['slots:read']))).status).toBe(403);
    expect((await fetch(`${server.url}/api/jobs`)).status).toBe(401);
  });

  it('streams job changes over Server-Sent Events (token in the Authorization header), from enqueue to finalization', async () => {
    const events: Array<{ id: string; outcome: string }> = [];
    const req = http.get(`${server.url}/api/jobs/stream`, { headers: authHeader(server, ['stats:read']) });
    const response = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    let buffer = '';
    response.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: job$/m.test(block) && data) events.push(JSON.parse(data));
      }
    });
    const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes() });
    const id = res.headers.get('x-job-id')!;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !events.some((e) => e.id === id && e.outcome === 'succeeded'))
      await new Promise((r) => setTimeout(r, 20));
    req.destroy();
    // One event per change (enqueued, finalized), each with the job's state when it was read: a fast
    // worker may already have claimed it when the enqueue event is read.
    const outcomes = events.filter((e) => e.id === id).map((e) => e.outcome);
    expect(outcomes).toHaveLength(2);
    expect(['pending', 'processing']).toContain(outcomes[0]);
    expect(outcomes[1]).toBe('succeeded');
    // A token in the URL is never accepted, and never logged.
    const token = authHeader(server, ['stats:read']).authorization!.slice('Bearer '.length);
    const inUrl = await fetch(`${server.url}/api/jobs/stream?access_token=${token}`);
    expect(inUrl.status).toBe(401);
    expect(server.logLines.some((l) => l.includes(token.slice(-20)))).toBe(false);
    expect(server.logLines.some((l) => l.includes('"url":"/api/jobs/stream"'))).toBe(true);
  });

  it('caps live streams per account (429 too_many_streams)', async () => {
    const headers = authHeader(server, ['stats:read']);
    const open = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<http.ClientRequest>((resolve) => {
            const r = http.get(`${server.url}/api/jobs/stream`, { headers });
            r.once('response', () => resolve(r));
          }),
      ),
    );
    const sixth = await fetch(`${server.url}/api/jobs/stream`, { headers });
    expect(sixth.status).toBe(429);
    expect((await jsonOf(sixth)).error.code).toBe('too_many_streams');
    for (const r of open) r.destroy();
  });

  it('exposes Prometheus metrics: ingest histogram by slot and status, error codes, queue depth, workers, provider calls, media bytes', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: authHeader(server, ['stats:read']) })).text();
    expect(text).toMatch(/photochanger_ingest_duration_seconds_count\{slot="slot-001",status="200"\} [1-9]/);
    expect(text).toMatch(/photochanger_ingest_responses_total\{status="502",code="provider_error"\} 1/);
    expect(text).toMatch(/photochanger_ingest_responses_total\{status="504",code="sync_timeout"\} 1/);
    expect(text).toMatch(/photochanger_ingest_responses_total\{status="401",code="invalid_password"\} 1/);
    expect(text).toMatch(/photochanger_queue_depth\{state="pending"\} 0/);
    expect(text).toMatch(/photochanger_workers_busy \d/);
    expect(text).toMatch(/photochanger_provider_duration_seconds_count\{provider="scripted",outcome="failure"\} 1/);
    expect(text).toMatch(/photochanger_media_bytes\{kind="results"\} [1-9]/);
    expect(text).toMatch(/photochanger_process_resident_memory_bytes/);
    await fetch(`${server.url}/api/media/cache/purge`, { method: 'POST', headers: authHeader(server) });
    expect(
      await (await fetch(`${server.url}/metrics`, { headers: authHeader(server, ['stats:read']) })).text(),
    ).toMatch(/photochanger_cleanup_runs_total [1-9]/);
  });

  it('readiness checks the database and the media root; liveness does not', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await jsonOf(ready)).toEqual({ status: 'ready', checks: { database: 'ok', media: 'ok' } });
    // A media root that cannot take a file (payloads/ replaced by a plain file: fails even as root).
    const payloads = path.join(server.mediaRoot, 'payloads');
    await fs.rename(payloads, `${payloads}.away`);
    await fs.writeFile(payloads, 'not a directory');
    try {
      const notReady = await fetch(`${server.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect((await jsonOf(notReady)).error).toMatchObject({
        code: 'not_ready',
        details: { checks: { database: 'ok', media: expect.stringMatching(/^not writable/) } },
      });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await fs.rm(payloads);
      await fs.rename(`${payloads}.away`, payloads);
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('health probes are logged at debug, not info (a monitor polls them); /admin without the slash opens the UI', async () => {
    const before = server.logLines.length;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await expect
      .poll(() => server.logLines.slice(before).filter((l) => l.includes('request completed')).length)
      .toBeGreaterThanOrEqual(2);
    const probeLines = server.logLines
      .slice(before)
      .filter((l) => /\/(healthz|readyz)/.test(l) || l.includes('request completed'));
    expect(probeLines.length).toBeGreaterThan(0);
    expect(probeLines.filter((l) => !l.includes('"level":"debug"'))).toEqual([]);
    // Other requests keep their info lines.
    const mark = server.logLines.length;
    await fetch(`${server.url}/api/slots`, { headers: authHeader(server, ['slots:read']) });
    await expect
      .poll(() =>
        server.logLines.slice(mark).some((l) => l.includes('request completed') && l.includes('"level":"info"')),
      )
      .toBe(true);
    const admin = await fetch(`${server.url}/admin`, { redirect: 'manual' });
    expect(admin.status).toBe(302);
    expect(admin.headers.get('location')).toBe('/admin/');
  });
});
