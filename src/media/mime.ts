/**
 * The one table of image types: MIME type, file extension and sharp's format name, and the
 * recognition of a type from an image's first bytes. Everything that names, stores or sends an
 * image by its type uses this (results, templates, temporary links, provider uploads).
 */
import type sharp from 'sharp';

interface ImageType {
  mime: string;
  extension: string;
  /** sharp's output format, when sharp can write it. */
  format?: keyof sharp.FormatEnum;
}

const TYPES: readonly ImageType[] = [
  { mime: 'image/jpeg', extension: 'jpg', format: 'jpeg' },
  { mime: 'image/png', extension: 'png', format: 'png' },
  { mime: 'image/webp', extension: 'webp', format: 'webp' },
  { mime: 'image/heic', extension: 'heic' },
  { mime: 'image/heif', extension: 'heif', format: 'heif' },
  { mime: 'image/gif', extension: 'gif', format: 'gif' },
  { mime: 'image/avif', extension: 'avif', format: 'avif' },
];
const BY_MIME = new Map(TYPES.map((t) => [t.mime, t]));
const BY_FORMAT = new Map<string, ImageType>([
  ...TYPES.filter((t) => t.format).map((t) => [t.format!, t] as const),
  ['jpg', BY_MIME.get('image/jpeg')!],
]);

/** `jpg` for image/jpeg…; `bin` for a type this table does not know. */
export function extensionForMime(mime: string): string {
  return BY_MIME.get(mime)?.extension ?? 'bin';
}

/** The MIME type of a sharp format name (`jpeg`, `png`, `heif`…), if known. */
export function mimeForFormat(format: string | undefined): string | undefined {
  return format ? BY_FORMAT.get(format)?.mime : undefined;
}

/** sharp's output format for a MIME type it can write, if any. */
export function formatForMime(mime: string): keyof sharp.FormatEnum | undefined {
  return BY_MIME.get(mime)?.format;
}

/** Magic-number sniffing of the common image formats (a provider answering non-image bytes is a failure). */
export function sniffImageMime(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  if (bytes.length >= 12 && bytes.toString('latin1', 4, 8) === 'ftyp') {
    const brand = bytes.toString('latin1', 8, 12);
    if (brand.startsWith('avif')) return 'image/avif';
    return 'image/heic';
  }
  if (bytes.length >= 6 && bytes.toString('latin1', 0, 3) === 'GIF') return 'image/gif';
  return undefined;
}
