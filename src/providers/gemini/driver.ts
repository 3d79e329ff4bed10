/**
 * Gemini image editing over `generateContent` (docs/providers.md).
 *
 * Plain fetch rather than @google/genai. The SDK lets us set the base URL and pass an abort signal,
 * but unlike the OpenAI SDK (src/providers/openai/driver.ts) it accepts no transport: its
 * generateContent calls go to the global fetch, and a failed call reaches us as ApiError(status,
 * message) — the response headers (Retry-After), the raw body of an HTML error page and the
 * difference between a truncated body and invalid base64 are gone, and those drive the failure
 * policy (retry or not, the reason the admin reads). Keeping them would mean patching the global
 * fetch of the whole process. One POST with a JSON body is simpler to own and to assert in tests.
 */
import { checkPlausibleImage } from '../plausibility.js';
import { sniffImageMime } from '../../media/mime.js';
import { PHOTO_INPUT, prepareInputs, REFERENCE_TEMPLATE_KEYS } from '../inputs.js';
import {
  bodyExcerpt,
  maskSecrets,
  parseJson,
  parseJsonWithInlineData,
  parseRetryAfter,
  ProviderCallFailure,
  fetchModelList,
  sendRequest,
  withRetries,
  type CallMeta,
  type FetchLike,
  type RetryPolicy,
} from '../http.js';
import { hasKey, requireKey, requireKeyAlongside, type ProviderKeySource } from '../keys.js';
import {
  ProviderFailure,
  type OperationDescriptor,
  type ProviderDriver,
  type ProviderRequest,
  type ProviderResult,
} from '../types.js';
import { modelUnavailable, type LiveModelEntry, type ModelLister } from '../models.js';
import { GEMINI_MODEL_TABLE, geminiCapabilities, geminiInputSide } from './models.js';
import {
  checkGeminiSettings,
  GEMINI_HARM_CATEGORIES,
  GeminiEditSettingsSchema,
  type GeminiEditSettings,
} from './settings.js';
import { GEMINI_LABELS } from './labels.js';

const PROVIDER = 'gemini';
const TITLE = 'Gemini';

/** What Gemini accepts inline. */
export const GEMINI_INPUT_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif'] as const;
/**
 * Our budget for all inline images of one request. Gemini accepts 100 MB inline since January 2026;
 * ours stays at 14 MB (about 19 MB as base64) because a venue's 4G uplink is the real limit.
 */
const INLINE_BUDGET_BYTES = 14 * 1024 * 1024;

export interface GeminiRetryOptions {
  maxAttempts: number;
  /** Pause after NO_IMAGE (production: 3 s). */
  noImageDelayMs: number;
  /** First pause after 429/500/503 and network resets (doubles, capped at 4×). */
  backoffMs: number;
  /** Do not start an attempt with less than this left before the deadline. */
  minAttemptMs: number;
}

export const DEFAULT_GEMINI_RETRY: GeminiRetryOptions = {
  maxAttempts: 5,
  noImageDelayMs: 3000,
  backoffMs: 1000,
  minAttemptMs: 1500,
};

export interface GeminiProviderOptions {
  baseUrl: string;
  keys: ProviderKeySource;
  maxConcurrency: number;
  fetch?: FetchLike;
  retry?: Partial<GeminiRetryOptions>;
}

export const GEMINI_OPERATIONS: readonly OperationDescriptor[] = [
  {
    id: 'edit',
    title: 'Edit with Gemini',
    description:
      'The photo (then the optional reference images) and the prompt go to a Gemini image model; it answers one image.',
    settingsSchema: GeminiEditSettingsSchema,
    ...PHOTO_INPUT,
    templateKeys: REFERENCE_TEMPLATE_KEYS,
    checkSettings: (settings, context) => checkGeminiSettings(settings as GeminiEditSettings, context),
  },
];

/** finishReasons that mean a safety refusal (never retried). */
const SAFETY_REASONS = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'SPII',
  'BLOCKLIST',
]);
const RECITATION_REASONS = new Set(['RECITATION', 'IMAGE_RECITATION']);

interface GeminiPart {
  text?: string;
  /** A Gemini 3 image model's interim "thought" (a draft image or reasoning text), not the answer. */
  thought?: boolean;
  inlineData?: { mimeType?: string; data?: string };
  inline_data?: { mime_type?: string; data?: string };
}

