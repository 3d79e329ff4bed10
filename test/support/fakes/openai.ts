/**
 * Fake OpenAI API as it is today (docs/providers.md): `GET /v1/models` (with `shutdown_date`),
 * `POST /v1/images/edits` (multipart): checks the bearer key (401 otherwise), answers a model it
 * does not serve exactly as the real API does (404 model_not_found), validates what the real API
 * validates per model (sizes, transparent background, `input_fidelity`, `response_format` refused,
 * at least one `image[]`), and plays the behaviours.
 */
import { BehaviourQueue, startFakeServer, RESULT_JPEG, RESULT_PNG, type FakeServer } from './common.js';
import { OPENAI_OTHER_LISTED, OPENAI_SERVED, openaiModelNotFound, servedAt } from './lifecycle.js';

export type OpenAIBehaviour =
  | { kind: 'image'; delayMs?: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'moderation' }
  | { kind: 'error'; status: number; code?: string | null; type?: string; message?: string; retryAfter?: string }
  | { kind: 'empty_data' }
  | { kind: 'missing_b64' }
  | { kind: 'drop' };

export interface OpenAIFake extends FakeServer {
  readonly apiKey: string;
  setBehaviour(b: OpenAIBehaviour | readonly OpenAIBehaviour[]): void;
}

const SIZES = ['1024x1024', '1536x1024', '1024x1536', 'auto'];

/**
 * Flexible sizes (GPT Image 2 and later), as the API checks them: both edges multiples of 16, the
 * longer at most 3840, the ratio within 1:3–3:1, and 655,360–8,294,400 pixels in all (512x512 and
 * 768x768 are below the floor; 2560x2560 is within).
 */
function flexibleSizeOk(size: string): boolean {
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) return false;
  const [w, h] = [Number(m[1]), Number(m[2])];
  const pixels = w * h;
  return (
    w % 16 === 0 &&
    h % 16 === 0 &&
    Math.max(w, h) <= 3840 &&
    Math.max(w, h) / Math.min(w, h) <= 3 &&
    pixels >= 655_360 &&
    pixels <= 8_294_400
  );
}

