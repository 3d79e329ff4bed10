import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageDecodeError, normalizeOutputImage, prepareInputImage } from '../../src/media/imaging.js';
import { makeJpeg, makeJpegOfSize, makePng } from '../support/images.js';

describe('input preparation for providers', () => {
  it('passes an upright photo that fits through untouched', async () => {
    const bytes = await makeJpeg({ width: 640, height: 480 });
    const out = await prepareInputImage({ bytes, mime: 'image/jpeg' }, { accepted: ['image/jpeg'], maxSide: 2048 });
    expect(out.bytes).toBe(bytes);
    expect([out.width, out.height]).toEqual([640, 480]);
  });

  it('downscales over the pixel and side limits keeping the aspect ratio, and applies the orientation', async () => {
    const bytes = await makeJpeg({ width: 4000, height: 2000, orientation: 6 });
    const out = await prepareInputImage(
      { bytes, mime: 'image/jpeg' },
      { accepted: ['image/jpeg'], maxPixels: 1_000_000 },
    );
    const meta = await sharp(out.bytes).metadata();
    expect(meta.width! * meta.height!).toBeLessThanOrEqual(1_000_000);
    expect(meta.height! / meta.width!).toBeCloseTo(2, 1); // portrait after orientation 6
    const bySide = await prepareInputImage(
      { bytes: await makeJpeg({ width: 3000, height: 1500 }), mime: 'image/jpeg' },
      { accepted: ['image/jpeg'], maxSide: 1000 },
    );
    expect([bySide.width, bySide.height]).toEqual([1000, 500]);
  });

  it('re-encodes under a byte limit and converts to an accepted type', async () => {
    const big = await makeJpegOfSize(600_000);
    const small = await prepareInputImage(
      { bytes: big, mime: 'image/jpeg' },
      { accepted: ['image/jpeg'], maxBytes: 200_000 },
    );
    expect(small.bytes.length).toBeLessThanOrEqual(200_000);
    const png = await makePng({ width: 100, height: 80 });
    const converted = await prepareInputImage({ bytes: png, mime: 'image/png' }, { accepted: ['image/jpeg'] });
    expect(converted.mime).toBe('image/jpeg');
    expect((await sharp(converted.bytes).metadata()).format).toBe('jpeg');
  });
});

describe('output normalization for the booth', () => {
  it('keeps the bytes without output settings; converts format, shrinks to max_side, applies quality', async () => {
    const png = await makePng({ width: 1600, height: 1200 });
    expect((await normalizeOutputImage(png, 'image/png', undefined)).bytes).toBe(png);
    const jpeg = await normalizeOutputImage(png, 'image/png', { format: 'jpeg', max_side: 800 });
    expect(jpeg.mime).toBe('image/jpeg');
    const meta = await sharp(jpeg.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 800, 600]);
    const photo = await makeJpegOfSize(300_000);
    const low = await normalizeOutputImage(photo, 'image/jpeg', { format: 'jpeg', quality: 40 });
    const high = await normalizeOutputImage(photo, 'image/jpeg', { format: 'jpeg', quality: 95 });
    expect(low.bytes.length).toBeLessThan(high.bytes.length);
    const asPng = await normalizeOutputImage(photo, 'image/jpeg', { format: 'png' });
    expect(asPng.mime).toBe('image/png');
  });

  it('an undecodable result is an ImageDecodeError', async () => {
    await expect(
      normalizeOutputImage(Buffer.from('not an image'), 'image/png', { format: 'jpeg' }),
    ).rejects.toBeInstanceOf(ImageDecodeError);
  });
});
