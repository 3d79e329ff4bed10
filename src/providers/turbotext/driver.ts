/**
 * Turbotext (turbotext.ru; docs/providers.md): a form API with a queue. The driver publishes
 * the photo (and templates) at temporary public links, creates the queue entry, then either polls
 * `get_result` every 1–2 s ('reconnect' answers are not attempts) until the job deadline, or waits
 * for the webhook delivery (TurbotextWebhookInbox); finally it downloads the result image.
 * Plain fetch: there is no SDK.
 */
import { performance } from 'node:perf_hooks';
import type { TemporaryMediaPublisher } from '../../media/temporary-links.js';
import { checkPlausibleImage } from '../plausibility.js';
import { sniffImageMime } from '../../media/mime.js';
import { prepareInputImage } from '../../media/imaging.js';
import { PHOTO_INPUT } from '../inputs.js';
import {
  abortReason,
  bodyExcerpt,
  parseJson,
  parseRetryAfter,
  ProviderCallFailure,
  recordCall,
  remainingMs,
  sendRequest,
  whenAdmitted,
  sleep,
  withRetries,
  type CallMeta,
  type FetchLike,
  type RetryPolicy,
} from '../http.js';
import { hasKey, requireKey, type ProviderKeySource } from '../keys.js';
import {
  ProviderFailure,
  type OperationDescriptor,
  type ProviderDriver,
  type ProviderRequest,
  type ProviderResult,
} from '../types.js';
import {
  DeepfakePhotoSettingsSchema,
  Image2ImageSettingsSchema,
  MixImagesSettingsSchema,
  type DeepfakePhotoSettings,
  type Image2ImageSettings,
  type MixImagesSettings,
} from './settings.js';
import type { TurbotextWebhookInbox } from './webhooks.js';
import { TURBOTEXT_LABELS } from './labels.js';

const PROVIDER = 'turbotext';
const TITLE = 'Turbotext';

export const TURBOTEXT_INPUT_MIME_TYPES = ['image/jpeg', 'image/png'] as const;
const MAX_SIDE = 2048;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

export const PUBLIC_BASE_URL_MISSING_MESSAGE =
  'Turbotext downloads the photo by URL: set the public address of this server as reachable from the internet (Settings → Public address, or PHOTOCHANGER_PUBLIC_BASE_URL; e.g. https://booth.example.com); Turbotext slots cannot work without it';

export interface TurbotextProviderOptions {
  baseUrl: string;
  keys: ProviderKeySource;
  maxConcurrency: number;
  /** Publishes inputs at temporary public links (createTemporaryMediaPublisher). */
  publisher: TemporaryMediaPublisher;
  /** Needed for slots whose `delivery` is 'webhook'. */
  webhooks?: TurbotextWebhookInbox;
  fetch?: FetchLike;
  /** Pause between get_result calls (1–2 s in production). */
  pollIntervalMs?: number;
  /** 5xx/network answers in a row while polling before giving up. */
  maxPollErrors?: number;
  retry?: Partial<{ maxAttempts: number; backoffMs: number; minAttemptMs: number }>;
}

export const TURBOTEXT_OPERATIONS: readonly OperationDescriptor[] = [
  {
    id: 'generate_image2image',
    title: 'Image to image (Turbotext)',
    description: 'Redraws the photo following the prompt.',
    settingsSchema: Image2ImageSettingsSchema,
    ...PHOTO_INPUT,
    templateKeys: [],
  },
  {
    id: 'mix_images',
    title: 'Style transfer (Turbotext)',
    description: 'Applies the style of the template image to the photo.',
    settingsSchema: MixImagesSettingsSchema,
    ...PHOTO_INPUT,
    templateKeys: [{ key: 'style', title: 'Style image', required: true }],
  },
  {
    id: 'deepfake_photo',
    title: 'Face swap (Turbotext)',
    description: "Puts the guest's face (from the photo) into the target template image.",
    settingsSchema: DeepfakePhotoSettingsSchema,
    ...PHOTO_INPUT,
    templateKeys: [{ key: 'target', title: 'Target image (whose face is replaced)', required: true }],
  },
];

type FinalJson = {
  success?: boolean;
  error?: string;
  action?: string;
  uploaded_image?: string;
  data?: { image?: unknown; uploaded_image?: string; forbidden_content?: unknown };
  limits?: unknown;
};

