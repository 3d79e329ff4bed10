/**
 * The built-in `local` provider: real image operations with sharp, no network, no key. It makes
 * the product work on a fresh machine and is the deterministic provider of tests and benchmarks
 * (the same input and settings give the same bytes).
 */
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { Type } from 'typebox';
import { decodeBudget, decodedBytesOf } from '../../media/decode-budget.js';
import { ImageDecodeError, jpegOptions, openImage, OutputSettingsSchema } from '../../media/imaging.js';
import {
  ProviderFailure,
  type OperationDescriptor,
  type ProviderDriver,
  type ProviderRequest,
  type TemplateImage,
} from '../types.js';
import { LOCAL_LABELS } from './labels.js';
import { escapeXml } from '../../media/guest-qr.js';

const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp'] as const;
const MAX_INPUT_BYTES = 50 * 1024 * 1024;
const JPEG_QUALITY = 90;

const maxSide = Type.Integer({
  minimum: 256,
  maximum: 8192,
  default: 2048,
  description: 'Longest side of the result in pixels (never enlarged)',
});
const colour = Type.String({
  pattern: '^#[0-9a-fA-F]{6}$',
  default: '#ffffff',
  description: 'Background colour where the photo does not cover the canvas',
});
const output = Type.Optional(OutputSettingsSchema);

export const STYLES = ['bw', 'sepia', 'vivid', 'cool', 'warm', 'vintage'] as const;
type Style = (typeof STYLES)[number];

const operations: OperationDescriptor[] = [
  {
    id: 'neutral',
    title: 'Neutral',
    description: 'Upright orientation (EXIF), resized to the maximum side, re-encoded as JPEG.',
    settingsSchema: Type.Object({ max_side: maxSide, output }, { additionalProperties: false }),
    acceptedMimeTypes: ACCEPTED,
    maxInputBytes: MAX_INPUT_BYTES,
    templateKeys: [],
  },
  {
    id: 'style',
    title: 'Style filter',
    description: 'A colour style (black & white, sepia, vivid, cool, warm, vintage) blended over the photo.',
    settingsSchema: Type.Object(
      {
        style: Type.Union(
          STYLES.map((s) => Type.Literal(s)),
          { default: 'bw', description: 'The style' },
        ),
        strength: Type.Integer({
          minimum: 0,
          maximum: 100,
          default: 100,
          description: 'How strongly the style is applied (%)',
        }),
        max_side: maxSide,
        output,
      },
      { additionalProperties: false },
    ),
    acceptedMimeTypes: ACCEPTED,
    maxInputBytes: MAX_INPUT_BYTES,
    templateKeys: [],
  },
  {
    id: 'frame',
    title: 'Frame / template',
    description:
      'Places the photo into a frame template. A template with transparency is laid over the photo (the photo shows through its transparent area); an opaque template is the background and the photo sits inside the inset rectangle. The result has the template’s size.',
    settingsSchema: Type.Object(
      {
        fit: Type.Union([Type.Literal('cover'), Type.Literal('contain')], {
          default: 'cover',
          description: 'Fill the photo area (cropping) or fit inside it',
        }),
        padding_percent: Type.Integer({
          minimum: 0,
          maximum: 40,
          default: 0,
          description: 'Margin of the photo area on every side, in % of the template',
        }),
        background: colour,
        output,
      },
      { additionalProperties: false },
    ),
    acceptedMimeTypes: ACCEPTED,
    maxInputBytes: MAX_INPUT_BYTES,
    templateKeys: [{ key: 'frame', title: 'Frame (PNG with a transparent window, or a background)', required: true }],
  },
  {
    id: 'background',
    title: 'Background',
    description:
      'Puts the photo (e.g. a PNG cut-out from background removal) over a background image, fitted and centred at the bottom.',
    settingsSchema: Type.Object(
      {
        scale_percent: Type.Integer({
          minimum: 10,
          maximum: 100,
          default: 90,
          description: 'Height of the photo relative to the background (%)',
        }),
        output,
      },
      { additionalProperties: false },
    ),
    acceptedMimeTypes: ACCEPTED,
    maxInputBytes: MAX_INPUT_BYTES,
    templateKeys: [{ key: 'background', title: 'Background image', required: true }],
  },

  {
    id: 'booth_test',
    title: 'Booth test',
    description:
      'Answers the booth’s own photo with a banner “PhotoChanger OK · slot · time”: wire a booth (and read its requests in Jobs → Booths) without spending AI calls.',
    settingsSchema: Type.Object({ max_side: maxSide, output }, { additionalProperties: false }),
    acceptedMimeTypes: ACCEPTED,
    maxInputBytes: MAX_INPUT_BYTES,
    templateKeys: [],
  },
];

