/**
 * Fake Gemini `generateContent` (PROVIDERS.md): checks the key (403 PERMISSION_DENIED otherwise),
 * rejects what the real API rejects (imageSize on 2.5, responseMimeType image/*) with 400
 * INVALID_ARGUMENT, and plays the configured behaviours.
 */
import { BehaviourQueue, startFakeServer, TINY_PNG, type FakeServer, type RecordedRequest } from './common.js';

export type GeminiBehaviour =
  /** An image in camelCase `inlineData` (or snake_case), optionally after a text part, optionally late. */
  | { kind: 'image'; textFirst?: boolean; snakeCase?: boolean; mime?: string; image?: Buffer; delayMs?: number }
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

export async function startGeminiFake(options: { apiKey?: string; initial?: GeminiBehaviour } = {}): Promise<GeminiFake> {
  const apiKey = options.apiKey ?? 'test-gemini-key';
  const behaviours = new BehaviourQueue<GeminiBehaviour>(options.initial ?? { kind: 'image' });
  let counter = 0;
  const error = (status: number, message: string, apiStatus?: string) => ({
    error: { code: status, message, status: apiStatus ?? STATUS_NAMES[status] ?? 'UNKNOWN', details: [] as unknown[] },
  });
  const server = await startFakeServer(async (ctx) => {
    const match = PATH.exec(ctx.record.path);
    if (ctx.record.method !== 'POST' || !match) return ctx.json(404, error(404, 'Not found'));
    if (ctx.req.headers['x-goog-api-key'] !== apiKey) {
      return ctx.json(403, error(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.'));
    }
    const model = match[1] ?? '';
    const body = ctx.record.json as { generationConfig?: { responseMimeType?: string; imageConfig?: { imageSize?: string } } } | undefined;
    if (!body) return ctx.json(400, error(400, 'Invalid JSON payload received.'));
    if (body.generationConfig?.responseMimeType?.startsWith('image/')) {
      return ctx.json(400, error(400, 'response_mime_type: allowed mimetypes are `text/plain`, `application/json`, ...'));
    }
    if (model.startsWith('gemini-2.5') && body.generationConfig?.imageConfig?.imageSize !== undefined) {
      return ctx.json(400, error(400, 'Image size is not supported for this model.'));
    }
    const responseId = `fake-resp-${++counter}`;
    const b = behaviours.next();
    const candidate = (parts: unknown[] | undefined, finishReason: string, finishMessage?: string) => ({
      candidates: [{ ...(parts ? { content: { role: 'model', parts } } : {}), finishReason, ...(finishMessage ? { finishMessage } : {}), index: 0 }],
      usageMetadata: { promptTokenCount: 1290, candidatesTokenCount: 1290, totalTokenCount: 2580 },
      modelVersion: model,
      responseId,
    });
    switch (b.kind) {
      case 'image': {
        if (b.delayMs && !(await ctx.wait(b.delayMs))) return;
        const data = (b.image ?? TINY_PNG).toString('base64');
        const mime = b.mime ?? 'image/png';
        const imagePart = b.snakeCase ? { inline_data: { mime_type: mime, data } } : { inlineData: { mimeType: mime, data } };
        const parts = b.textFirst ? [{ text: 'Here is your edited photo.' }, imagePart] : [imagePart];
        return ctx.json(200, candidate(parts, 'STOP'));
      }
      case 'slow':
        if (!(await ctx.wait(b.delayMs))) return;
        return ctx.json(200, candidate([{ inlineData: { mimeType: 'image/png', data: TINY_PNG.toString('base64') } }], 'STOP'));
      case 'no_image':
        if (!(await ctx.wait(20))) return;
        return ctx.json(200, candidate(undefined, 'NO_IMAGE', b.finishMessage));
      case 'finish':
        return ctx.json(200, candidate(b.text ? [{ text: b.text }] : undefined, b.finishReason, b.finishMessage));
      case 'prompt_blocked':
        return ctx.json(200, { promptFeedback: { blockReason: b.blockReason }, usageMetadata: { promptTokenCount: 10, totalTokenCount: 10 }, modelVersion: model, responseId });
      case 'error': {
        const e = error(b.status, b.message ?? `fake ${b.status}`, b.apiStatus);
        if (b.retryDelay) e.error.details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: b.retryDelay });
        return ctx.json(b.status, e, b.retryAfter ? { 'retry-after': b.retryAfter } : {});
      }
      case 'html':
        return ctx.text(b.status, `<html><head><title>${b.status} Service Unavailable</title></head><body><h1>Error ${b.status}</h1><p>The server is overloaded.</p></body></html>`, 'text/html');
      case 'malformed_json':
        return ctx.text(200, '{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBOR', 'application/json');
      case 'invalid_base64':
        return ctx.json(200, candidate([{ inlineData: { mimeType: 'image/png', data: '!!!not*base64###' } }], 'STOP'));
      case 'drop':
        return ctx.drop();
    }
  });
  return { ...server, apiKey, setBehaviour: (b) => behaviours.set(b) };
}