const ERROR_REASONS: Record<string, { reason: string; message: string }> = {
  LIMIT: {
    reason: 'quota_exceeded',
    message: 'Turbotext account limit reached (LIMIT): top up the Turbotext balance or tariff',
  },
  url_error: {
    reason: 'url_error',
    message:
      'Turbotext could not download the photo from our temporary public link (url_error): PHOTOCHANGER_PUBLIC_BASE_URL must be reachable from the internet',
  },
  face_not_detected: {
    reason: 'face_not_detected',
    message: 'Turbotext found no face in the photo (face_not_detected)',
  },
  quality_limit: { reason: 'quality_limit', message: 'Turbotext refused the photo quality or size (quality_limit)' },
  params_error: { reason: 'bad_request', message: 'Turbotext refused the parameters (params_error)' },
};

/** Fields of create_queue for an operation, inputs already published. */
export function createQueueFields(
  operation: string,
  settings: Record<string, unknown>,
  urls: { photo: string; template?: string },
): [string, string][] {
  const fields: [string, string][] = [['do', 'create_queue']];
  const add = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') fields.push([k, String(v)]);
  };
  if (operation === 'generate_image2image') {
    const s = settings as Image2ImageSettings;
    add('url', urls.photo);
    add('content', s.prompt);
    add('strength', s.strength);
    add('seed', s.seed);
    add('scale', s.scale);
    add('negative_prompt', s.negative_prompt);
    add('original_language', s.original_language);
  } else if (operation === 'mix_images') {
    const s = settings as MixImagesSettings;
    add('url_image_target', urls.photo);
    add('url', urls.template);
    add('content', s.prompt);
  } else if (operation === 'deepfake_photo') {
    const s = settings as DeepfakePhotoSettings;
    // `url`: whose face is replaced (the template); `url_image_target`: the face to use (the
    // guest's photo), as a public copy of the method docs says; swap_roles sends them reversed.
    add('url', s.swap_roles === true ? urls.photo : urls.template);
    add('url_image_target', s.swap_roles === true ? urls.template : urls.photo);
    add('face_restore', s.face_restore === false ? 0 : 1);
  }
  return fields;
}

/** The final JSON as a typed failure, or the URL of the result image. */
export function resultImageUrl(json: FinalJson, baseUrl: string): string {
  if (json.success !== true) {
    const code = typeof json.error === 'string' ? json.error : 'unknown';
    const known = ERROR_REASONS[code];
    throw new ProviderCallFailure(known?.reason ?? 'provider_error', known?.message ?? `Turbotext failed (${code})`, {
      httpStatus: 200,
    });
  }
  const forbidden = json.data?.forbidden_content;
  if (forbidden === true || forbidden === 1 || forbidden === '1' || forbidden === 'true') {
    throw new ProviderCallFailure(
      'moderation_blocked',
      'Turbotext refused the image as forbidden content (forbidden_content)',
      { httpStatus: 200 },
    );
  }
  // `data.image`: a list or one value, an absolute URL or a path on the API host (as a public copy of
  // the method docs shows image2image results), resolved against the API's base URL.
  const raw = json.data?.image;
  const images = Array.isArray(raw) ? (raw as unknown[]) : raw === undefined ? [] : [raw];
  const firstImage = images.find((i): i is string => typeof i === 'string' && i.trim() !== '');
  const candidate = json.uploaded_image ?? json.data?.uploaded_image ?? firstImage;
  if (typeof candidate !== 'string' || candidate === '') {
    throw new ProviderCallFailure('invalid_response', 'Turbotext reported success without any image URL', {
      httpStatus: 200,
    });
  }
  return new URL(candidate, `${baseUrl}/`).toString();
}

