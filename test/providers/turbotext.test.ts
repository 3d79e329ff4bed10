import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { createTemporaryMediaPublisher, type TemporaryMediaDeps } from '../../src/media/temporary-links.js';
import { temporaryMediaRoutes } from '../../src/media/temporary-media-routes.js';
import { staticKeySource } from '../../src/providers/keys.js';
import { createTurbotextProvider, type TurbotextProviderOptions } from '../../src/providers/turbotext/driver.js';
import { turbotextWebhookRoutes } from '../../src/providers/turbotext/webhook-routes.js';
import { TurbotextWebhookInbox } from '../../src/providers/turbotext/webhooks.js';
import {
  ProviderFailure,
  type InputImage,
  type ProviderDriver,
  type TemplateImage,
} from '../../src/providers/types.js';
import { RESULT_JPEG } from '../support/fakes/common.js';
import {
  eventually,
  makeProviderRequest,
  rejectionOf,
  writeInputImage,
  writeTemplateImage,
  type CapturedProviderRequest,
} from '../support/fakes/request.js';
import { startTurbotextFake, type TurbotextFake } from '../support/fakes/turbotext.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { makeJpeg, makePng } from '../support/images.js';

describe('Turbotext driver against the fake Turbotext server', () => {
  let t: TestDatabase;
  let fake: TurbotextFake;
  let server: FastifyInstance;
  let publicBaseUrl: string;
  let mediaDeps: TemporaryMediaDeps;
  let photo: InputImage;
  let style: TemplateImage;
  let target: TemplateImage;
  let inboxA: TurbotextWebhookInbox;
  let inboxB: TurbotextWebhookInbox;
  let driver: ProviderDriver;
  const captured: CapturedProviderRequest[] = [];

  const make = (overrides: Partial<TurbotextProviderOptions> = {}) =>
    createTurbotextProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ turbotext: fake.apiKey }),
      maxConcurrency: 2,
      publisher: createTemporaryMediaPublisher(mediaDeps, () => 48),
      webhooks: inboxB,
      pollIntervalMs: 100,
      retry: { backoffMs: 50, minAttemptMs: 100 },
      ...overrides,
    });

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await startTurbotextFake();
    const mediaRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'pc-turbotext-'));
    // Two "instances" on one database: the webhook reaches A, the driver waits on B.
    inboxA = new TurbotextWebhookInbox({ db: t.db, clock: systemClock, pollMs: 100 });
    inboxB = new TurbotextWebhookInbox({ db: t.db, clock: systemClock, pollMs: 100 });
    server = Fastify();
    await server.register(temporaryMediaRoutes, { db: t.db, clock: systemClock });
    await server.register(turbotextWebhookRoutes, { inbox: inboxA });
    await server.listen({ port: 0, host: '127.0.0.1' });
    publicBaseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    mediaDeps = { db: t.db, clock: systemClock, mediaRoot, publicBaseUrl: () => publicBaseUrl };
    photo = await writeInputImage(await makeJpeg({ width: 64, height: 48 }), 'image/jpeg');
    style = await writeTemplateImage(await makePng({ width: 32, height: 32 }), 'image/png', 'style');
    target = await writeTemplateImage(await makeJpeg({ width: 40, height: 40 }), 'image/jpeg', 'target');
    driver = make();
  });
  afterAll(async () => {
    for (const c of captured) c.dispose();
    await fake.webhooksSettled();
    await fake.close();
    await server.close();
    await t.destroy();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.jobs.length = 0;
    fake.setBehaviour({ kind: 'result', reconnects: 1 });
  });

  function run(
    operation: string,
    settings: Record<string, unknown>,
    options: { deadlineMs?: number; abortAtDeadline?: boolean; templates?: TemplateImage[]; d?: ProviderDriver } = {},
  ) {
    const c = makeProviderRequest({
      operation,
      settings: { delivery: 'poll', ...settings },
      photo,
      templates: options.templates ?? [],
      deadlineMs: options.deadlineMs ?? 3000,
      ...(options.abortAtDeadline === undefined ? {} : { abortAtDeadline: options.abortAtDeadline }),
    });
    captured.push(c);
    return { ...c, result: (options.d ?? driver).process(c.request) };
  }

  const apiCalls = () => fake.requests.filter((r) => r.path.startsWith('/api_ai/'));

  it('generate_image2image: publishes the photo, sends the form, polls through reconnects, downloads the result', async () => {
    fake.setBehaviour({ kind: 'result', reconnects: 3 });
    const { result, calls } = run('generate_image2image', {
      prompt: 'в стиле аниме',
      strength: 40,
      seed: 7,
      scale: 7.5,
      negative_prompt: 'blur',
      original_language: 'ru',
    });
    const out = await result;
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
    expect(out.mime).toBe('image/jpeg');
    const job = fake.jobs[0]!;
    expect(out.providerRef).toBe(String(job.id));
    const [create, ...polls] = apiCalls();
    expect(create!.path).toBe('/api_ai/generate_image2image');
    expect(create!.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(create!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.keys(create!.form!)).toEqual([
      'do',
      'url',
      'content',
      'strength',
      'seed',
      'scale',
      'negative_prompt',
      'original_language',
    ]);
    expect(create!.form).toMatchObject({
      do: 'create_queue',
      content: 'в стиле аниме',
      strength: '40',
      seed: '7',
      scale: '7.5',
      negative_prompt: 'blur',
      original_language: 'ru',
    });
    expect(create!.form!.url).toMatch(new RegExp(`^${publicBaseUrl}/public/media/[A-Za-z0-9_-]{32}$`));
    // The fake really downloaded our link.
    expect(job.downloads).toEqual([{ url: create!.form!.url, field: 'url', status: 200, size: expect.any(Number) }]);
    expect(job.downloads[0]!.size).toBeGreaterThan(100);
    expect(polls).toHaveLength(4);
    for (const p of polls) {
      expect(p.path).toBe('/api_ai/generate_image2image');
      expect(p.form).toEqual({ do: 'get_result', queueid: String(job.id) });
    }
    for (let i = 1; i < polls.length; i++)
      expect(polls[i]!.receivedAt - polls[i - 1]!.answeredAt!).toBeGreaterThanOrEqual(90);
    // Reconnects are not attempts: create, one get_result, the download.
    expect(calls.map((c) => [c.model, c.attempt, c.outcome])).toEqual([
      ['generate_image2image', 1, 'success'],
      ['generate_image2image', 1, 'success'],
      ['download', 1, 'success'],
    ]);
    expect(calls[1]!.detail).toContain('3 reconnects');
    const download = fake.requests.find((r) => r.path === '/download.php');
    expect(download?.headers.authorization).toBeUndefined();
  });

  it('mix_images sends the photo as url_image_target and the style as url; both are downloaded', async () => {
    const { result } = run('mix_images', { prompt: 'Van Gogh' }, { templates: [style] });
    await result;
    const form = apiCalls()[0]!.form!;
    expect(Object.keys(form)).toEqual(['do', 'url_image_target', 'url', 'content']);
    expect(form.url).not.toBe(form.url_image_target);
    expect(fake.jobs[0]!.downloads.map((d) => [d.field, d.status])).toEqual([
      ['url', 200],
      ['url_image_target', 200],
    ]);
  });

  it('deepfake_photo: the target (whose face is replaced) as url, the photo (the face to use) as url_image_target; swap_roles reverses them', async () => {
    fake.setBehaviour({ kind: 'result', reconnects: 1, uploaded: 'data_image_only' });
    const out = await run('deepfake_photo', { face_restore: true }, { templates: [target] }).result;
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
    expect(Object.keys(apiCalls()[0]!.form!)).toEqual(['do', 'url', 'url_image_target', 'face_restore']);
    expect(apiCalls()[0]!.form!.face_restore).toBe('1');
    const sizes = (i: number) => Object.fromEntries(fake.jobs[i]!.downloads.map((d) => [d.field, d.size]));
    expect(sizes(0)).toEqual({ url: target.size, url_image_target: photo.size });
    await run('deepfake_photo', { face_restore: true, swap_roles: true }, { templates: [target] }).result;
    expect(sizes(1)).toEqual({ url: photo.size, url_image_target: target.size });
  });

  it('image2image: a result given only as a path in data.image is fetched from the API host', async () => {
    fake.setBehaviour({ kind: 'result', reconnects: 1, uploaded: 'data_image_relative' });
    const out = await run('generate_image2image', { prompt: 'Watercolour' }).result;
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
  });

  it('fails forbidden_content as moderation_blocked and a missing template clearly', async () => {
    fake.setBehaviour({ kind: 'result', uploaded: 'data_image_only', forbiddenContent: true });
    const err = (await rejectionOf(
      run('deepfake_photo', { face_restore: false }, { templates: [target] }).result,
    )) as ProviderFailure;
    expect(err.reason).toBe('moderation_blocked');
    const missing = (await rejectionOf(run('mix_images', { prompt: 'x' }).result)) as ProviderFailure;
    expect(missing.reason).toBe('template_missing');
  });

  it.each(['top', 'data', 'relative'] as const)('reads uploaded_image (%s)', async (uploaded) => {
    fake.setBehaviour({ kind: 'result', reconnects: 0, uploaded });
    const out = await run('generate_image2image', { prompt: 'x' }).result;
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
    expect(fake.requests.filter((r) => r.path === '/download.php')).toHaveLength(1);
  });

  it('fails when the result download 404s', async () => {
    fake.setBehaviour({ kind: 'result', uploaded: 'missing_file' });
    const err = (await rejectionOf(run('generate_image2image', { prompt: 'x' }).result)) as ProviderFailure;
    expect(err.reason).toBe('result_download_failed');
    expect(err.message).toContain('404');
  });

  it.each([
    ['LIMIT', 'quota_exceeded', 'balance'],
    ['face_not_detected', 'face_not_detected', 'no face'],
  ])('surfaces success:false %s as %s', async (code, reason, text) => {
    fake.setBehaviour({ kind: 'fail', error: code, reconnects: 1 });
    const { result, calls } = run('generate_image2image', { prompt: 'x' });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err).toBeInstanceOf(ProviderFailure);
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(code);
    expect(err.message).toContain(text);
    expect(calls.at(-1)!.outcome).toBe('failure');
  });

  it('keeps polling through a 5xx in the middle, recording it as a retry', async () => {
    fake.setBehaviour({ kind: 'result', reconnects: 2, midPollErrors: 1 });
    const { result, calls } = run('generate_image2image', { prompt: 'x' });
    await result;
    expect(calls.some((c) => c.outcome === 'retry' && c.httpStatus === 503)).toBe(true);
    expect(fake.jobs[0]!.polls).toBe(4);
  });

  it('polls a reconnect-forever job until the deadline, then gives up (not after a fixed count)', async () => {
    fake.setBehaviour({ kind: 'reconnect_forever' });
    const { result, startedAt } = run(
      'generate_image2image',
      { prompt: 'x' },
      { deadlineMs: 1500, abortAtDeadline: false },
    );
    const err = (await rejectionOf(result)) as ProviderFailure;
    const elapsed = Date.now() - startedAt;
    expect(err.reason).toBe('deadline_exceeded');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2500);
    expect(fake.jobs[0]!.polls).toBeGreaterThan(5);
  });

  it('an abort while polling stops at once with the abort reason', async () => {
    fake.setBehaviour({ kind: 'reconnect_forever' });
    const { result, controller } = run('generate_image2image', { prompt: 'x' }, { deadlineMs: 10_000 });
    await eventually(() => (fake.jobs[0]?.polls ?? 0) >= 2);
    const reason = new Error('deadline');
    controller.abort(reason);
    const t0 = Date.now();
    expect(await rejectionOf(result)).toBe(reason);
    expect(Date.now() - t0).toBeLessThan(300);
    const polls = fake.jobs[0]!.polls;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.jobs[0]!.polls).toBe(polls);
  });

  it('an abort during a slow create_queue closes the connection', async () => {
    fake.setBehaviour({ kind: 'slow_create', delayMs: 10_000 });
    const { result, controller } = run('generate_image2image', { prompt: 'x' }, { deadlineMs: 10_000 });
    await eventually(() => apiCalls().length === 1);
    controller.abort(new Error('stop'));
    await rejectionOf(result);
    await eventually(() => apiCalls()[0]!.aborted);
  });

  it('releaseJob withdraws the links it published for that job only (rows, files, 404), once', async () => {
    const { result, request } = run('generate_image2image', { prompt: 'x' });
    await result;
    const other = run('generate_image2image', { prompt: 'y' });
    await other.result;
    const linkOf = (i: number) => apiCalls().filter((r) => r.form?.do === 'create_queue')[i]!.form!.url!;
    const [mine, theirs] = [linkOf(0), linkOf(1)];
    const rows = async (jobId: string) =>
      t.db.selectFrom('temporary_media').select(['path']).where('job_id', '=', jobId).execute();
    const files = (await rows(request.jobId)).map((r) => r.path);
    expect(files).toHaveLength(1);
    expect((await fetch(mine)).status).toBe(200);
    await driver.releaseJob!(request.jobId);
    expect(await rows(request.jobId)).toEqual([]);
    await expect(fs.stat(files[0]!)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fetch(mine)).status).toBe(404);
    // The other job's link stands until its own release; a second release is a no-op.
    expect((await fetch(theirs)).status).toBe(200);
    await driver.releaseJob!(request.jobId);
    await driver.releaseJob!(other.request.jobId);
    expect((await fetch(theirs)).status).toBe(404);
  });

  it('a job whose enqueue is refused while it prepares publishes no link, registers no webhook and sends nothing', async () => {
    const c = makeProviderRequest({
      operation: 'generate_image2image',
      settings: { delivery: 'webhook', prompt: 'x' },
      photo,
      deadlineMs: 3000,
    });
    captured.push(c);
    const refusal = Promise.reject(new Error('queue_busy'));
    refusal.catch(() => c.controller.abort(new Error('not enqueued')));
    await expect(driver.process({ ...c.request, ready: refusal })).rejects.toThrow('not enqueued');
    expect(
      await t.db.selectFrom('temporary_media').select('id').where('job_id', '=', c.request.jobId).execute(),
    ).toEqual([]);
    expect(
      await t.db.selectFrom('turbotext_webhook').select('job_id').where('job_id', '=', c.request.jobId).execute(),
    ).toEqual([]);
    expect(fake.requests).toEqual([]);
  });

  it('fails with url_error when our links have already expired (410) for Turbotext', async () => {
    const past = new ManualClock(Date.now() - 120_000);
    const d = make({ publisher: createTemporaryMediaPublisher({ ...mediaDeps, clock: past }, () => 48) });
    const err = (await rejectionOf(run('generate_image2image', { prompt: 'x' }, { d }).result)) as ProviderFailure;
    expect(err.reason).toBe('url_error');
    expect(err.message).toContain('PHOTOCHANGER_PUBLIC_BASE_URL');
    expect(fake.jobs[0]!.downloads[0]!.status).toBe(410);
  });

  it('without PHOTOCHANGER_PUBLIC_BASE_URL: a clear failure and readiness says so; without a key: provider_not_configured', async () => {
    const noBase = make({
      publisher: createTemporaryMediaPublisher({ ...mediaDeps, publicBaseUrl: () => undefined }, () => 48),
    });
    const err = (await rejectionOf(
      run('generate_image2image', { prompt: 'x' }, { d: noBase }).result,
    )) as ProviderFailure;
    expect(err.reason).toBe('public_base_url_missing');
    expect(err.message).toContain('PHOTOCHANGER_PUBLIC_BASE_URL');
    expect(await noBase.readiness!({ publicBaseUrl: undefined })).toEqual({
      configured: false,
      reason: 'public_base_url_missing',
    });
    expect(await driver.readiness!({ publicBaseUrl })).toEqual({ configured: true });
    const noKey = make({ keys: staticKeySource({}) });
    expect(
      ((await rejectionOf(run('generate_image2image', { prompt: 'x' }, { d: noKey }).result)) as ProviderFailure)
        .reason,
    ).toBe('provider_not_configured');
    expect(await noKey.readiness!({ publicBaseUrl })).toEqual({ configured: false, reason: 'provider_not_configured' });
    expect(apiCalls()).toHaveLength(0);
  });

  it('webhook mode: registers a token URL, gets the delivery through another instance, ignores duplicates and late deliveries', async () => {
    fake.setBehaviour({ kind: 'result', webhookDelayMs: 150, webhookCopies: 2 });
    const { result, calls } = run('generate_image2image', { prompt: 'x', delivery: 'webhook' });
    const out = await result;
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
    const create = apiCalls()[0]!;
    expect(create.form!.webhook).toMatch(new RegExp(`^${publicBaseUrl}/webhooks/turbotext/[A-Za-z0-9_-]{43}$`));
    expect(apiCalls()).toHaveLength(1); // no get_result polling in webhook mode
    await fake.webhooksSettled();
    expect(fake.jobs[0]!.webhookDeliveries.map((d) => d.status)).toEqual([200, 200]);
    expect(calls.map((c) => c.detail)).toContain('webhook delivery');
    // A late delivery after the job: still 200, ignored.
    const late = await fetch(create.form!.webhook!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"success":true}',
    });
    expect(late.status).toBe(200);
    const token = create.form!.webhook!.split('/').pop()!;
    expect(await inboxA.deliver(token, { success: true })).toBe('ignored');
  });

  it('webhook mode: the driver gives up at the deadline when the delivery comes too late', async () => {
    fake.setBehaviour({ kind: 'result', webhookDelayMs: 2500 });
    const { result, startedAt } = run(
      'generate_image2image',
      { prompt: 'x', delivery: 'webhook' },
      { deadlineMs: 1000, abortAtDeadline: false },
    );
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('deadline_exceeded');
    expect(Date.now() - startedAt).toBeLessThan(1800);
    await fake.webhooksSettled();
    expect(fake.jobs[0]!.webhookDeliveries).toEqual([{ status: 200, at: expect.any(Number) }]);
  });

  it('webhook mode: a failure JSON delivered by webhook is surfaced', async () => {
    fake.setBehaviour({ kind: 'fail', error: 'LIMIT', webhookDelayMs: 50 });
    const err = (await rejectionOf(
      run('generate_image2image', { prompt: 'x', delivery: 'webhook' }).result,
    )) as ProviderFailure;
    expect(err.reason).toBe('quota_exceeded');
  });

  it('the webhook route answers 200 to unknown tokens and form bodies', async () => {
    const res = await server.inject({
      method: 'POST',
      url: '/webhooks/turbotext/unknown',
      payload: 'success=true',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    const token = await inboxA.register('00000000-0000-4000-8000-000000000000', new Date(Date.now() + 60_000));
    const ok = await server.inject({
      method: 'POST',
      url: `/webhooks/turbotext/${token}`,
      payload: 'success=true&data={"image":["x"]}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(ok.statusCode).toBe(200);
    expect(await inboxB.take(token)).toEqual({ success: true, data: { image: ['x'] } });
    await inboxA.release(token);
  });

  it('never logs the key', async () => {
    const { result, logLines } = run('generate_image2image', { prompt: 'x' });
    await result;
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(fake.apiKey);
  });
});