interface GeminiResponse {
  candidates?: { content?: { parts?: GeminiPart[] }; finishReason?: string; finishMessage?: string }[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: unknown;
  modelVersion?: string;
  responseId?: string;
}

/**
 * Builds the generateContent body: images first (photo, then templates), the text last. Only the
 * parameters the model's table entry allows are sent (an unknown model gets the common ones).
 */
export function buildGeminiBody(
  settings: GeminiEditSettings,
  images: readonly { bytes: Buffer; mime: string }[],
): Record<string, unknown> {
  const caps = geminiCapabilities(settings.model);
  const imageConfig: Record<string, string> = {};
  if (settings.aspect_ratio && caps.aspectRatios.includes(settings.aspect_ratio))
    imageConfig.aspectRatio = settings.aspect_ratio;
  if (settings.image_size && caps.imageSizes.includes(settings.image_size)) imageConfig.imageSize = settings.image_size;
  const thinking =
    settings.thinking_level && caps.thinkingLevels.includes(settings.thinking_level)
      ? { thinkingConfig: { thinkingLevel: settings.thinking_level } }
      : {};
  return {
    contents: [
      {
        role: 'user',
        parts: [
          ...images.map((i) => ({ inline_data: { mime_type: i.mime, data: i.bytes.toString('base64') } })),
          { text: settings.prompt },
        ],
      },
    ],
    generationConfig: {
      responseModalities: ['IMAGE'],
      ...(Object.keys(imageConfig).length > 0 ? { imageConfig } : {}),
      ...thinking,
    },
    ...(settings.safety_threshold
      ? {
          safetySettings: GEMINI_HARM_CATEGORIES.map((category) => ({
            category,
            threshold: settings.safety_threshold,
          })),
        }
      : {}),
  };
}

function retryDelayFromDetails(json: unknown): number | undefined {
  const details = (json as { error?: { details?: { retryDelay?: string }[] } } | undefined)?.error?.details;
  const delay = details?.find((d) => typeof d?.retryDelay === 'string')?.retryDelay;
  const m = delay ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
  return m ? Number(m[1]) * 1000 : undefined;
}

/** A non-200 answer as a typed failure (JSON error bodies or HTML pages from front ends). */
function httpFailure(
  status: number,
  body: Buffer,
  headers: Headers,
  now: Date,
  secrets: readonly string[],
): ProviderFailure {
  const json = parseJson(body) as { error?: { message?: string; status?: string } } | undefined;
  const apiStatus = json?.error?.status;
  const text = json?.error?.message ? maskSecrets(json.error.message, secrets) : bodyExcerpt(body, secrets);
  const what = `${status}${apiStatus ? ` ${apiStatus}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now) ?? retryDelayFromDetails(json);
  const opts = { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 401 || status === 403 || (status === 400 && /api key/i.test(text))) {
    return new ProviderCallFailure('auth_failed', `Gemini rejected the API key (${what}): ${text}`, opts);
  }
  if (status === 400)
    return new ProviderCallFailure('bad_request', `Gemini refused the request (${what}): ${text}`, opts);
  if (status === 404)
    return new ProviderCallFailure('model_unavailable', `Gemini does not know this model (${what}): ${text}`, opts);
  if (status === 429)
    return new ProviderCallFailure('rate_limited', `Gemini quota or rate limit reached (${what}): ${text}`, {
      ...opts,
      retryable: true,
    });
  if (status === 500 || status === 503) {
    return new ProviderCallFailure('provider_unavailable', `Gemini is unavailable (${what}): ${text}`, {
      ...opts,
      retryable: true,
    });
  }
  return new ProviderCallFailure('provider_error', `Gemini answered ${what}: ${text}`, opts);
}

/**
 * A 200 answer: the image, or the reason there is none. `decodeData` decodes an inline image's
 * base64. Gemini 3 image models send up to two interim draft images marked `thought: true` before
 * the final one: those are counted, never returned; the last image not marked is the answer.
 */
