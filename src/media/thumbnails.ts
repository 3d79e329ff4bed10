import { openImage } from './imaging.js';

/** Longest side of a gallery thumbnail, in pixels. */
export const THUMB_SIDE = 320;

/** A result's gallery thumbnail: at most 320 px on its longest side, WebP (≈10–20 KB). */
export async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  return openImage(bytes)
    .rotate()
    .resize(THUMB_SIDE, THUMB_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 72 })
    .toBuffer();
}