export function createLocalProvider(): ProviderDriver {
  return {
    id: 'local',
    title: 'Built-in (offline)',
    labels: LOCAL_LABELS,
    operations,
    maxConcurrency: 4,
    readsPhoto: true,
    readiness: async () => ({ configured: true }),
    async process(request) {
      const photo = request.photo.contents ?? (await fs.readFile(request.photo.path));
      request.signal.throwIfAborted();
      const started = Date.now();
      // Decoding the photo is the memory this costs (a frame or background is held to the same limit).
      const cost = (await decodedBytesOf(photo)) ?? 0;
      const bytes = await decodeBudget.run(cost, () => run(request, photo), request.signal);
      request.recordCall({
        provider: 'local',
        model: request.operation,
        attempt: 1,
        durationMs: Date.now() - started,
        outcome: 'success',
      });
      return { bytes, mime: 'image/jpeg' };
    },
  };
}

async function run(request: ProviderRequest, photo: Buffer): Promise<Buffer> {
  const s = request.settings;
  try {
    switch (request.operation) {
      case 'neutral':
        return await upright(photo, num(s.max_side, 2048)).jpeg(jpegOptions(JPEG_QUALITY)).toBuffer();
      case 'style':
        return await applyStyle(
          photo,
          (s.style as Style) ?? 'bw',
          num(s.strength, 100),
          num(s.max_side, 2048),
          request.signal,
        );
      case 'frame':
        return await intoFrame(photo, template(request, 'frame'), s, request.signal);
      case 'background':
        return await overBackground(photo, template(request, 'background'), num(s.scale_percent, 90), request.signal);
      case 'booth_test':
        return await withBanner(
          photo,
          `PhotoChanger OK · ${request.slotId} · ${request.clock.now().toLocaleTimeString('en-GB', { hour12: false })}`,
          num(s.max_side, 2048),
        );
      default:
        throw new ProviderFailure('operation_unknown', `The local provider has no operation ${request.operation}`);
    }
  } catch (err) {
    if (err instanceof ProviderFailure || request.signal.aborted) throw err;
    throw new ProviderFailure('invalid_image', `The photo or template cannot be processed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function template(request: ProviderRequest, key: string): TemplateImage {
  const t = request.templates.find((x) => x.key === key);
  if (!t)
    throw new ProviderFailure(
      'template_missing',
      `The slot has no "${key}" template image; upload one in the slot editor`,
    );
  return t;
}

function upright(photo: Buffer, side: number): sharp.Sharp {
  return openImage(photo).rotate().resize(side, side, { fit: 'inside', withoutEnlargement: true });
}

const SEPIA: sharp.Matrix3x3 = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

function filtered(base: sharp.Sharp, style: Style, width: number, height: number): sharp.Sharp {
  switch (style) {
    case 'bw':
      return base.greyscale().toColourspace('srgb');
    case 'sepia':
      return base.recomb(SEPIA);
    case 'vivid':
      return base.modulate({ saturation: 1.5 }).linear(1.12, -12);
    case 'cool':
      return base.linear([0.92, 1.0, 1.12], [0, 0, 8]);
    case 'warm':
      return base.linear([1.12, 1.0, 0.88], [8, 0, 0]);
    case 'vintage': {
      const vignette = Buffer.from(
        `<svg width="${width}" height="${height}"><defs><radialGradient id="v" cx="50%" cy="50%" r="75%"><stop offset="55%" stop-color="#000" stop-opacity="0"/><stop offset="100%" stop-color="#000" stop-opacity="0.55"/></radialGradient></defs><rect width="100%" height="100%" fill="url(#v)"/></svg>`,
      );
      return base
        .recomb(SEPIA)
        .modulate({ brightness: 0.96, saturation: 0.8 })
        .composite([{ input: vignette, blend: 'over' }]);
    }
  }
}

async function applyStyle(
  photo: Buffer,
  style: Style,
  strength: number,
  side: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const { data: base, info } = await upright(photo, side).removeAlpha().toBuffer({ resolveWithObject: true });
  signal.throwIfAborted();
  const styled = await filtered(sharp(base), style, info.width, info.height).removeAlpha().toBuffer();
  signal.throwIfAborted();
  if (strength >= 100) return sharp(styled).jpeg(jpegOptions(JPEG_QUALITY)).toBuffer();
  const overlay = await sharp(styled)
    .ensureAlpha(strength / 100)
    .png()
    .toBuffer();
  return sharp(base)
    .composite([{ input: overlay }])
    .jpeg(jpegOptions(JPEG_QUALITY))
    .toBuffer();
}

async function loadTemplate(
  t: TemplateImage,
): Promise<{ bytes: Buffer; width: number; height: number; hasAlpha: boolean }> {
  const bytes = await fs.readFile(t.path);
  const meta = await openImage(bytes)
    .metadata()
    .catch((err: unknown) => {
      throw new ImageDecodeError(`The "${t.key}" template cannot be decoded: ${(err as Error).message}`);
    });
  return { bytes, width: meta.width ?? 0, height: meta.height ?? 0, hasAlpha: meta.hasAlpha ?? false };
}

async function intoFrame(
  photo: Buffer,
  frameTemplate: TemplateImage,
  s: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Buffer> {
  const frame = await loadTemplate(frameTemplate);
  const pad = num(s.padding_percent, 0) / 100;
  const area = {
    left: Math.round(frame.width * pad),
    top: Math.round(frame.height * pad),
    width: Math.max(1, Math.round(frame.width * (1 - 2 * pad))),
    height: Math.max(1, Math.round(frame.height * (1 - 2 * pad))),
  };
  const background = typeof s.background === 'string' ? s.background : '#ffffff';
  const fitted = await openImage(photo)
    .rotate()
    .resize(area.width, area.height, { fit: s.fit === 'contain' ? 'contain' : 'cover', background })
    .flatten({ background })
    .toBuffer();
  signal.throwIfAborted();
  const layers: sharp.OverlayOptions[] = [{ input: fitted, left: area.left, top: area.top }];
  const canvas = frame.hasAlpha
    ? sharp({ create: { width: frame.width, height: frame.height, channels: 3, background } })
    : sharp(frame.bytes).rotate();
  if (frame.hasAlpha) layers.push({ input: frame.bytes, left: 0, top: 0 });
  return canvas.composite(layers).flatten({ background }).jpeg(jpegOptions(JPEG_QUALITY)).toBuffer();
}

async function overBackground(
  photo: Buffer,
  backgroundTemplate: TemplateImage,
  scalePercent: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const bg = await loadTemplate(backgroundTemplate);
  const maxHeight = Math.max(1, Math.round((bg.height * scalePercent) / 100));
  const subject = await openImage(photo)
    .rotate()
    .resize(bg.width, maxHeight, { fit: 'inside' })
    .ensureAlpha()
    .png()
    .toBuffer({ resolveWithObject: true });
  signal.throwIfAborted();
  const left = Math.round((bg.width - subject.info.width) / 2);
  const top = bg.height - subject.info.height;
  return sharp(bg.bytes)
    .rotate()
    .composite([{ input: subject.data, left, top }])
    .flatten({ background: '#ffffff' })
    .jpeg(jpegOptions(JPEG_QUALITY))
    .toBuffer();
}

/** The photo, upright and resized, with a banner across its bottom (the booth test). */
async function withBanner(photo: Buffer, text: string, side: number): Promise<Buffer> {
  const { data, info } = await upright(photo, side).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const height = Math.min(info.height, Math.max(24, Math.round(info.height * 0.1)));
  const fontSize = Math.max(
    10,
    Math.min(Math.round(height * 0.5), Math.floor((info.width * 0.92) / (text.length * 0.6))),
  );
  const banner = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${info.width}" height="${height}"><rect width="100%" height="100%" fill="#1b5e20" fill-opacity="0.88"/><text x="${info.width / 2}" y="${Math.round(height / 2 + fontSize * 0.36)}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${fontSize}" fill="#ffffff" text-anchor="middle">${escapeXml(text)}</text></svg>`,
  );
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .composite([{ input: banner, left: 0, top: info.height - height }])
    .jpeg(jpegOptions(JPEG_QUALITY))
    .toBuffer();
}
