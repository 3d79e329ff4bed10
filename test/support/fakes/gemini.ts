/**
 * Fake Gemini API as it is today (docs/providers.md): `GET /v1beta/models` lists the models the
 * key can use (paginated), `generateContent` checks the key (403 PERMISSION_DENIED otherwise),
 * answers a model it does not serve exactly as the real API does (404 NOT_FOUND), rejects what the
 * real API rejects (an imageSize or aspect ratio the model does not offer, thinking on a model
 * without levels, responseMimeType image/*) with 400 INVALID_ARGUMENT, and plays the configured
 * behaviours.
 */
import {
  BehaviourQueue,
  startFakeServer,
  RESULT_PNG,
  TINY_PNG,
  type FakeServer,
  type RecordedRequest,
} from './common.js';
import {
  GEMINI_EXTENDED_RATIOS,
  GEMINI_OTHER_LISTED,
  GEMINI_SERVED,
  geminiModelNotFound,
  servedAt,
} from './lifecycle.js';

export type GeminiBehaviour =
  /** An image in camelCase `inlineData` (or snake_case), optionally after a text part, optionally late. */
  | {
      kind: 'image';
      textFirst?: boolean;
      snakeCase?: boolean;
      mime?: string;
      image?: Buffer;
      delayMs?: number;
      thoughts?: number;
    }
  /** Answers only after `delayMs` (past the deadline); records the client's abort. */
  | { kind: 'slow'; delayMs: number }
  | { kind: 'no_image'; finishMessage?: string }
  /** Any other finishReason without an image (IMAGE_SAFETY, SAFETY, STOP with only text, …). */
  | { kind: 'finish'; finishReason: string; finishMessage?: string; text?: string }
  | { kind: 'prompt_blocked'; blockReason: string }
  | { kind: 'error'; status: number; apiStatus?: string; message?: string; retryAfter?: string; retryDelay?: string }
  | { kind: 'html'; status: number }
  | { kind: 'malformed_json' }
  | { kind: 'invalid_base64' }
  | { kind: 'drop' };

export interface GeminiFake extends FakeServer {
  readonly apiKey: string;
  setBehaviour(b: GeminiBehaviour | readonly GeminiBehaviour[]): void;
  /** Requests to generateContent (excluding nothing: every request is recorded). */
  requests: RecordedRequest[];
  /** Models Google stops serving from now on (answered 404 NOT_FOUND, no longer listed). */
  withdrawn: Set<string>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const PATH = /^\/v1beta\/models\/([^/:]+):generateContent$/;

/**
 * The fields generateContent knows (the REST reference's GenerateContentRequest and the parts of it
 * the driver may send): the real API answers any other name with 400 "Unknown name", so a
 * request-builder mistake shows up in tests.
 */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': ['contents', 'generationConfig', 'safetySettings', 'systemInstruction', 'tools', 'toolConfig', 'cachedContent'],
  generationConfig: [
    'responseModalities',
    'imageConfig',
    'thinkingConfig',
    'temperature',
    'topP',
    'topK',
    'candidateCount',
    'maxOutputTokens',
    'seed',
    'responseMimeType',
    'stopSequences',
  ],
  'generationConfig.imageConfig': ['aspectRatio', 'imageSize'],
  'generationConfig.thinkingConfig': ['thinkingLevel', 'thinkingBudget', 'includeThoughts'],
};

