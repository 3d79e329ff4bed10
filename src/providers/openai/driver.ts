/**
 * OpenAI GPT Image edits (`POST /v1/images/edits`, multipart; docs/providers.md).
 *
 * The official `openai` SDK builds and sends the request (base URL, auth, multipart encoding of
 * `image[]`), with its own retries off (`maxRetries: 0`: the retry policy below is ours, bounded by
 * the job deadline) and the job's abort signal. Its transport is our `sendRequest`, handed to the
 * SDK as its `fetch`: the deadline signal reaches the socket, and the raw status, headers
 * (Retry-After, x-request-id) and body stay visible for the failure policy instead of being
 * folded into the SDK's error classes.
 */
// Loaded at the first OpenAI call, not at start: the SDK costs ~140 ms of a restart's time.
import type OpenAI from 'openai';
import { checkPlausibleImage } from '../plausibility.js';
import { extensionForMime, mimeForFormat, sniffImageMime } from '../../media/mime.js';
import { PHOTO_INPUT, prepareInputs, REFERENCE_TEMPLATE_KEYS } from '../inputs.js';
import {
  abortReason,
  bodyExcerpt,
  decodeBase64Strict,
  maskSecrets,
  parseJson,
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
import { OPENAI_MODEL_TABLE, openaiCapabilities, openaiSizeProblem } from './models.js';
import { checkOpenAISettings, OpenAIEditSettingsSchema, type OpenAIEditSettings } from './settings.js';
import { OPENAI_LABELS } from './labels.js';

const PROVIDER = 'openai';
const TITLE = 'OpenAI';

export const OPENAI_INPUT_MIME_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
/** The API takes images under 50 MB each; smaller uploads answer faster. */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export interface OpenAIRetryOptions {
  maxAttempts: number;
  backoffMs: number;
  minAttemptMs: number;
}

export const DEFAULT_OPENAI_RETRY: OpenAIRetryOptions = { maxAttempts: 3, backoffMs: 1000, minAttemptMs: 5000 };

export interface OpenAIProviderOptions {
  baseUrl: string;
  keys: ProviderKeySource;
  maxConcurrency: number;
  fetch?: FetchLike;
  retry?: Partial<OpenAIRetryOptions>;
}

export const OPENAI_OPERATIONS: readonly OperationDescriptor[] = [
  {
    id: 'edit',
    title: 'Edit with GPT Image',
    description:
      'The photo (then the optional reference images) and the prompt go to the OpenAI image edits endpoint. Calls take 15–60 s.',
    settingsSchema: OpenAIEditSettingsSchema,
    ...PHOTO_INPUT,
    templateKeys: REFERENCE_TEMPLATE_KEYS,
    checkSettings: (settings, context) => checkOpenAISettings(settings as OpenAIEditSettings, context),
  },
];

/**
 * The edit parameters in wire order: model, prompt, image[]…, then the options (undefined ones are
 * not sent). Only what the model's table entry allows is sent; an unknown model gets the common ones.
 */
export function buildOpenAIEditParams(
  settings: OpenAIEditSettings,
  images: readonly { bytes: Buffer; mime: string }[],
): OpenAI.Images.ImageEditParamsNonStreaming {
  const caps = openaiCapabilities(settings.model);
  const background =
    settings.background && caps.backgrounds.includes(settings.background) ? settings.background : undefined;
  return {
    model: settings.model,
    prompt: settings.prompt,
    image: images.map(
      (image, i) =>
        new File([image.bytes], `${i === 0 ? 'photo' : `template-${i}`}.${extensionForMime(image.mime)}`, {
          type: image.mime,
        }),
    ),
    size: (openaiSizeProblem(caps, settings.size) ? 'auto' : settings.size) as OpenAI.Images.ImageEditParams['size'],
    quality: settings.quality as OpenAI.Images.ImageEditParams['quality'],
    output_format: settings.output_format,
    output_compression:
      settings.output_compression !== undefined && settings.output_format !== 'png'
        ? settings.output_compression
        : undefined,
    background: (background === 'transparent' && settings.output_format === 'jpeg'
      ? undefined
      : background) as OpenAI.Images.ImageEditParams['background'],
    input_fidelity:
      settings.input_fidelity && caps.inputFidelities.includes(settings.input_fidelity)
        ? settings.input_fidelity
        : undefined,
  } as OpenAI.Images.ImageEditParamsNonStreaming;
}

function httpFailure(
  status: number,
  body: Buffer,
  headers: Headers,
  now: Date,
  secrets: readonly string[],
): ProviderFailure {
  const json = parseJson(body) as
    { error?: { message?: string; type?: string; code?: string | null; param?: string | null } } | undefined;
  const e = json?.error;
  const text = e?.message ? maskSecrets(e.message, secrets) : bodyExcerpt(body, secrets);
  const code = e?.code ?? undefined;
  const what = `${status}${code ? ` ${code}` : ''}`;
  const requestId = headers.get('x-request-id') ?? undefined;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
  const opts = { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 400 && (code === 'moderation_blocked' || /safety system|moderation/i.test(text))) {
    return new ProviderCallFailure(
      'moderation_blocked',
      `OpenAI refused the image for safety reasons (${what}): ${text}`,
      opts,
      requestId,
    );
  }
  if (status === 400) {
    return new ProviderCallFailure(
      'bad_request',
      `OpenAI refused the request (${what}${e?.param ? `, ${e.param}` : ''}): ${text}`,
      opts,
      requestId,
    );
  }
  if (status === 404 && (code === 'model_not_found' || /model .* does not exist/i.test(text))) {
    return new ProviderCallFailure(
      'model_unavailable',
      `OpenAI does not know this model (${what}): ${text}`,
      opts,
      requestId,
    );
  }
  // An organization that has not passed OpenAI's verification may not use the GPT Image models:
  // the key is fine, the account needs a step the operator takes once.
  if (status === 403 && /must be verified|verify (your |the )?organi[sz]ation/i.test(text)) {
    return new ProviderCallFailure(
      'organization_unverified',
      `OpenAI requires the key's organization to be verified for this model: verify it at platform.openai.com → Settings → Organization → General (it can take a few minutes), or use another key (${what}): ${text}`,
      opts,
      requestId,
    );
  }
  if (status === 401 || status === 403)
    return new ProviderCallFailure('auth_failed', `OpenAI rejected the API key (${what}): ${text}`, opts, requestId);
  if (status === 429 && (code === 'insufficient_quota' || e?.type === 'insufficient_quota')) {
    return new ProviderCallFailure(
      'quota_exceeded',
      `OpenAI account quota exhausted (${what}): ${text}`,
      opts,
      requestId,
    );
  }
  if (status === 429)
    return new ProviderCallFailure(
      'rate_limited',
      `OpenAI rate limit reached (${what}): ${text}`,
      { ...opts, retryable: true },
      requestId,
    );
  if (status === 500 || status === 503) {
    return new ProviderCallFailure(
      'provider_unavailable',
      `OpenAI is unavailable (${what}): ${text}`,
      { ...opts, retryable: true },
      requestId,
    );
  }
  return new ProviderCallFailure('provider_error', `OpenAI answered ${what}: ${text}`, opts, requestId);
}

/** The long side OpenAI is asked for (`WxH`; 1024 for auto). */
function requestedLongSide(size: string | undefined): number {
  const m = /^(\d+)x(\d+)$/.exec(size ?? '');
  return m ? Math.max(Number(m[1]), Number(m[2])) : 1024;
}

export function createOpenAIProvider(options: OpenAIProviderOptions): ProviderDriver {
  const fetchImpl = options.fetch ?? fetch;
  const retry = { ...DEFAULT_OPENAI_RETRY, ...options.retry };
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const policy: RetryPolicy = {
    maxAttempts: retry.maxAttempts,
    minAttemptMs: retry.minAttemptMs,
    delayMs: (_failure, attempt) => Math.min(retry.backoffMs * 2 ** (attempt - 1), retry.backoffMs * 4),
  };
  /** GET /v1/models: every model this key can call (one page; the API does not paginate it). */
  const listModels = async (signal: AbortSignal): Promise<LiveModelEntry[]> => {
    const key = await requireKey(options.keys, PROVIDER, TITLE);
    const { response, body } = await fetchModelList(
      fetchImpl,
      `${baseUrl}/v1/models`,
      { authorization: `Bearer ${key}` },
      signal,
      TITLE,
    );
    if (response.status !== 200) throw httpFailure(response.status, body, response.headers, new Date(), [key]);
    const json = parseJson(body) as { data?: { id?: string; shutdown_date?: string | null }[] } | undefined;
    return (json?.data ?? [])
      .filter((m): m is { id: string; shutdown_date?: string | null } => typeof m?.id === 'string')
      .map((m) => ({
        id: m.id,
        ...(typeof m.shutdown_date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(m.shutdown_date)
          ? { shutdownDate: m.shutdown_date }
          : {}),
      }));
  };

  const driver: ProviderDriver & ModelLister = {
    id: PROVIDER,
    title: 'OpenAI GPT Image',
    labels: OPENAI_LABELS,
    operations: OPENAI_OPERATIONS,
    maxConcurrency: options.maxConcurrency,
    readsPhoto: true,
    modelTable: OPENAI_MODEL_TABLE,
    listModels,
    async readiness() {
      return (await hasKey(options.keys, PROVIDER))
        ? { configured: true }
        : { configured: false, reason: 'provider_not_configured' };
    },
    async process(request: ProviderRequest): Promise<ProviderResult> {
      if (request.operation !== 'edit')
        throw new ProviderFailure('unknown_operation', `OpenAI has no operation "${request.operation}"`);
      const settings = request.settings as OpenAIEditSettings;
      const order = OPENAI_OPERATIONS[0]!.templateKeys.map((t) => t.key);
      const caps = openaiCapabilities(settings.model);
      const [key, images] = await requireKeyAlongside(options.keys, PROVIDER, TITLE, () =>
        prepareInputs(request, order, caps.maxInputImages, () => ({
          accepted: OPENAI_INPUT_MIME_TYPES,
          maxSide: caps.inputMaxSide,
          maxBytes: MAX_IMAGE_BYTES,
        })),
      );
      const meta: CallMeta = { provider: PROVIDER, title: TITLE, model: settings.model, secrets: [key] };
      let responseId: string | undefined;
      const image = await withRetries(request, meta, policy, async () => {
        // The SDK sends through sendRequest; the raw answer is kept for our failure policy.
        let raw: { response: Response; body: Buffer } | undefined;
        let transportError: unknown;
        const sdkFetch = Object.assign(
          async (input: string | URL | Request, init?: RequestInit) => {
            try {
              raw = await sendRequest(
                fetchImpl,
                input instanceof Request ? input.url : String(input),
                init ?? {},
                request,
                TITLE,
              );
              return new Response(new Uint8Array(raw.body), {
                status: raw.response.status,
                headers: raw.response.headers,
              });
            } catch (err) {
              transportError = err;
              throw err;
            }
          },
          { Response },
        );
        const { default: OpenAISdk } = await import('openai');
        // organization/project null: the SDK would otherwise read OPENAI_ORG_ID / OPENAI_PROJECT_ID
        // from the server's environment and send them with every call; the key alone decides.
        const client = new OpenAISdk({
          apiKey: key,
          baseURL: `${baseUrl}/v1`,
          maxRetries: 0,
          fetch: sdkFetch,
          organization: null,
          project: null,
        });
        await client.images
          .edit(buildOpenAIEditParams(settings, images), { signal: request.signal })
          .catch((err: unknown) => {
            if (transportError) throw transportError;
            if (request.signal.aborted) throw abortReason(request.signal);
            // The answer arrived (an error status, or a 200 the SDK cannot parse): judged below from the raw bytes.
            if (raw) return undefined;
            throw err;
          });
        if (!raw) throw new ProviderCallFailure('invalid_response', 'OpenAI gave no answer');
        const { response, body } = raw;
        const requestId = response.headers.get('x-request-id') ?? undefined;
        if (response.status !== 200)
          throw httpFailure(response.status, body, response.headers, request.clock.now(), [key]);
        const json = parseJson(body) as
          { data?: { b64_json?: string }[]; usage?: unknown; output_format?: string } | undefined;
        if (!json || typeof json !== 'object') {
          throw new ProviderCallFailure(
            'invalid_response',
            `OpenAI answered 200 with a body that is not JSON: ${bodyExcerpt(body, [key])}`,
            { httpStatus: 200 },
            requestId,
          );
        }
        request.log.info(
          {
            jobId: request.jobId,
            provider: PROVIDER,
            responseId: requestId,
            usage: json.usage,
            outputFormat: json.output_format,
          },
          'OpenAI answer',
        );
        const first = json.data?.[0];
        if (!first)
          throw new ProviderCallFailure(
            'no_image',
            'OpenAI answered without any image (empty data)',
            { httpStatus: 200 },
            requestId,
          );
        if (typeof first.b64_json !== 'string') {
          throw new ProviderCallFailure(
            'invalid_response',
            'OpenAI answered an image entry without b64_json',
            { httpStatus: 200 },
            requestId,
          );
        }
        const bytes = decodeBase64Strict(first.b64_json);
        const sniffed = bytes ? sniffImageMime(bytes) : undefined;
        if (!bytes || !sniffed)
          throw new ProviderCallFailure(
            'invalid_response',
            'OpenAI returned b64_json that is not a valid image',
            { httpStatus: 200 },
            requestId,
          );
        await checkPlausibleImage(bytes, { longSide: requestedLongSide(settings.size) }, TITLE, requestId);
        responseId = requestId;
        const mime = sniffed ?? mimeForFormat(settings.output_format ?? 'png') ?? 'image/png';
        return { value: { bytes, mime }, httpStatus: 200, ...(requestId ? { responseId: requestId } : {}) };
      }).catch((err: unknown) => {
        throw err instanceof ProviderFailure && err.reason === 'model_unavailable'
          ? modelUnavailable(OPENAI_MODEL_TABLE, settings.model, request)
          : err;
      });
      return { ...image, ...(responseId ? { providerRef: responseId } : {}) };
    },
  };
  return driver;
}