export function readGeminiAnswer(
  json: GeminiResponse,
  decodeData: (data: string) => Buffer | undefined,
): { bytes: Buffer; mime: string; thoughtImages: number } {
  const responseId = json.responseId;
  const candidate = json.candidates?.[0];
  if (!candidate) {
    const block = json.promptFeedback?.blockReason;
    if (block) {
      const extra = json.promptFeedback?.blockReasonMessage ? `: ${json.promptFeedback.blockReasonMessage}` : '';
      throw new ProviderCallFailure(
        'safety_block',
        `Gemini blocked the request (blockReason ${block})${extra}`,
        { httpStatus: 200 },
        responseId,
      );
    }
    throw new ProviderCallFailure(
      'invalid_response',
      'Gemini answered without any candidate',
      { httpStatus: 200 },
      responseId,
    );
  }
  const parts = candidate.content?.parts ?? [];
  const images = parts.filter((p) => (p.inlineData?.data ?? p.inline_data?.data) !== undefined);
  const thoughtImages = images.filter((p) => p.thought === true).length;
  const final = images.filter((p) => p.thought !== true).at(-1);
  if (final) {
    const data = final.inlineData?.data ?? final.inline_data?.data;
    const declared = final.inlineData?.mimeType ?? final.inline_data?.mime_type;
    const bytes = typeof data === 'string' ? decodeData(data) : undefined;
    const sniffed = bytes ? sniffImageMime(bytes) : undefined;
    if (!bytes || !sniffed) {
      throw new ProviderCallFailure(
        'invalid_response',
        'Gemini returned image data that is not valid base64 of an image',
        { httpStatus: 200 },
        responseId,
      );
    }
    return { bytes, mime: sniffed ?? declared ?? 'image/png', thoughtImages };
  }
  const reason = candidate.finishReason ?? 'UNKNOWN';
  const text = parts
    .filter((p) => p.thought !== true)
    .map((p) => p.text)
    .filter((t): t is string => typeof t === 'string')
    .join(' ')
    .trim();
  const finishMessage = candidate.finishMessage ? `: ${candidate.finishMessage}` : '';
  const said = text ? ` The model said: "${text.length > 300 ? `${text.slice(0, 300)}…` : text}"` : '';
  const opts = { httpStatus: 200 };
  if (reason === 'NO_IMAGE') {
    throw new ProviderCallFailure(
      'no_image',
      `Gemini returned no image (finishReason NO_IMAGE)${finishMessage}`,
      { ...opts, retryable: true },
      responseId,
    );
  }
  if (SAFETY_REASONS.has(reason)) {
    throw new ProviderCallFailure(
      'safety_block',
      `Gemini refused the image for safety reasons (finishReason ${reason})${finishMessage}${said}`,
      opts,
      responseId,
    );
  }
  if (RECITATION_REASONS.has(reason)) {
    throw new ProviderCallFailure(
      'recitation',
      `Gemini refused to reproduce protected content (finishReason ${reason})${finishMessage}`,
      opts,
      responseId,
    );
  }
  throw new ProviderCallFailure(
    'no_image',
    `Gemini returned no image (finishReason ${reason})${finishMessage}${said}`,
    opts,
    responseId,
  );
}

/** The long side Gemini is asked for (imageSize; 1K when unset). */
function geminiRequestedLongSide(imageSize: string | undefined): number {
  return { '512': 512, '1K': 1024, '2K': 2048, '4K': 4096 }[imageSize ?? '1K'] ?? 1024;
}

