import sharp from 'sharp';

/** Test fixtures made with sharp at test time (no binary files in the repository). */

export async function makeJpeg(options: {
  width: number;
  height: number;
  orientation?: number;
  color?: string;
  quality?: number;
}): Promise<Buffer> {
  let img = sharp({
    create: { width: options.width, height: options.height, channels: 3, background: options.color ?? '#c87828' },
  });
  if (options.orientation) img = img.withMetadata({ orientation: options.orientation });
  return img.jpeg({ quality: options.quality ?? 90 }).toBuffer();
}

export async function makePng(options: {
  width: number;
  height: number;
  alpha?: boolean;
  color?: string;
}): Promise<Buffer> {
  return sharp({
    create: {
      width: options.width,
      height: options.height,
      channels: options.alpha ? 4 : 3,
      background: options.color ?? (options.alpha ? { r: 20, g: 120, b: 220, alpha: 0.5 } : '#1478dc'),
    },
  })
    .png()
    .toBuffer();
}

/** A noisy JPEG of at least about `targetBytes` (noise does not compress, so the size is predictable). */
export async function makeJpegOfSize(targetBytes: number): Promise<Buffer> {
  let side = Math.max(64, Math.round(Math.sqrt(targetBytes / 1.2)));
  for (;;) {
    const raw = Buffer.alloc(side * side * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 24) ^ (i >> 7);
    const jpeg = await sharp(raw, { raw: { width: side, height: side, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer();
    if (jpeg.length >= targetBytes) return jpeg;
    side = Math.ceil(side * Math.sqrt(targetBytes / jpeg.length) * 1.02);
  }
}

/** An opaque coloured frame with a fully transparent window inset by `holeInsetPercent` on every side. */
export async function makeFrameTemplate(options: {
  width: number;
  height: number;
  holeInsetPercent: number;
  color?: string;
}): Promise<Buffer> {
  const { width, height } = options;
  const inset = {
    x: Math.round((width * options.holeInsetPercent) / 100),
    y: Math.round((height * options.holeInsetPercent) / 100),
  };
  const hole = Buffer.from(
    `<svg width="${width}" height="${height}"><rect x="${inset.x}" y="${inset.y}" width="${width - 2 * inset.x}" height="${height - 2 * inset.y}" fill="#000"/></svg>`,
  );
  return sharp({ create: { width, height, channels: 4, background: options.color ?? '#e01030' } })
    .composite([{ input: hole, blend: 'dest-out' }])
    .png()
    .toBuffer();
}
