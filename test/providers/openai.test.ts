import { ShiftedClock } from '../support/clock.js';
import { openaiCapabilities, openaiSizeProblem } from '../../src/providers/openai/models.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticKeySource } from '../../src/providers/keys.js';
import type { ModelLister } from '../../src/providers/models.js';
import { createOpenAIProvider } from '../../src/providers/openai/driver.js';
import {
  ProviderFailure,
  type InputImage,
  type ProviderDriver,
  type TemplateImage,
} from '../../src/providers/types.js';
import { RESULT_JPEG, RESULT_PNG } from '../support/fakes/common.js';
import { startOpenAIFake, type OpenAIFake } from '../support/fakes/openai.js';
import {
  eventually,
  makeProviderRequest,
  rejectionOf,
  writeInputImage,
  writeTemplateImage,
  type CapturedProviderRequest,
} from '../support/fakes/request.js';
import { makeJpeg, makePng } from '../support/images.js';

describe('OpenAI GPT Image driver against the fake OpenAI server', () => {
  let fake: OpenAIFake;
  let photo: InputImage;
  let reference: TemplateImage;
  let driver: ProviderDriver;
  const captured: CapturedProviderRequest[] = [];

  // The fake serves what OpenAI served on 2026-10-20 (gpt-image-1 until 2026-10-23, gpt-image-1.5
  // until 2026-12-01), whatever the real date; a test moves it across a shutdown.
  const fakeClock = new ShiftedClock().setDay('2026-10-20');
  beforeAll(async () => {
    fake = await startOpenAIFake({ clock: fakeClock });
    photo = await writeInputImage(await makeJpeg({ width: 64, height: 48 }), 'image/jpeg');
    reference = await writeTemplateImage(await makePng({ width: 32, height: 32 }), 'image/png', 'reference');
    driver = createOpenAIProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ openai: fake.apiKey }),
      maxConcurrency: 3,
      retry: { backoffMs: 50, minAttemptMs: 100 },
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
      settings: {
        model: 'gpt-image-2',
        prompt: 'Turn the guests into astronauts',
        size: 'auto',
        quality: 'low',
        output_format: 'jpeg',
        ...settings,
      },
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

  it('sends multipart with repeated image[] parts (photo first), the options, and no response_format', async () => {
    const { result, calls } = run(
      {
        model: 'gpt-image-1',
        size: '1024x1536',
        quality: 'high',
        output_compression: 80,
        background: 'opaque',
        input_fidelity: 'high',
      },
      { templates: [reference] },
    );
    const out = await result;
    expect(out.mime).toBe('image/jpeg');
    expect(out.bytes.equals(RESULT_JPEG)).toBe(true);
    expect(out.providerRef).toBe('req_fake_1');
    const req = fake.requests[0]!;
    expect(req.path).toBe('/v1/images/edits');
    expect(req.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    // Built and sent by the official SDK (its retries off: one request per attempt).
    expect(req.headers['user-agent']).toMatch(/^OpenAI\/JS /);
    expect(req.parts!.map((p) => p.name)).toEqual([
      'model',
      'prompt',
      'image[]',
      'image[]',
      'size',
      'quality',
      'output_format',
      'output_compression',
      'background',
      'input_fidelity',
    ]);
    const value = (name: string) => req.parts!.find((p) => p.name === name)?.value;
    expect(value('model')).toBe('gpt-image-1');
    expect(value('prompt')).toBe('Turn the guests into astronauts');
    expect(value('size')).toBe('1024x1536');
    expect(value('quality')).toBe('high');
    expect(value('output_format')).toBe('jpeg');
    expect(value('output_compression')).toBe('80');
    expect(value('input_fidelity')).toBe('high');
    const images = req.parts!.filter((p) => p.name === 'image[]');
    expect(images[0]).toMatchObject({ filename: 'photo.jpg', contentType: 'image/jpeg' });
    expect(images[0]!.data!.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
    expect(images[1]).toMatchObject({ filename: 'template-1.png', contentType: 'image/png' });
    expect(req.parts!.some((p) => p.name === 'response_format' || p.name === 'image')).toBe(false);
    expect(calls).toEqual([
      {
        provider: 'openai',
        model: 'gpt-image-1',
        attempt: 1,
        durationMs: expect.any(Number),
        outcome: 'success',
        responseId: 'req_fake_1',
        httpStatus: 200,
      },
    ]);
  });

  it('drops input_fidelity for gpt-image-2 (it decides itself) and output_compression for png; the MIME follows output_format', async () => {
    const out = await run({
      model: 'gpt-image-2',
      input_fidelity: 'high',
      output_format: 'png',
      output_compression: 50,
    }).result;
    expect(out.mime).toBe('image/png');
    expect(out.bytes.equals(RESULT_PNG)).toBe(true);
    const names = fake.requests[0]!.parts!.map((p) => p.name);
    expect(names).toEqual(['model', 'prompt', 'image[]', 'size', 'quality', 'output_format']);
  });

  it('does not retry a moderation refusal and says so', async () => {
    fake.setBehaviour({ kind: 'moderation' });
    const { result, calls } = run({});
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err).toBeInstanceOf(ProviderFailure);
    expect(err.reason).toBe('moderation_blocked');
    expect(err.message).toContain('safety system');
    expect(fake.requests).toHaveLength(1);
    expect(calls.map((c) => [c.outcome, c.httpStatus, c.responseId])).toEqual([
      ['failure', 400, expect.stringMatching(/^req_fake_\d+$/)],
    ]);
  });

  it('reports a 400 for a parameter as bad_request naming it', async () => {
    fake.setBehaviour({
      kind: 'error',
      status: 400,
      code: 'invalid_value',
      type: 'invalid_request_error',
      message: "Invalid value: '999x999'. Supported values are: 'auto'.",
    });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('bad_request');
    expect(err.message).toContain('999x999');
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    // model, settings asked for, fields that must reach the API (only what the model's table entry allows)
    [
      'gpt-image-2',
      { size: '2048x1152', background: 'transparent', input_fidelity: 'high', output_format: 'png' },
      { size: '2048x1152' },
    ],
    [
      'gpt-image-2.6-sunburst',
      { size: '3840x2160', background: 'transparent', output_format: 'webp' },
      { size: '3840x2160', background: 'transparent' },
    ],
    ['gpt-image-2.6-flare', { size: '1024x1536', background: 'opaque' }, { size: '1024x1536', background: 'opaque' }],
    ['gpt-image-2.5-sunburst', { size: '1536x1024' }, { size: '1536x1024' }],
    ['gpt-image-1', { size: '2048x1152', input_fidelity: 'high' }, { size: 'auto', input_fidelity: 'high' }],
  ] as const)(
    '%s: a booth photo is answered, with exactly the parameters the model takes (%j)',
    async (model, settings, expected) => {
      const out = await run({ model, ...settings }).result;
      expect(out.bytes.length).toBeGreaterThan(0);
      const req = fake.requests[0]!;
      const value = (name: string) => req.parts!.find((p) => p.name === name)?.value;
      expect(value('model')).toBe(model);
      expect(value('size')).toBe(expected.size);
      expect(value('background')).toBe('background' in expected ? expected.background : undefined);
      expect(value('input_fidelity')).toBe('input_fidelity' in expected ? expected.input_fidelity : undefined);
    },
  );

  it.each([
    // size, accepted by the table (and by the fake, as by the API)?
    ['2560x2560', true], // 6,553,600 px: within the budget, edges within 3840
    ['3840x2160', true],
    ['1024x640', true], // exactly the 655,360-pixel floor
    ['512x512', false], // below the floor
    ['768x768', false], // below the floor
    ['3840x2880', false], // 11,059,200 px: over the budget
    ['4096x1024', false], // an edge over 3840
    ['3072x768', false], // a 4:1 ratio
    ['1000x1000', false], // not multiples of 16
  ] as const)('GPT Image 2 custom size %s is accepted: %s, by the table and by the API alike', async (size, ok) => {
    expect(openaiSizeProblem(openaiCapabilities('gpt-image-2'), size) === undefined).toBe(ok);
    // The fake answers as the API does: the size sent as is (the driver would send auto for a size its table refuses).
    const fakeAnswer = await fetch(`${fake.baseUrl}/v1/images/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}` },
      body: (() => {
        const form = new FormData();
        form.append('model', 'gpt-image-2');
        form.append('prompt', 'x');
        form.append('size', size);
        form.append('image[]', new Blob([new Uint8Array(RESULT_PNG)], { type: 'image/png' }), 'a.png');
        return form;
      })(),
    });
    expect(fakeAnswer.status === 200).toBe(ok);
  });

  it('a model OpenAI no longer serves: 404 model_not_found becomes model_unavailable at once (no retry), naming the slot and the replacement', async () => {
    const { result, calls } = run({ model: 'dall-e-3' });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('model_unavailable');
    expect(err.message).toBe(
      'The model dall-e-3 no longer exists at OpenAI (or this key cannot use it); switch slot-001 to gpt-image-2',
    );
    expect(fake.requests).toHaveLength(1);
    expect(calls.map((c) => [c.outcome, c.httpStatus])).toEqual([['failure', 404]]);
  });

  it('lists the models of the key from GET /v1/models with their shutdown dates', async () => {
    const lister = driver as unknown as ModelLister;
    const models = await lister.listModels(AbortSignal.timeout(2000));
    expect(models).toEqual(
      expect.arrayContaining([
        { id: 'gpt-image-2' },
        { id: 'gpt-image-1', shutdownDate: '2026-10-23' },
        { id: 'gpt-image-1.5', shutdownDate: '2026-12-01' },
        { id: 'gpt-5.5' },
      ]),
    );
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', '/v1/models', `Bearer ${fake.apiKey}`],
    ]);
  });

  it('on its shutdown day a model is neither listed nor served: model_unavailable at once, naming the replacement', async () => {
    try {
      fakeClock.setDay('2026-10-22');
      expect((await run({ model: 'gpt-image-1' }).result).bytes.length).toBeGreaterThan(0);
      fakeClock.setDay('2026-10-23');
      const lister = driver as unknown as ModelLister;
      expect((await lister.listModels(AbortSignal.timeout(2000))).map((m) => m.id)).not.toContain('gpt-image-1');
      const { result, calls } = run({ model: 'gpt-image-1' });
      const err = (await rejectionOf(result)) as ProviderFailure;
      expect(err.reason).toBe('model_unavailable');
      expect(err.message).toContain('gpt-image-2.6-sunburst');
      expect(calls).toHaveLength(1);
    } finally {
      fakeClock.setDay('2026-10-20');
    }
  });

  it("an unverified organization's 403 has its own reason and says what to do (not a rejected key)", async () => {
    fake.setBehaviour({
      kind: 'error',
      status: 403,
      code: null,
      type: 'invalid_request_error',
      message:
        'Your organization must be verified to use the model `gpt-image-2`. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just verified, it can take up to 15 minutes for access to propagate.',
    });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('organization_unverified');
    expect(err.message).toContain('Settings → Organization → General');
    fake.setBehaviour({
      kind: 'error',
      status: 403,
      code: null,
      type: 'invalid_request_error',
      message: 'You are not allowed to sample from this model',
    });
    expect(((await rejectionOf(run({}).result)) as ProviderFailure).reason).toBe('auth_failed');
  });

  it('sends no OpenAI-Organization or OpenAI-Project header, whatever the server environment holds', async () => {
    const saved = { org: process.env.OPENAI_ORG_ID, project: process.env.OPENAI_PROJECT_ID };
    process.env.OPENAI_ORG_ID = 'org-from-the-environment';
    process.env.OPENAI_PROJECT_ID = 'proj-from-the-environment';
    try {
      await run({}).result;
      const headers = fake.requests.at(-1)!.headers;
      expect(headers['openai-organization']).toBeUndefined();
      expect(headers['openai-project']).toBeUndefined();
    } finally {
      if (saved.org === undefined) delete process.env.OPENAI_ORG_ID;
      else process.env.OPENAI_ORG_ID = saved.org;
      if (saved.project === undefined) delete process.env.OPENAI_PROJECT_ID;
      else process.env.OPENAI_PROJECT_ID = saved.project;
    }
  });

  it('maps 401 to auth_failed and never logs the key', async () => {
    const wrong = 'sk-proj-WRONGsecretKEY0123456789';
    const d = createOpenAIProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ openai: wrong }),
      maxConcurrency: 1,
    });
    const { result, logLines } = run({}, { d });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('auth_failed');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${wrong}`);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(wrong);
  });

  it('retries 429 honouring Retry-After', async () => {
    fake.setBehaviour([
      { kind: 'error', status: 429, retryAfter: '1', message: 'Rate limit reached for images per minute' },
      { kind: 'image' },
    ]);
    const { result, calls } = run({}, { deadlineMs: 4000 });
    await result;
    const gap = fake.requests[1]!.receivedAt - fake.requests[0]!.answeredAt!;
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(calls.map((c) => [c.outcome, c.httpStatus])).toEqual([
      ['retry', 429],
      ['success', 200],
    ]);
  });

  it('retries 429 without Retry-After using its own short backoff', async () => {
    fake.setBehaviour([{ kind: 'error', status: 429 }, { kind: 'image' }]);
    const { result } = run({});
    await result;
    const gap = fake.requests[1]!.receivedAt - fake.requests[0]!.answeredAt!;
    expect(gap).toBeGreaterThanOrEqual(40);
    expect(gap).toBeLessThan(900);
  });

  it('does not retry an exhausted quota', async () => {
    fake.setBehaviour({
      kind: 'error',
      status: 429,
      code: 'insufficient_quota',
      type: 'insufficient_quota',
      message: 'You exceeded your current quota',
    });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('quota_exceeded');
    expect(fake.requests).toHaveLength(1);
  });

  it('bounds 429/503 retries by the deadline', async () => {
    fake.setBehaviour({ kind: 'error', status: 503 });
    const d = createOpenAIProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ openai: fake.apiKey }),
      maxConcurrency: 1,
      retry: { maxAttempts: 100, backoffMs: 300, minAttemptMs: 200 },
    });
    const { result, startedAt, calls } = run({}, { d, deadlineMs: 1500, abortAtDeadline: false });
    const err = (await rejectionOf(result)) as ProviderFailure;
    expect(err.reason).toBe('provider_unavailable');
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.length).toBeLessThanOrEqual(5);
    expect(calls.at(-1)!.detail).toContain('deadline');
  });

  it('retries a 500, then succeeds', async () => {
    fake.setBehaviour([{ kind: 'error', status: 500 }, { kind: 'image' }]);
    await run({}).result;
    expect(fake.requests).toHaveLength(2);
  });

  it('fails on empty data and on a missing b64_json', async () => {
    fake.setBehaviour({ kind: 'empty_data' });
    expect(((await rejectionOf(run({}).result)) as ProviderFailure).reason).toBe('no_image');
    fake.setBehaviour({ kind: 'missing_b64' });
    const err = (await rejectionOf(run({}).result)) as ProviderFailure;
    expect(err.reason).toBe('invalid_response');
    expect(err.message).toContain('b64_json');
    expect(fake.requests).toHaveLength(2);
  });

  it('an abort closes the connection to the fake at once', async () => {
    fake.setBehaviour({ kind: 'slow', delayMs: 10_000 });
    const { result, controller } = run({}, { deadlineMs: 5000 });
    await eventually(() => fake.requests.length === 1);
    const reason = new DOMException('stop', 'AbortError');
    controller.abort(reason);
    expect(await rejectionOf(result)).toBe(reason);
    await eventually(() => fake.requests[0]!.aborted);
  });

  it('without a key: provider_not_configured and readiness false', async () => {
    const d = createOpenAIProvider({
      baseUrl: fake.baseUrl,
      keys: staticKeySource({ openai: '  ' }),
      maxConcurrency: 1,
    });
    const err = (await rejectionOf(run({}, { d }).result)) as ProviderFailure;
    expect(err.reason).toBe('provider_not_configured');
    expect(err.message).toBe('No API key configured for OpenAI');
    expect(await d.readiness!({ publicBaseUrl: undefined })).toEqual({
      configured: false,
      reason: 'provider_not_configured',
    });
    expect(fake.requests).toHaveLength(0);
  });
});
