import { PHOTO_MIME_TYPES, prepareInputImage, type PrepareInputOptions, type PreparedImage } from '../media/imaging.js';
import { abortReason } from './http.js';
import type { ProviderRequest, TemplateKeyDescriptor } from './types.js';

/** What the AI providers take of a booth photo: every photo type we decode, up to 50 MB. */
export const PHOTO_INPUT = { acceptedMimeTypes: PHOTO_MIME_TYPES, maxInputBytes: 50 * 1024 * 1024 } as const;

/** The optional reference images an inline-image model is sent after the photo (Gemini, GPT Image). */
export const REFERENCE_TEMPLATE_KEYS: readonly TemplateKeyDescriptor[] = [
  { key: 'reference', title: 'Reference image (style, frame, background…)', required: false },
  { key: 'reference_2', title: 'Second reference image', required: false },
];

/**
 * What a provider that takes images inline is sent: the photo, then the slot's templates in the
 * operation's key order, at most `maxImages`, each prepared as the provider accepts it (scaled to
 * the model's working size, re-encoded, under its byte limit). Stops as soon as the job is aborted.
 * `limits` gets the number of images (a request-wide byte budget is shared between them).
 */
export async function prepareInputs(
  request: Pick<ProviderRequest, 'photo' | 'templates' | 'signal'>,
  keyOrder: readonly string[],
  maxImages: number,
  limits: (count: number) => Omit<PrepareInputOptions, 'signal'>,
): Promise<PreparedImage[]> {
  const templates = [...request.templates].sort((a, b) => keyOrder.indexOf(a.key) - keyOrder.indexOf(b.key));
  const inputs = [request.photo, ...templates].slice(0, maxImages);
  const options = limits(inputs.length);
  const images: PreparedImage[] = [];
  for (const input of inputs) {
    const source = input.contents
      ? { bytes: input.contents, mime: input.mime }
      : { path: input.path, mime: input.mime };
    images.push(await prepareInputImage(source, { ...options, signal: request.signal }));
    if (request.signal.aborted) throw abortReason(request.signal);
  }
  return images;
}