export function createTurbotextProvider(options: TurbotextProviderOptions): ProviderDriver {
  const fetchImpl = options.fetch ?? fetch;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const pollIntervalMs = options.pollIntervalMs ?? 1500;
  const maxPollErrors = options.maxPollErrors ?? 5;
  const retry = { maxAttempts: 3, backoffMs: 1000, minAttemptMs: 2000, ...options.retry };
  const policy: RetryPolicy = {
    maxAttempts: retry.maxAttempts,
    minAttemptMs: retry.minAttemptMs,
    delayMs: (_f, attempt) => Math.min(retry.backoffMs * 2 ** (attempt - 1), retry.backoffMs * 4),
  };

  const post = async (request: ProviderRequest, key: string, method: string, fields: [string, string][]) => {
    const { response, body } = await sendRequest(
      fetchImpl,
      `${baseUrl}/api_ai/${method}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      },
      request,
      TITLE,
    );
    if (response.status !== 200) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), request.clock.now());
      const retryable = response.status === 429 || response.status === 500 || response.status === 503;
      const reason =
        response.status === 401 || response.status === 403
          ? 'auth_failed'
          : response.status === 429
            ? 'rate_limited'
            : 'provider_unavailable';
      throw new ProviderCallFailure(reason, `Turbotext answered ${response.status}: ${bodyExcerpt(body, [key])}`, {
        httpStatus: response.status,
        retryable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const json = parseJson(body) as (FinalJson & { queueid?: unknown; asyncid?: unknown }) | undefined;
    if (!json || typeof json !== 'object') {
      throw new ProviderCallFailure(
        'invalid_response',
        `Turbotext answered a body that is not JSON: ${bodyExcerpt(body, [key])}`,
        { httpStatus: 200 },
      );
    }
    return json;
  };

  /** Polls get_result until the final JSON, the deadline or too many errors in a row. */
  const poll = async (
    request: ProviderRequest,
    meta: CallMeta,
    key: string,
    method: string,
    queueId: string,
  ): Promise<FinalJson> => {
    let attempt = 0;
    let reconnects = 0;
    let errorsInRow = 0;
    for (;;) {
      const left = remainingMs(request);
      if (left <= 0) {
        throw new ProviderFailure(
          'deadline_exceeded',
          `Turbotext did not finish before the job deadline (queue ${queueId}, ${reconnects} reconnects)`,
        );
      }
      await sleep(Math.min(pollIntervalMs, left), request.signal);
      if (remainingMs(request) <= 0) continue;
      const started = performance.now();
      try {
        const json = await post(request, key, method, [
          ['do', 'get_result'],
          ['queueid', queueId],
        ]);
        if (json.action === 'reconnect') {
          reconnects++;
          errorsInRow = 0;
          continue;
        }
        attempt++;
        recordCall(request, meta, {
          attempt,
          durationMs: Math.round(performance.now() - started),
          outcome: json.success === true ? 'success' : 'failure',
          httpStatus: 200,
          responseId: queueId,
          detail: `get_result after ${reconnects} reconnects${json.success === true ? '' : `: ${String(json.error)}`}`,
        });
        return json;
      } catch (err) {
        if (request.signal.aborted) {
          recordCall(request, meta, {
            attempt: attempt + 1,
            durationMs: Math.round(performance.now() - started),
            outcome: 'aborted',
            responseId: queueId,
          });
          throw abortReason(request.signal);
        }
        if (!(err instanceof ProviderFailure) || !err.retryable || ++errorsInRow > maxPollErrors) {
          if (err instanceof ProviderFailure) {
            recordCall(request, meta, {
              attempt: attempt + 1,
              durationMs: Math.round(performance.now() - started),
              outcome: 'failure',
              responseId: queueId,
              ...(err.options.httpStatus === undefined ? {} : { httpStatus: err.options.httpStatus }),
              detail: `get_result: ${err.message}`,
            });
          }
          throw err;
        }
        attempt++;
        recordCall(request, meta, {
          attempt,
          durationMs: Math.round(performance.now() - started),
          outcome: 'retry',
          responseId: queueId,
          ...(err.options.httpStatus === undefined ? {} : { httpStatus: err.options.httpStatus }),
          detail: `get_result: ${err.message}`,
        });
      }
    }
  };

  const download = async (
    request: ProviderRequest,
    meta: CallMeta,
    url: string,
    ref: string,
  ): Promise<{ bytes: Buffer; mime: string }> =>
    withRetries(request, { ...meta, model: 'download' }, policy, async () => {
      // No key here: the result URL may point anywhere.
      const { response, body } = await sendRequest(fetchImpl, url, { method: 'GET' }, request, TITLE);
      if (response.status !== 200) {
        const retryable = response.status === 500 || response.status === 503 || response.status === 429;
        throw new ProviderCallFailure(
          'result_download_failed',
          `Could not download the Turbotext result (${response.status})`,
          { httpStatus: response.status, retryable },
          ref,
        );
      }
      const mime = sniffImageMime(body);
      if (!mime)
        throw new ProviderCallFailure(
          'invalid_response',
          'The Turbotext result is not an image',
          { httpStatus: 200 },
          ref,
        );
      // Turbotext does not say what size it makes: anything from 256 px on a side passes.
      await checkPlausibleImage(body, { longSide: 1024 }, TITLE, ref);
      return { value: { bytes: body, mime }, httpStatus: 200, responseId: ref, detail: 'result download' };
    });

  return {
    id: PROVIDER,
    title: 'Turbotext',
    labels: TURBOTEXT_LABELS,
    operations: TURBOTEXT_OPERATIONS,
    maxConcurrency: options.maxConcurrency,
    requiresPublicBaseUrl: true,
    async readiness() {
      if (!(await hasKey(options.keys, PROVIDER))) return { configured: false, reason: 'provider_not_configured' };
      // The publisher carries the base URL process() uses (the context mirrors the same config).
      if (!options.publisher.publicBaseUrl()) return { configured: false, reason: 'public_base_url_missing' };
      return { configured: true };
    },
    // Turbotext has fetched its inputs once the job's work is over: their links go at once.
    releaseJob: (jobId) => options.publisher.revokeForJob(jobId),
    async process(request: ProviderRequest): Promise<ProviderResult> {
      const descriptor = TURBOTEXT_OPERATIONS.find((o) => o.id === request.operation);
      if (!descriptor)
        throw new ProviderFailure('unknown_operation', `Turbotext has no operation "${request.operation}"`);
      const key = await requireKey(options.keys, PROVIDER, TITLE);
      const publicBaseUrl = options.publisher.publicBaseUrl();
      if (!publicBaseUrl) throw new ProviderFailure('public_base_url_missing', PUBLIC_BASE_URL_MISSING_MESSAGE);
      const delivery = request.settings.delivery === 'webhook' ? 'webhook' : 'poll';
      if (delivery === 'webhook' && !options.webhooks) {
        throw new ProviderFailure(
          'webhook_unavailable',
          'This server has no Turbotext webhook inbox configured; use delivery "poll"',
        );
      }
      const templateKey = descriptor.templateKeys[0]?.key;
      const template = templateKey ? request.templates.find((t) => t.key === templateKey) : undefined;
      if (templateKey && !template)
        throw new ProviderFailure('template_missing', `This operation needs the "${templateKey}" template image`);
      const meta: CallMeta = { provider: PROVIDER, title: TITLE, model: request.operation, secrets: [key] };

      // Publish the inputs, prepared to what Turbotext takes.
      const publish = async (input: { path: string; mime: string }) => {
        const prepared = await prepareInputImage(input, {
          accepted: TURBOTEXT_INPUT_MIME_TYPES,
          maxSide: MAX_SIDE,
          maxBytes: MAX_IMAGE_BYTES,
          signal: request.signal,
        });
        if (request.signal.aborted) throw abortReason(request.signal);
        return options.publisher.publish({
          jobId: request.jobId,
          file: { bytes: prepared.bytes, mime: prepared.mime },
        });
      };
      // Links and webhook rows are written only for a job whose row is in the queue.
      await whenAdmitted(request);
      const photoLink = await publish(request.photo);
      const templateLink = template ? await publish(template) : undefined;
      const fields = createQueueFields(request.operation, request.settings, {
        photo: photoLink.url,
        ...(templateLink ? { template: templateLink.url } : {}),
      });

      let token: string | undefined;
      try {
        if (delivery === 'webhook') {
          token = await options.webhooks!.register(request.jobId, new Date(request.deadline.getTime() + 60_000));
          fields.push(['webhook', `${publicBaseUrl}/webhooks/turbotext/${token}`]);
        }
        const created = await withRetries(request, { ...meta }, policy, async () => {
          const json = await post(request, key, request.operation, fields);
          if (json.success !== true) {
            resultImageUrl(json, baseUrl); // throws the typed failure
          }
          const id = delivery === 'webhook' ? json.asyncid : json.queueid;
          if (typeof id !== 'number' && typeof id !== 'string') {
            throw new ProviderCallFailure(
              'invalid_response',
              `Turbotext create_queue answered without ${delivery === 'webhook' ? 'asyncid' : 'queueid'}`,
              { httpStatus: 200 },
            );
          }
          return { value: String(id), httpStatus: 200, responseId: String(id), detail: 'create_queue' };
        });

        let final: FinalJson;
        if (delivery === 'webhook') {
          const payload = await options.webhooks!.waitFor(token!, request.signal, request.deadline);
          if (payload === undefined) {
            throw new ProviderFailure(
              'deadline_exceeded',
              `Turbotext did not deliver the webhook before the job deadline (async ${created})`,
            );
          }
          final = (payload ?? {}) as FinalJson;
          recordCall(request, meta, {
            attempt: 1,
            durationMs: 0,
            outcome: final.success === true ? 'success' : 'failure',
            responseId: created,
            detail: `webhook delivery${final.success === true ? '' : `: ${String(final.error)}`}`,
          });
        } else {
          final = await poll(request, meta, key, request.operation, created);
        }
        request.log.info(
          {
            jobId: request.jobId,
            provider: PROVIDER,
            responseId: created,
            success: final.success,
            error: final.error,
            limits: final.limits,
          },
          'Turbotext result',
        );
        const url = resultImageUrl(final, baseUrl);
        const image = await download(request, meta, url, created);
        return { ...image, providerRef: created };
      } catch (err) {
        throw request.signal.aborted ? abortReason(request.signal) : err;
      } finally {
        if (token) await options.webhooks!.release(token).catch(() => undefined);
      }
    },
  };
}