function unknownField(body: Record<string, unknown>): string | undefined {
  for (const [path, known] of Object.entries(KNOWN_FIELDS)) {
    const node =
      path === ''
        ? body
        : path
            .split('.')
            .reduce<unknown>(
              (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
              body,
            );
    if (!node || typeof node !== 'object') continue;
    const extra = Object.keys(node).find((k) => !known.includes(k));
    if (extra) return path === '' ? extra : `${path}.${extra}`;
  }
  return undefined;
}

export interface GeminiFakeOptions {
  apiKey?: string;
  initial?: GeminiBehaviour;
  /** Extra image models this key can use beyond today's (a model newer than the driver's table). */
  extraModels?: string[];
  /** The fake's date for model shutdowns (default: real time). */
  clock?: { now(): Date };
}

export async function startGeminiFake(options: GeminiFakeOptions = {}): Promise<GeminiFake> {
  const apiKey = options.apiKey ?? 'test-gemini-key';
  const behaviours = new BehaviourQueue<GeminiBehaviour>(options.initial ?? { kind: 'image' });
  let counter = 0;
  const error = (status: number, message: string, apiStatus?: string) => ({
    error: { code: status, message, status: apiStatus ?? STATUS_NAMES[status] ?? 'UNKNOWN', details: [] as unknown[] },
  });
  const extra = options.extraModels ?? [];
  const withdrawn = new Set<string>();
  const now = () => options.clock?.now() ?? new Date();
  const served = (model: string) =>
    withdrawn.has(model) || !servedAt(GEMINI_SERVED[model]?.shutdownDate, now())
      ? undefined
      : (GEMINI_SERVED[model] ??
        (extra.includes(model) ? { imageSizes: [], extendedRatios: false, thinking: false } : undefined));
  const listing = () =>
    [
      ...[...Object.keys(GEMINI_SERVED).filter((id) => servedAt(GEMINI_SERVED[id]?.shutdownDate, now())), ...extra].map(
        (id) => ({ id, methods: ['generateContent', 'countTokens', 'batchGenerateContent'] }),
      ),
      ...GEMINI_OTHER_LISTED,
    ]
      .filter((m) => !withdrawn.has(m.id))
      .map((m) => ({
        name: `models/${m.id}`,
        version: '001',
        displayName: m.id.replace(/-/g, ' '),
        supportedGenerationMethods: m.methods,
        inputTokenLimit: 65536,
        outputTokenLimit: 32768,
      }));
  const server = await startFakeServer(async (ctx) => {
    const authorized = ctx.req.headers['x-goog-api-key'] === apiKey;
    const denied = () =>
      ctx.json(
        403,
        error(
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        ),
      );
    if (ctx.record.method === 'GET' && ctx.record.path === '/v1beta/models') {
      if (!authorized) return denied();
      const query = new URL(ctx.record.url, 'http://x').searchParams;
      const size = Math.min(Number(query.get('pageSize') ?? 50) || 50, 1000);
      const start = Number(query.get('pageToken') ?? 0) || 0;
      const all = listing();
      const page = all.slice(start, start + size);
      return ctx.json(200, {
        models: page,
        ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
      });
    }
    const match = PATH.exec(ctx.record.path);
    if (ctx.record.method !== 'POST' || !match) return ctx.json(404, error(404, 'Not found'));
    if (!authorized) return denied();
    const model = decodeURIComponent(match[1] ?? '');
    const caps = served(model);
    if (!caps) return ctx.json(404, { error: geminiModelNotFound(model) });
    const body = ctx.record.json as
      | {
          generationConfig?: {
            responseMimeType?: string;
            imageConfig?: { imageSize?: string; aspectRatio?: string };
            thinkingConfig?: { thinkingLevel?: string };
          };
        }
      | undefined;
    if (!body) return ctx.json(400, error(400, 'Invalid JSON payload received.'));
    const unknown = unknownField(body as Record<string, unknown>);
    if (unknown) {
      const [parent, name] = unknown.includes('.')
        ? [unknown.slice(0, unknown.lastIndexOf('.')), unknown.slice(unknown.lastIndexOf('.') + 1)]
        : ['', unknown];
      return ctx.json(
        400,
        error(
          400,
          `Invalid JSON payload received. Unknown name "${name}"${parent ? ` at '${parent.replace(/\./g, '.')}'` : ''}: Cannot find field.`,
        ),
      );
    }
    const config = body.generationConfig;
    if (config?.responseMimeType?.startsWith('image/')) {
      return ctx.json(
        400,
        error(400, 'response_mime_type: allowed mimetypes are `text/plain`, `application/json`, ...'),
      );
    }
    const imageSize = config?.imageConfig?.imageSize;
    if (imageSize !== undefined && !caps.imageSizes.includes(imageSize)) {
      return ctx.json(400, error(400, `Image size ${imageSize} is not supported for this model.`));
    }
    const ratio = config?.imageConfig?.aspectRatio;
    if (ratio !== undefined && GEMINI_EXTENDED_RATIOS.includes(ratio) && !caps.extendedRatios) {
      return ctx.json(400, error(400, `Aspect ratio ${ratio} is not supported for this model.`));
    }
    if (config?.thinkingConfig !== undefined && !caps.thinking) {
      return ctx.json(400, error(400, 'Thinking level is not supported for this model.'));
    }
    const responseId = `fake-resp-${++counter}`;
    const b = behaviours.next();
    const candidate = (parts: unknown[] | undefined, finishReason: string, finishMessage?: string) => ({
      candidates: [
        {
          ...(parts ? { content: { role: 'model', parts } } : {}),
          finishReason,
          ...(finishMessage ? { finishMessage } : {}),
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 1290, candidatesTokenCount: 1290, totalTokenCount: 2580 },
      modelVersion: model,
      responseId,
    });
    switch (b.kind) {
      case 'image': {
        if (b.delayMs && !(await ctx.wait(b.delayMs))) return;
        const data = (b.image ?? RESULT_PNG).toString('base64');
        const mime = b.mime ?? 'image/png';
        const imagePart = b.snakeCase
          ? { inline_data: { mime_type: mime, data } }
          : { inlineData: { mimeType: mime, data } };
        // Gemini 3 image models think first: up to two interim drafts (1×1 here) marked thought.
        const thoughts = Array.from({ length: b.thoughts ?? (caps.thinking ? 2 : 0) }, (_, i) => [
          { text: `Draft ${i + 1}: composing the scene.`, thought: true },
          { inlineData: { mimeType: 'image/png', data: TINY_PNG.toString('base64') }, thought: true },
        ]).flat();
        const parts = [
          ...thoughts,
          ...(b.textFirst ? [{ text: 'Here is your edited photo.' }, imagePart] : [imagePart]),
        ];
        return ctx.json(200, candidate(parts, 'STOP'));
      }
      case 'slow':
        if (!(await ctx.wait(b.delayMs))) return;
        return ctx.json(
          200,
          candidate([{ inlineData: { mimeType: 'image/png', data: RESULT_PNG.toString('base64') } }], 'STOP'),
        );
      case 'no_image':
        if (!(await ctx.wait(20))) return;
        return ctx.json(200, candidate(undefined, 'NO_IMAGE', b.finishMessage));
      case 'finish':
        return ctx.json(200, candidate(b.text ? [{ text: b.text }] : undefined, b.finishReason, b.finishMessage));
      case 'prompt_blocked':
        return ctx.json(200, {
          promptFeedback: { blockReason: b.blockReason },
          usageMetadata: { promptTokenCount: 10, totalTokenCount: 10 },
          modelVersion: model,
          responseId,
        });
      case 'error': {
        const e = error(b.status, b.message ?? `fake ${b.status}`, b.apiStatus);
        if (b.retryDelay)
          e.error.details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: b.retryDelay });
        return ctx.json(b.status, e, b.retryAfter ? { 'retry-after': b.retryAfter } : {});
      }
      case 'html':
        return ctx.text(
          b.status,
          `<html><head><title>${b.status} Service Unavailable</title></head><body><h1>Error ${b.status}</h1><p>The server is overloaded.</p></body></html>`,
          'text/html',
        );
      case 'malformed_json':
        return ctx.text(
          200,
          '{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBOR',
          'application/json',
        );
      case 'invalid_base64':
        return ctx.json(200, candidate([{ inlineData: { mimeType: 'image/png', data: '!!!not*base64###' } }], 'STOP'));
      case 'drop':
        return ctx.drop();
    }
  });
  return { ...server, apiKey, withdrawn, setBehaviour: (b) => behaviours.set(b) };
}
