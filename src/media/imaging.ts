/**
 * Image helpers every provider and the worker share (sharp): preparing a photo for what a
 * provider accepts, and normalizing a provider's output to what the slot's print layout expects.
 */
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { Type, type Static } from 'typebox';
import { decodeBudget, decodedBytes } from './decode-budget.js';
import { GuestLinkSchema, guestLinkOverlay, pasteOverlay } from './guest-qr.js';
import { formatForMime, mimeForFormat } from './mime.js';

/** Photo types a booth may send that some provider accepts (decided on the bytes). */
export const PHOTO_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif'] as const;

/** Decompression-bomb guard: no input larger than this many pixels is decoded. */
export const MAX_INPUT_PIXELS = 100_000_000;

/** Per-slot output normalization (the `output` object of every operation's settings). */
export const OutputSettingsSchema = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('original'), Type.Literal('jpeg'), Type.Literal('png'), Type.Literal('webp')], {
        default: 'jpeg',
        description: 'Format of the image returned to the booth ("original" keeps what the provider produced)',
      }),
    ),
    max_side: Type.Optional(
      Type.Integer({
        minimum: 256,
        maximum: 8192,
        description: 'Longest side in pixels; larger results are scaled down',
      }),
    ),
    quality: Type.Optional(Type.Integer({ minimum: 40, maximum: 100, default: 90, description: 'JPEG/WebP quality' })),
    guest_link: Type.Optional(GuestLinkSchema),
  },
  { additionalProperties: false, description: 'What the booth receives' },
);
export type OutputSettings = Static<typeof OutputSettingsSchema>;

export class ImageDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

export interface PreparedImage {
  bytes: Buffer;
  mime: string;
  width: number;
  height: number;
}

export interface PrepareInputOptions {
  accepted: readonly string[];
  maxPixels?: number;
  maxSide?: number;
  maxBytes?: number;
  /** The job's signal: waiting for decode budget ends with it. */
  signal?: AbortSignal;
}

/**
 * JPEG encoding for results. Huffman-table optimisation is off: it is lossless (same pixels) and
 * saves ~10-15 % of bytes, but doubles the encode time (24 vs 53 ms for a 1.4 MP photo here),
 * and on a booth's LAN the time matters, not the bytes.
 */
export function jpegOptions(quality: number): sharp.JpegOptions {
  return { quality, optimiseCoding: false, mozjpeg: false };
}

/** A sharp pipeline over untrusted bytes: bounded pixel count, failing on broken data. */
export function openImage(bytes: Buffer): sharp.Sharp {
  return sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' });
}