export function createGeminiProvider(options: GeminiProviderOptions): ProviderDriver {
  const fetchImpl = options.fetch ?? fetch;
  const retry = { ...DEFAULT_GEMINI_RETRY, ...options.retry };
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const policy: RetryPolicy = {
    maxAttempts: retry.maxAttempts,
    minAttemptMs: retry.minAttemptMs,
    delayMs: (failure, attempt) =>
      failure.reason === 'no_image'
        ? retry.noImageDelayMs
        : Math.min(retry.backoffMs * 2 ** (attempt - 1), retry.backoffMs * 4),
  };

  /** GET /v1beta/models, every page: the models this key can call. */
  const listModels = async (signal: AbortSignal): Promise<LiveModelEntry[]> => {
    const key = await requireKey(options.keys, PROVIDER, TITLE);
    const models: LiveModelEntry[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < 20; page++) {
      const url = `${baseUrl}/v1beta/models?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const { response, body } = await fetchModelList(fetchImpl, url, { 'x-goog-api-key': key }, signal, TITLE);
      if (response.status !== 200) throw httpFailure(response.status, body, response.headers, new Date(), [key]);
      const json = parseJson(body) as
        | {
            models?: {
              name?: string;
              displayName?: string;
              description?: string;
              supportedGenerationMethods?: string[];
            }[];
            nextPageToken?: string;
          }
        | undefined;
      for (const m of json?.models ?? []) {
        const id = m.name?.replace(/^models\//, '');
        if (!id || !(m.supportedGenerationMethods ?? []).includes('generateContent')) continue;
        models.push({
          id,
          ...(m.displayName ? { displayName: m.displayName } : {}),
          ...(m.description ? { description: m.description } : {}),
        });
      }
      pageToken = json?.nextPageToken;
      if (!pageToken) break;
    }
    return models;
  };

  const driver: ProviderDriver & ModelLister = {
    id: PROVIDER,
    title: 'Google Gemini',
    labels: GEMINI_LABELS,
    operations: GEMINI_OPERATIONS,
    maxConcurrency: options.maxConcurrency,
    readsPhoto: true,
    modelTable: GEMINI_MODEL_TABLE,
    listModels,
    async readiness() {
      return (await hasKey(options.keys, PROVIDER))
        ? { configured: true }
        : { configured: false, reason: 'provider_not_configured' };
    },
    async process(request: ProviderRequest): Promise<ProviderResult> {
      if (request.operation !== 'edit')
        throw new ProviderFailure('unknown_operation', `Gemini has no operation "${request.operation}"`);
      const settings = request.settings as GeminiEditSettings;
      const caps = geminiCapabilities(settings.model);
      const inputSide = geminiInputSide(
        caps,
        caps.imageSizes.includes(settings.image_size ?? '') ? settings.image_size : undefined,
        settings.input_max_side,
      );
      const order = GEMINI_OPERATIONS[0]!.templateKeys.map((t) => t.key);
      // One request carries every image inline: the budget is shared between them.
      const [key, images] = await requireKeyAlongside(options.keys, PROVIDER, TITLE, () =>
        prepareInputs(request, order, caps.maxInputImages, (count) => ({
          accepted: GEMINI_INPUT_MIME_TYPES,
          maxSide: inputSide,
          maxBytes: Math.floor(INLINE_BUDGET_BYTES / count),
        })),
      );
      // A string body: the same JSON as a Buffer cost more CPU per request through fetch (measured, bench:overhead).
      const body = JSON.stringify(buildGeminiBody(settings, images));
      const url = `${baseUrl}/v1beta/models/${encodeURIComponent(settings.model)}:generateContent`;
      const meta: CallMeta = { provider: PROVIDER, title: TITLE, model: settings.model, secrets: [key] };
      let responseId: string | undefined;
      const bytesAndMime = await withRetries(request, meta, policy, async () => {
        const { response, body: answer } = await sendRequest(
          fetchImpl,
          url,
          { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': key }, body },
          request,
          TITLE,
        );
        if (response.status !== 200)
          throw httpFailure(response.status, answer, response.headers, request.clock.now(), [key]);
        const parsed = parseJsonWithInlineData(answer);
        const json = parsed?.value as GeminiResponse | undefined;
        if (!parsed || !json || typeof json !== 'object') {
          throw new ProviderCallFailure(
            'invalid_response',
            `Gemini answered 200 with a body that is not JSON: ${bodyExcerpt(answer, [key])}`,
            { httpStatus: 200 },
          );
        }
        request.log.info(
          {
            jobId: request.jobId,
            provider: PROVIDER,
            responseId: json.responseId,
            modelVersion: json.modelVersion,
            finishReason: json.candidates?.[0]?.finishReason,
            blockReason: json.promptFeedback?.blockReason,
            usageMetadata: json.usageMetadata,
          },
          'Gemini answer',
        );
        const { thoughtImages, ...image } = readGeminiAnswer(json, parsed.decodeData);
        await checkPlausibleImage(
          image.bytes,
          { longSide: geminiRequestedLongSide(settings.image_size) },
          TITLE,
          json.responseId,
        );
        responseId = json.responseId;
        const detail = `finishReason=${json.candidates?.[0]?.finishReason ?? '?'}${thoughtImages > 0 ? ` thought_images=${thoughtImages}` : ''}`;
        return { value: image, httpStatus: 200, ...(json.responseId ? { responseId: json.responseId } : {}), detail };
      }).catch((err: unknown) => {
        throw err instanceof ProviderFailure && err.reason === 'model_unavailable'
          ? modelUnavailable(GEMINI_MODEL_TABLE, settings.model, request)
          : err;
      });
      return { ...bytesAndMime, ...(responseId ? { providerRef: responseId } : {}) };
    },
  };
  return driver;
}