export async function startOpenAIFake(
  options: { apiKey?: string; initial?: OpenAIBehaviour; extraModels?: string[]; clock?: { now(): Date } } = {},
): Promise<OpenAIFake> {
  // Models past their shutdown date (by the fake's clock) are neither listed nor served.
  const now = () => options.clock?.now() ?? new Date();
  const served = (id: string) =>
    OPENAI_SERVED[id] && servedAt(OPENAI_SERVED[id].shutdownDate, now()) ? OPENAI_SERVED[id] : undefined;
  const apiKey = options.apiKey ?? 'sk-test-openai-key';
  const behaviours = new BehaviourQueue<OpenAIBehaviour>(options.initial ?? { kind: 'image' });
  let counter = 0;
  const err = (message: string, type: string, param: string | null, code: string | null) => ({
    error: { message, type, param, code },
  });
  const server = await startFakeServer(async (ctx) => {
    const requestId = `req_fake_${++counter}`;
    const headers = { 'x-request-id': requestId };
    const unauthorized = () =>
      ctx.json(
        401,
        err(
          'Incorrect API key provided: sk-***. You can find your API key at https://platform.openai.com/account/api-keys.',
          'invalid_request_error',
          null,
          'invalid_api_key',
        ),
        headers,
      );
    const extra = options.extraModels ?? [];
    if (ctx.record.method === 'GET' && ctx.record.path === '/v1/models') {
      if (ctx.req.headers.authorization !== `Bearer ${apiKey}`) return unauthorized();
      const ids = [...Object.keys(OPENAI_SERVED).filter((id) => served(id)), ...extra, ...OPENAI_OTHER_LISTED];
      return ctx.json(
        200,
        {
          object: 'list',
          data: ids.map((id) => ({
            id,
            object: 'model',
            created: 1776729600,
            owned_by: 'system',
            shutdown_date: OPENAI_SERVED[id]?.shutdownDate ?? null,
          })),
        },
        headers,
      );
    }
    if (ctx.record.method !== 'POST' || ctx.record.path !== '/v1/images/edits')
      return ctx.json(404, err('Not found', 'invalid_request_error', null, null), headers);
    if (ctx.req.headers.authorization !== `Bearer ${apiKey}`) return unauthorized();
    const parts = ctx.record.parts;
    if (!parts) return ctx.json(400, err('Expected multipart/form-data', 'invalid_request_error', null, null), headers);
    const field = (name: string) => parts.find((p) => p.name === name && p.value !== undefined)?.value;
    if (field('response_format') !== undefined)
      return ctx.json(
        400,
        err("Unknown parameter: 'response_format'.", 'invalid_request_error', 'response_format', 'unknown_parameter'),
        headers,
      );
    const model = field('model') ?? '';
    const caps =
      served(model) ??
      (extra.includes(model)
        ? { flexibleSize: false, transparent: false, inputFidelity: false, shutdownDate: null }
        : undefined);
    if (!caps) return ctx.json(404, { error: openaiModelNotFound(model) }, headers);
    const size = field('size');
    if (size !== undefined && !SIZES.includes(size) && !(caps.flexibleSize && flexibleSizeOk(size))) {
      return ctx.json(
        400,
        err(
          `Invalid value: '${size}'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.`,
          'invalid_request_error',
          'size',
          'invalid_value',
        ),
        headers,
      );
    }
    if (field('input_fidelity') !== undefined && !caps.inputFidelity) {
      return ctx.json(
        400,
        err(
          'input_fidelity is not supported for this model.',
          'invalid_request_error',
          'input_fidelity',
          'unsupported_parameter',
        ),
        headers,
      );
    }
    if (field('background') === 'transparent' && !caps.transparent) {
      return ctx.json(
        400,
        err(
          'Transparent background is not supported for this model.',
          'invalid_request_error',
          'background',
          'unsupported_value',
        ),
        headers,
      );
    }
    if (!parts.some((p) => p.name === 'image[]' && p.data))
      return ctx.json(
        400,
        err("Missing required parameter: 'image'.", 'invalid_request_error', 'image', 'missing_required_parameter'),
        headers,
      );
    const format = field('output_format') ?? 'png';
    const success = () =>
      ctx.json(
        200,
        {
          created: Math.floor(Date.now() / 1000),
          background: field('background') ?? 'opaque',
          output_format: format,
          quality: field('quality') ?? 'medium',
          size: size ?? '1024x1024',
          data: [{ b64_json: (format === 'jpeg' ? RESULT_JPEG : RESULT_PNG).toString('base64') }],
          usage: {
            input_tokens: 600,
            output_tokens: 1056,
            total_tokens: 1656,
            input_tokens_details: { image_tokens: 580, text_tokens: 20 },
          },
        },
        headers,
      );
    const b = behaviours.next();
    switch (b.kind) {
      case 'image':
        if (b.delayMs && !(await ctx.wait(b.delayMs))) return;
        return success();
      case 'slow':
        if (!(await ctx.wait(b.delayMs))) return;
        return success();
      case 'moderation':
        return ctx.json(
          400,
          err(
            'Your request was rejected as a result of our safety system. Your request may contain content that is not allowed by our safety system.',
            'image_generation_user_error',
            null,
            'moderation_blocked',
          ),
          headers,
        );
      case 'error':
        return ctx.json(
          b.status,
          err(
            b.message ?? `fake ${b.status}`,
            b.type ?? (b.status === 429 ? 'requests' : 'server_error'),
            null,
            b.code ?? null,
          ),
          {
            ...headers,
            ...(b.retryAfter ? { 'retry-after': b.retryAfter } : {}),
          },
        );
      case 'empty_data':
        return ctx.json(200, { created: 1, data: [], usage: {} }, headers);
      case 'missing_b64':
        return ctx.json(200, { created: 1, data: [{ revised_prompt: 'x' }], usage: {} }, headers);
      case 'drop':
        return ctx.drop();
    }
  });
  return { ...server, apiKey, setBehaviour: (b) => behaviours.set(b) };
}