async function metadataOf(bytes: Buffer): Promise<sharp.Metadata> {
  try {
    return await openImage(bytes).metadata();
  } catch (err) {
    throw new ImageDecodeError(`The image cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
}

/** Width and height as displayed (EXIF orientations 5–8 swap them). */
function displaySize(meta: sharp.Metadata): { width: number; height: number } {
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}

/** The largest size within maxSide/maxPixels, keeping the aspect ratio. */
function fitWithin(
  width: number,
  height: number,
  maxSide?: number,
  maxPixels?: number,
): { width: number; height: number } {
  let scale = 1;
  if (maxSide !== undefined) scale = Math.min(scale, maxSide / Math.max(width, height));
  if (maxPixels !== undefined) scale = Math.min(scale, Math.sqrt(maxPixels / (width * height)));
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/**
 * Makes a photo acceptable to a provider: applies EXIF orientation, scales down (aspect kept) to
 * fit maxSide/maxPixels, re-encodes to an accepted type (JPEG when possible) and lowers the quality,
 * then the size, until it is under maxBytes. Bytes that already fit are returned untouched.
 */
export async function prepareInputImage(
  input: { path: string; mime: string } | { bytes: Buffer; mime: string },
  options: PrepareInputOptions,
): Promise<PreparedImage> {
  const bytes = 'bytes' in input ? input.bytes : await fs.readFile(input.path);
  const meta = await metadataOf(bytes);
  return decodeBudget.run(decodedBytes(meta), () => prepareDecoded(input.mime, bytes, meta, options), options.signal);
}

async function prepareDecoded(
  inputMime: string,
  bytes: Buffer,
  meta: sharp.Metadata,
  options: PrepareInputOptions,
): Promise<PreparedImage> {
  const input = { mime: inputMime };
  const shown = displaySize(meta);
  const target = fitWithin(shown.width, shown.height, options.maxSide, options.maxPixels);
  const oriented = (meta.orientation ?? 1) === 1;
  const fitsSize = target.width === shown.width && target.height === shown.height;
  const fitsBytes = options.maxBytes === undefined || bytes.length <= options.maxBytes;
  if (options.accepted.includes(input.mime) && oriented && fitsSize && fitsBytes) {
    return { bytes, mime: input.mime, width: shown.width, height: shown.height };
  }
  const format: 'jpeg' | 'png' | 'webp' = options.accepted.includes('image/jpeg')
    ? 'jpeg'
    : options.accepted.includes('image/webp')
      ? 'webp'
      : 'png';
  let size = target;
  let quality = 90;
  for (let attempt = 0; attempt < 8; attempt++) {
    let out: { data: Buffer; info: sharp.OutputInfo };
    try {
      out = await openImage(bytes)
        .rotate()
        .resize(size.width, size.height, { fit: 'fill' })
        .toFormat(format, { quality })
        .toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new ImageDecodeError(`The image cannot be re-encoded: ${(err as Error).message}`, { cause: err });
    }
    if (options.maxBytes === undefined || out.data.length <= options.maxBytes) {
      return { bytes: out.data, mime: `image/${format}`, width: out.info.width, height: out.info.height };
    }
    if (format !== 'png' && quality > 60) quality -= 15;
    else
      size = { width: Math.max(1, Math.floor(size.width * 0.8)), height: Math.max(1, Math.floor(size.height * 0.8)) };
  }
  throw new ImageDecodeError(`The image cannot be brought under ${options.maxBytes} bytes`);
}

/**
 * The slot's output settings applied to a provider's result: orientation, longest side, format
 * and quality. Without settings (or with format "original" and nothing to change), the provider's
 * bytes are returned as they are.
 */
export async function normalizeOutputImage(
  bytes: Buffer,
  mime: string,
  output: OutputSettings | undefined,
  signal?: AbortSignal,
  guestUrl?: string,
): Promise<{ bytes: Buffer; mime: string }> {
  if (output === undefined) return { bytes, mime };
  const meta = await metadataOf(bytes);
  return decodeBudget.run(decodedBytes(meta), () => normalizeDecoded(bytes, mime, meta, output, guestUrl), signal);
}

/** `guestUrl`: printed as a QR code when the slot's guest_link is enabled (in the same encode). */
async function normalizeDecoded(
  bytes: Buffer,
  mime: string,
  meta: sharp.Metadata,
  output: OutputSettings,
  guestUrl?: string,
): Promise<{ bytes: Buffer; mime: string }> {
  const shown = displaySize(meta);
  const target = fitWithin(shown.width, shown.height, output.max_side);
  const wantedFormat =
    output.format === undefined || output.format === 'original' ? (formatForMime(mime) ?? 'jpeg') : output.format;
  const needsResize = target.width !== shown.width || target.height !== shown.height;
  const needsRotate = (meta.orientation ?? 1) !== 1;
  const sameFormat = mimeForFormat(meta.format) === mimeForFormat(wantedFormat);
  const stamp = output.guest_link?.enabled && guestUrl ? output.guest_link : undefined;
  if (
    !stamp &&
    !needsResize &&
    !needsRotate &&
    sameFormat &&
    (output.format === 'original' || output.quality === undefined)
  )
    return { bytes, mime };
  try {
    let pipeline = openImage(bytes).rotate();
    if (needsResize) pipeline = pipeline.resize(target.width, target.height, { fit: 'fill' });
    if (stamp) {
      // Decoded once to pixels, the plate pasted in, encoded once (see src/media/guest-qr.ts).
      const [decoded, overlay] = await Promise.all([
        pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }),
        guestLinkOverlay(target.width, target.height, stamp, guestUrl!),
      ]);
      pasteOverlay(decoded.data, decoded.info.width, decoded.info.channels, overlay);
      pipeline = sharp(decoded.data, {
        raw: { width: decoded.info.width, height: decoded.info.height, channels: decoded.info.channels as 3 | 4 },
      });
    }
    const quality = output.quality ?? 90;
    const data =
      wantedFormat === 'png'
        ? await pipeline.png().toBuffer()
        : wantedFormat === 'webp'
          ? await pipeline.webp({ quality }).toBuffer()
          : await pipeline.flatten({ background: '#ffffff' }).jpeg(jpegOptions(quality)).toBuffer();
    return { bytes: data, mime: `image/${wantedFormat}` };
  } catch (err) {
    throw new ImageDecodeError(`The result cannot be normalized: ${(err as Error).message}`, { cause: err });
  }
}
