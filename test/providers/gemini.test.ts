import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticKeySource } from '../../src/providers/keys.js';
import type { ModelLister } from '../../src/providers/models.js';
import { createGeminiProvider, readGeminiAnswer, type GeminiRetryOptions } from '../../src/providers/gemini/driver.js';
import {
  ProviderFailure,
  type InputImage,
  type ProviderDriver,
  type TemplateImage,
} from '../../src/providers/types.js';
import { ShiftedClock } from '../support/clock.js';
import { RESULT_PNG, TINY_PNG } from '../support/fakes/common.js';
import { startGeminiFake, type GeminiFake } from '../support/fakes/gemini.js';
import {
  DeadlineAbort,
  eventually,
  makeProviderRequest,
  rejectionOf,
  writeInputImage,
  writeTemplateImage,
  type CapturedProviderRequest,
} from '../support/fakes/request.js';
import { makeJpeg, makePng } from '../support/images.js';

const FAST_RETRY: Partial<GeminiRetryOptions> = { noImageDelayMs: 50, backoffMs: 50, minAttemptMs: 100 };

describe('Gemini driver against the fake Gemini server', () => {
  let fake: GeminiFake;
  let photo: InputImage;
  let frame: TemplateImage;
  let driver: ProviderDriver;
  const captured: CapturedProviderRequest[] = [];

  // The fake serves what Google served on 2026-10-20 (gemini-3.1-flash-image until 2026-10-29),
  // whatever the real date; a test moves it across the shutdown.
  const fakeClock = new ShiftedClock().setDay('2026-10-20');
  beforeAll(async () => {
    fake = await startGeminiFake({ clock: fakeClock });
    photo = await writeInputImage(await makeJpeg({ width: 64, height: 48 }), 'image/jpeg');
    frame = await writeTemplateImage(await makePng({ width: 32, height: 32 }), 'image/png', 'reference');
    driver = createGeminiProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ gemini: fake.apiKey }),
      maxConcurrency: 2,
      retry: FAST_RETRY,
    });
  });
  afterAll(async () => {
    for (const c of captured) c.dispose();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.setBehaviour({ kind: 'image' });
  });

  function run(
    settings: Record<string, unknown>,
    options: { deadlineMs?: number; abortAtDeadline?: boolean; templates?: TemplateImage[]; d?: ProviderDriver } = {},
  ) {
    const c = makeProviderRequest({
      operation: 'edit',
      settings: { model: 'gemini-3.1-flash-lite-image', prompt: 'Make it a watercolour', ...settings },
      photo,
      templates: options.templates ?? [],
      deadlineMs: options.deadlineMs ?? 3000,
      ...(options.abortAtDeadline === undefined ? {} : { abortAtDeadline: options.abortAtDeadline }),
      // The driver reads the same fixed date as the fake it calls.
      clock: fakeClock,
    });
    captured.push(c);
    return { ...c, result: (options.d ?? driver).process(c.request) };
  }

  it('sends the exact wire format: key header, photo then templates as inline_data, text last, IMAGE modality, no imageSize the model does not offer', async () => {
    const { result, calls } = run({ aspect_ratio: '3:4', image_size: '2K' }, { templates: [frame] });
    const out = await result;
    expect(out.mime).toBe('image/png');
    expect(out.bytes.equals(RESULT_PNG)).toBe(true);
    expect(out.providerRef).toBe('fake-resp-1');
    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1beta/models/gemini-3.1-flash-lite-image:generateContent');
    expect(req.headers['x-goog-api-key']).toBe(fake.apiKey);
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers.authorization).toBeUndefined();
    const body = req.json as {
      contents: { role: string; parts: Record<string, { mime_type: string; data: string }>[] }[];
      generationConfig: Record<string, unknown>;
      safetySettings?: unknown;
    };
    expect(body.contents).toHaveLength(1);
    expect(body.contents[0]!.role).toBe('user');
    const parts = body.contents[0]!.parts;
    expect(parts).toHaveLength(3);
    expect(parts[0]!.inline_data!.mime_type).toBe('image/jpeg');
    expect(
      Buffer.from(parts[0]!.inline_data!.data, 'base64')
        .subarray(0, 3)
        .equals(Buffer.from([0xff, 0xd8, 0xff])),
    ).toBe(true);
    expect(parts[1]!.inline_data!.mime_type).toBe('image/png');
    expect(parts[2]).toEqual({ text: 'Make it a watercolour' });
    expect(body.generationConfig).toEqual({ responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:4' } });
    expect(body.safetySettings).toBeUndefined();
    expect(req.body.toString()).not.toContain('responseMimeType');
    expect(req.body.toString()).not.toContain('imageSize');
    expect(calls).toEqual([
      {
        provider: 'gemini',
        model: 'gemini-3.1-flash-lite-image',
        attempt: 1,
        durationMs: expect.any(Number),
        outcome: 'success',
        responseId: 'fake-resp-1',
        httpStatus: 200,
        detail: 'finishReason=STOP thought_images=2',
      },
    ]);
  });

  it('sends imageSize and safety settings to gemini-3-pro-image', async () => {
    const { result } = run({ model: 'gemini-3-pro-image', image_size: '2K', safety_threshold: 'BLOCK_ONLY_HIGH' });
    await result;
    const body = fake.requests[0]!.json as {
      generationConfig: Record<string, unknown>;
      safetySettings: { category: string; threshold: string }[];
    };
    expect(fake.requests[0]!.path).toBe('/v1beta/models/gemini-3-pro-image:generateContent');
    expect(body.generationConfig).toEqual({ responseModalities: ['IMAGE'], imageConfig: { imageSize: '2K' } });
    expect(body.safetySettings.map((s) => s.category)).toEqual([
      'HARM_CATEGORY_HARASSMENT',
      'HARM_CATEGORY_HATE_SPEECH',
      'HARM_CATEGORY_SEXUALLY_EXPLICIT',
      'HARM_CATEGORY_DANGEROUS_CONTENT',
    ]);
    expect(body.safetySettings.every((s) => s.threshold === 'BLOCK_ONLY_HIGH')).toBe(true);
  });

  it.each([
    // model, settings asked for, what must reach the API (only what the model's table entry allows)
    [
      'gemini-3.1-flash-lite-image',
      { image_size: '1K', aspect_ratio: '1:8', thinking_level: 'high' },
      { imageConfig: { aspectRatio: '1:8', imageSize: '1K' }, thinkingConfig: { thinkingLevel: 'high' } },
    ],
    ['gemini-3.1-flash-lite-image', { image_size: '4K' }, {}],
    [
      'gemini-nano-banana-2.1',
      { image_size: '4K', aspect_ratio: '4:1', thinking_level: 'minimal' },
      { imageConfig: { aspectRatio: '4:1', imageSize: '4K' }, thinkingConfig: { thinkingLevel: 'minimal' } },
    ],
    [
      'gemini-3-pro-image',
      { image_size: '4K', aspect_ratio: '1:8', thinking_level: 'high' },
      { imageConfig: { imageSize: '4K' } },
    ],
    [
      'gemini-3.1-flash-image',
      { image_size: '512', aspect_ratio: '8:1' },
      { imageConfig: { aspectRatio: '8:1', imageSize: '512' } },
    ],
  ] as const)(
    '%s: a booth photo is answered, with exactly the parameters the model takes (%j)',
    async (model, settings, expected) => {
      const { result } = run({ model, ...settings });
      expect((await result).bytes.equals(RESULT_PNG)).toBe(true);
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]!.path).toBe(`/v1beta/models/${model}:generateContent`);
      expect((fake.requests[0]!.json as { generationConfig: unknown }).generationConfig).toEqual({
        responseModalities: ['IMAGE'],
        ...expected,
      });
    },
  );

  it('sends the photo at the working size of the requested output (1536 px for 1K, 2048 for 2K), or the slot override', async () => {
    const big = await writeInputImage(await makeJpeg({ width: 3000, height: 2000 }), 'image/jpeg');
    const sentSide = async (settings: Record<string, unknown>) => {
      fake.requests.length = 0;
      const c = makeProviderRequest({
        operation: 'edit',
        settings: { prompt: 'p', ...settings },
        photo: big,
        templates: [],
        deadlineMs: 5000,
      });
      captured.push(c);
      await driver.process(c.request);
      const body = fake.requests[0]!.json as { contents: { parts: { inline_data?: { data: string } }[] }[] };
      const meta = await sharp(Buffer.from(body.contents[0]!.parts[0]!.inline_data!.data, 'base64')).metadata();
      return Math.max(meta.width!, meta.height!);
    };
    expect(await sentSide({ model: 'gemini-3.1-flash-lite-image' })).toBe(1536);
    expect(await sentSide({ model: 'gemini-nano-banana-2.1', image_size: '2K' })).toBe(2048);
    expect(await sentSide({ model: 'gemini-nano-banana-2.1', image_size: '4K' })).toBe(3000); // already under 3072: sent as it is
    expect(await sentSide({ model: 'gemini-nano-banana-2.1', image_size: '4K', input_max_side: 1024 })).toBe(1024);
  });

  it('a model Google no longer serves: 404 NOT_FOUND becomes model_unavailable at once (no retry), naming the slot and the replacement', async () => {
    const { result, calls } = run({ model: 'gemini-2.5-flash-image' });
    const failure = await rejectionOf(result);
    expect(failure).toBeInstanceOf(ProviderFailure);
    expect((failure as ProviderFailure).reason).toBe('model_unavailable');
    expect((failure as ProviderFailure).message).toBe(
      'The model gemini-2.5-flash-image no longer exists at Google (or this key cannot use it); switch slot-001 to gemini-nano-banana-2.1',
    );
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.outcome).toBe(404);
    expect(calls.map((c) => [c.outcome, c.httpStatus])).toEqual([['failure', 404]]);
  });

  it('gemini-3.1-flash-image is served until 2026-10-29, then unlisted and 404: model_unavailable naming Nano Banana 2.1', async () => {
    try {
      fakeClock.setDay('2026-10-28');
      expect((await run({ model: 'gemini-3.1-flash-image' }).result).bytes.equals(RESULT_PNG)).toBe(true);
      fakeClock.setDay('2026-10-29');
      const err = (await rejectionOf(run({ model: 'gemini-3.1-flash-image' }).result)) as ProviderFailure;
      expect(err.reason).toBe('model_unavailable');
      expect(err.message).toContain('gemini-nano-banana-2.1');
    } finally {
      fakeClock.setDay('2026-10-20');
    }
  });

  it('the fake refuses a field the API does not know, as the API does (so a request-builder slip fails here)', async () => {
    const send = (body: unknown) =>
      fetch(`${fake.baseUrl}/v1beta/models/gemini-3.1-flash-lite-image:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': fake.apiKey },
        body: JSON.stringify(body),
      });
    const contents = [{ role: 'user', parts: [{ text: 'x' }] }];
    const top = await send({ contents, responseModalities: ['IMAGE'] });
    expect(top.status).toBe(400);
    expect(((await top.json()) as { error: { message: string; status: string } }).error).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message: expect.stringContaining('Unknown name "responseModalities"'),
    });
    const nested = await send({
      contents,
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { imageSize: '1K', quality: 'hd' } },
    });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { error: { message: string } }).error.message).toContain('Unknown name "quality"');
    // What the driver builds passes.
    expect(
      (await send({ contents, generationConfig: { responseModalities: ['IMAGE'], imageConfig: { imageSize: '1K' } } }))
        .status,
    ).toBe(200);
  });

  it('lists the models of the key from GET /v1beta/models, every page', async () => {
    const lister = driver as unknown as ModelLister;
    fake.requests.length = 0;
    const models = await lister.listModels(AbortSignal.timeout(2000));
    expect(models.map((m) => m.id)).toEqual(
      expect.arrayContaining([
        'gemini-3.1-flash-lite-image',
        'gemini-nano-banana-2.1',
        'gemini-3-pro-image',
        'gemini-3.8-flash',
      ]),
    );
    // Only generateContent models: the embedding and :predict models are left out.
    expect(models.map((m) => m.id)).not.toContain('gemini-embedding-002');
    expect(models.map((m) => m.id)).not.toContain('imagen-5.0-generate-001');
    expect(
      fake.requests.every(
        (r) => r.method === 'GET' && r.path === '/v1beta/models' && r.headers['x-goog-api-key'] === fake.apiKey,
      ),
    ).toBe(true);
  });

  it('reads the image after a text part, in camelCase and in snake_case', async () => {
    fake.setBehaviour([
      { kind: 'image', textFirst: true },
      { kind: 'image', snakeCase: true, textFirst: true },
    ]);
    expect((await run({}).result).bytes.equals(RESULT_PNG)).toBe(true);
    expect((await run({}).result).bytes.equals(RESULT_PNG)).toBe(true);
    expect(fake.requests).toHaveLength(2);
  });

  it("Gemini 3's thought drafts are skipped: the last image not marked thought is the result, the drafts are counted with the call", async () => {
    // Two 1×1 drafts marked thought, then the final image (the fake's default for thinking models).
    const { result, calls } = run({});
    expect((await result).bytes.equals(RESULT_PNG)).toBe(true);
    expect(calls[0]!.detail).toBe('finishReason=STOP thought_images=2');
    // A model that does not think: no drafts, nothing counted.
    const plain = run({ model: 'gemini-3-pro-image' });
    expect((await plain.result).bytes.equals(RESULT_PNG)).toBe(true);
    expect(plain.calls[0]!.detail).toBe('finishReason=STOP');
  });

  it('an implausible image (a 1×1 draft not marked thought, a blank page) is invalid_response and retried', async () => {
    const blank = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    fake.setBehaviour([
      { kind: 'image', image: TINY_PNG, thoughts: 0 },
      { kind: 'image', image: blank, thoughts: 0 },
      { kind: 'image' },
    ]);
    const { result, calls } = run({});
    expect((await result).bytes.equals(RESULT_PNG)).toBe(true);
    expect(calls.map((c) => c.outcome)).toEqual(['retry', 'retry', 'success']);
    expect(calls[0]!.detail).toMatch(
      /^invalid_response: Gemini answered an implausible image: 1×1 px, far smaller than the 1024 px asked for/,
    );
    expect(calls[1]!.detail).toMatch(/one flat colour/);
    // Only drafts, no final image: no image (never a draft).
    const draft = { inlineData: { mimeType: 'image/png', data: TINY_PNG.toString('base64') }, thought: true };
    expect(() =>
      readGeminiAnswer({ candidates: [{ content: { parts: [draft, draft] }, finishReason: 'STOP' }] }, (d) =>
        Buffer.from(d, 'base64'),
      ),
    ).toThrow(expect.objectContaining({ reason: 'no_image' }));
  });

  it('retries NO_IMAGE after the pause and then succeeds, recording every attempt', async () => {
    fake.setBehaviour([{ kind: 'no_image' }, { kind: 'no_image', finishMessage: 'try again' }, { kind: 'image' }]);
    const { result, calls } = run({});
    const out = await result;
    expect(fake.requests).toHaveLength(3);
    expect(calls.map((c) => [c.attempt, c.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'success'],
    ]);
    expect(new Set(calls.map((c) => c.responseId)).size).toBe(3);
    expect(calls[2]!.responseId).toBe(out.providerRef);
    const gap = fake.requests[1]!.receivedAt - fake.requests[0]!.answeredAt!;
    expect(gap).toBeGreaterThanOrEqual(40);
  });

  it('gives up on NO_IMAGE forever before the deadline instead of sleeping across it', async () => {
    fake.setBehaviour({ kind: 'no_image', finishMessage: 'Unable to generate' });
    const slow = createGeminiProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ gemini: fake.apiKey }),
      maxConcurrency: 1,
      retry: { maxAttempts: 50, noImageDelayMs: 400, minAttemptMs: 200 },
    });
    const { result, calls, startedAt } = run({}, { deadlineMs: 1500, abortAtDeadline: false, d: slow });
    const err = await rejectionOf(result);
    expect(err).toBeInstanceOf(ProviderFailure);
    expect((err as ProviderFailure).reason).toBe('no_image');
    expect((err as ProviderFailure).message).toContain('Unable to generate');
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.length).toBeLessThanOrEqual(4);
    expect(calls.at(-1)!.outcome).toBe('failure');
    expect(calls.at(-1)!.detail).toContain('deadline');
  });

  it('stops after maxAttempts NO_IMAGE answers', async () => {
    fake.setBehaviour({ kind: 'no_image' });
    const err = await rejectionOf(run({}, { deadlineMs: 5000 }).result);
    expect((err as ProviderFailure).reason).toBe('no_image');
    expect(fake.requests).toHaveLength(5);
  });

  it.each([
    ['IMAGE_SAFETY', 'safety_block'],
    ['SAFETY', 'safety_block'],
    ['PROHIBITED_CONTENT', 'safety_block'],
    ['IMAGE_RECITATION', 'recitation'],
    ['IMAGE_OTHER', 'no_image'],
  ])('does not retry finishReason %s (%s) and shows finishMessage', async (finishReason, reason) => {
    fake.setBehaviour({ kind: 'finish', finishReason, finishMessage: 'The image depicts something we cannot draw' });
    const err = await rejectionOf(run({}).result);
    expect(err).toBeInstanceOf(ProviderFailure);
    expect((err as ProviderFailure).reason).toBe(reason);
    expect((err as ProviderFailure).message).toContain(finishReason);
    expect((err as ProviderFailure).message).toContain('The image depicts something we cannot draw');
    expect(fake.requests).toHaveLength(1);
  });

  it('reports STOP with only a text part as no_image with the model text', async () => {
    fake.setBehaviour({ kind: 'finish', finishReason: 'STOP', text: 'I cannot edit photos of people.' });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('no_image');
    expect(err.message).toContain('I cannot edit photos of people.');
    expect(fake.requests).toHaveLength(1);
  });

  it('maps empty candidates with promptFeedback.blockReason to a safety block', async () => {
    fake.setBehaviour({ kind: 'prompt_blocked', blockReason: 'PROHIBITED_CONTENT' });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('safety_block');
    expect(err.message).toContain('PROHIBITED_CONTENT');
    expect(fake.requests).toHaveLength(1);
  });

  it('retries 429 RESOURCE_EXHAUSTED honouring Retry-After, then succeeds', async () => {
    fake.setBehaviour([{ kind: 'error', status: 429, retryAfter: '1' }, { kind: 'image' }]);
    const slowBackoff = createGeminiProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ gemini: fake.apiKey }),
      maxConcurrency: 1,
      retry: { backoffMs: 5000, minAttemptMs: 100 },
    });
    const { result, calls } = run({}, { deadlineMs: 4000, d: slowBackoff });
    await result;
    const gap = fake.requests[1]!.receivedAt - fake.requests[0]!.answeredAt!;
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(2500);
    expect(calls.map((c) => [c.outcome, c.httpStatus])).toEqual([
      ['retry', 429],
      ['success', 200],
    ]);
  });

  it('gives up on 429 at once when Retry-After would cross the deadline', async () => {
    fake.setBehaviour({
      kind: 'error',
      status: 429,
      retryDelay: '30s',
      message: 'Quota exceeded for metric generate_content',
    });
    const { result, startedAt } = run({}, { deadlineMs: 2000 });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('rate_limited');
    expect(err.message).toContain('RESOURCE_EXHAUSTED');
    expect(fake.requests).toHaveLength(1);
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });

  it('retries 500 JSON and 503 HTML bodies, then succeeds', async () => {
    fake.setBehaviour([{ kind: 'error', status: 500 }, { kind: 'html', status: 503 }, { kind: 'image' }]);
    const { result, calls } = run({});
    await result;
    expect(calls.map((c) => [c.outcome, c.httpStatus])).toEqual([
      ['retry', 500],
      ['retry', 503],
      ['success', 200],
    ]);
  });

  it('surfaces a persistent HTML 503 readably, without markup', async () => {
    fake.setBehaviour({ kind: 'html', status: 503 });
    const err = (await rejectionOf(run({}, { deadlineMs: 1500 }).result)) as ProviderFailure;
    expect(err.reason).toBe('provider_unavailable');
    expect(err.message).toContain('overloaded');
    expect(err.message).not.toContain('<');
  });

  it('does not retry an HTML 502 (only 429/500/503 are retried)', async () => {
    fake.setBehaviour({ kind: 'html', status: 502 });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('provider_error');
    expect(fake.requests).toHaveLength(1);
  });

  it('fails on malformed JSON and on invalid base64 without retrying', async () => {
    fake.setBehaviour({ kind: 'malformed_json' });
    expect(((await rejectionOf(run({}).result)) as ProviderFailure).reason).toBe('invalid_response');
    fake.setBehaviour({ kind: 'invalid_base64' });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('invalid_response');
    expect(err.message).toContain('base64');
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a dropped connection', async () => {
    fake.setBehaviour([{ kind: 'drop' }, { kind: 'image' }]);
    const { result, calls } = run({});
    await result;
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]!.outcome).toBe('dropped');
    expect(calls[0]!.outcome).toBe('retry');
    expect(calls[0]!.detail).toContain('network_error');
  });

  it('maps 403 for a wrong key to auth_failed, and the key never reaches the logs', async () => {
    const wrongKey = 'AIzaWRONG-secret-key-123456';
    const d = createGeminiProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ gemini: wrongKey }),
      maxConcurrency: 1,
      retry: FAST_RETRY,
    });
    const { result, logLines, calls } = run({}, { d });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('auth_failed');
    expect(err.message).toContain('PERMISSION_DENIED');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.headers['x-goog-api-key']).toBe(wrongKey);
    expect(calls).toHaveLength(1);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(wrongKey);
    expect(err.message).not.toContain(wrongKey);
  });

  it('never logs the key or the base64 payloads of a successful call', async () => {
    const { result, logLines } = run({}, { templates: [frame] });
    const out = await result;
    const all = logLines.join('\n');
    expect(all).toContain(`"responseId":"${out.providerRef}"`);
    expect(all).toContain('usageMetadata');
    expect(all).not.toContain(fake.apiKey);
    const sent = (fake.requests[0]!.json as { contents: { parts: { inline_data?: { data: string } }[] }[] })
      .contents[0]!.parts[0]!.inline_data!.data;
    expect(all).not.toContain(sent.slice(0, 60));
    expect(all).not.toContain(RESULT_PNG.toString('base64').slice(0, 60));
  });

  it('an abort cancels the in-flight request at once: the fake sees the connection close', async () => {
    fake.setBehaviour({ kind: 'slow', delayMs: 10_000 });
    const { result, controller, calls } = run({}, { deadlineMs: 5000 });
    await eventually(() => fake.requests.length === 1);
    const t0 = Date.now();
    const reason = new Error('job finalized elsewhere');
    controller.abort(reason);
    const err = await rejectionOf(result);
    expect(err).toBe(reason);
    expect(err).not.toBeInstanceOf(ProviderFailure);
    expect(Date.now() - t0).toBeLessThan(500);
    await eventually(() => fake.requests[0]!.aborted);
    expect(calls.map((c) => c.outcome)).toEqual(['aborted']);
  });

  it('a slow answer past the deadline is aborted by the deadline signal', async () => {
    fake.setBehaviour({ kind: 'slow', delayMs: 10_000 });
    const { result, startedAt } = run({}, { deadlineMs: 800 });
    const err = await rejectionOf(result);
    expect(err).toBeInstanceOf(DeadlineAbort);
    expect(Date.now() - startedAt).toBeLessThan(1500);
    await eventually(() => fake.requests[0]!.aborted);
  });

  it('fails with provider_not_configured without a key, and readiness says so', async () => {
    const d = createGeminiProvider({ baseUrl: fake.baseUrl, keys: staticKeySource({}), maxConcurrency: 1 });
    expect(await d.readiness!({ publicBaseUrl: undefined })).toEqual({
      configured: false,
      reason: 'provider_not_configured',
    });
    expect(await driver.readiness!({ publicBaseUrl: undefined })).toEqual({ configured: true });
    const err = (await rejectionOf(run({}, { d }).result)) as ProviderFailure;
    expect(err.reason).toBe('provider_not_configured');
    expect(err.message).toBe('No API key configured for Gemini');
    expect(fake.requests).toHaveLength(0);
    expect(d.maxConcurrency).toBe(1);
  });
});
