import sharp from 'sharp';
import { ProviderCallFailure } from './http.js';

/**
 * A provider's image is checked before it reaches the booth: it decodes, it is not far smaller
 * than what was asked (a Gemini 3 "thought" draft is 1×1; a result at least a quarter of the
 * requested long side passes), and it is not blank (one flat colour). A failed check is
 * `invalid_response`, retried and failed over like any provider failure (src/providers/http.ts).
 */
export async function checkPlausibleImage(
  bytes: Buffer,
  expected: { longSide: number },
  title: string,
  responseId?: string,
): Promise<void> {
  const fail = (why: string) => {
    throw new ProviderCallFailure(
      'invalid_response',
      `${title} answered an implausible image: ${why}`,
      { httpStatus: 200, retryable: true },
      responseId,
    );
  };
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(bytes, { failOn: 'error' }).metadata();
    width = meta.autoOrient?.width ?? meta.width ?? 0;
    height = meta.autoOrient?.height ?? meta.height ?? 0;
  } catch (err) {
    fail(`it does not decode (${(err as Error).message})`);
  }
  const minimum = Math.max(1, Math.floor(expected.longSide / 4));
  if (Math.max(width, height) < minimum)
    fail(
      `${width}×${height} px, far smaller than the ${expected.longSide} px asked for (at least ${minimum} px expected)`,
    );
  // Blank: every channel of a small copy is one flat value (a black or white page). The copy is
  // made with shrink-on-load and measured here: sharp's stats() would decode the whole image
  // again, whatever the resize (50 ms for a 1K JPEG against 10 ms; bench:overhead).
  const small = await sharp(bytes, { failOn: 'none' })
    .resize(48, 48, { fit: 'inside' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => fail(`it does not decode (${(err as Error).message})`));
  if (small && isFlat(small.data, small.info.channels)) fail(`${width}×${height} px of one flat colour`);
}

/** Whether every channel of raw pixels has a standard deviation below 1 (one flat colour). */
function isFlat(pixels: Buffer, channels: number): boolean {
  const n = pixels.length / channels;
  if (n === 0) return true;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let squares = 0;
    for (let i = c; i < pixels.length; i += channels) {
      sum += pixels[i]!;
      squares += pixels[i]! * pixels[i]!;
    }
    const mean = sum / n;
    if (squares / n - mean * mean >= 1) return false;
  }
  return true;
}
