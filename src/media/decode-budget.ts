/**
 * Memory for decoding images. A compressed file says little about its decoded size: a 1.2 MB
 * interlaced 16-bit RGBA PNG of 10000×10000 decodes to 800 MB. The decoded size is computed from
 * the header (width × height × channels × bytes per sample) before anything is decoded: one image
 * over the per-image limit is refused, and the decodes running at once share a total budget
 * (a decode waits for room; one larger than the whole budget never starts).
 */
import sharp from 'sharp';

const BYTES_PER_SAMPLE: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

export const MIB = 1024 * 1024;

/** Decoded size of an image from its header (0 when the header does not say). */
export function decodedBytes(meta: Pick<sharp.Metadata, 'width' | 'height' | 'channels' | 'depth'>): number {
  const samples = (meta.width ?? 0) * (meta.height ?? 0) * (meta.channels ?? 4);
  return samples * (BYTES_PER_SAMPLE[meta.depth ?? 'uchar'] ?? 4);
}

/** Reads only the header of an image file or buffer. */
export async function decodedBytesOf(input: string | Buffer): Promise<number | undefined> {
  try {
    return decodedBytes(await sharp(input, { limitInputPixels: false }).metadata());
  } catch {
    return undefined; // not an image sharp can read: the decode itself will say so
  }
}

export class DecodeTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `The image would take ${Math.ceil(bytes / MIB)} MiB of memory to decode; the limit is ${Math.floor(limit / MIB)} MiB`,
    );
    this.name = 'DecodeTooLargeError';
  }
}

export class DecodeBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; wake: () => void }> = [];

  constructor(
    public perImageBytes: number,
    public totalBytes: number,
  ) {}

  configure(limits: { perImageBytes: number; totalBytes: number }): void {
    this.perImageBytes = limits.perImageBytes;
    this.totalBytes = limits.totalBytes;
  }

  /** Throws DecodeTooLargeError when one image alone is over the per-image limit. */
  check(bytes: number): void {
    if (bytes > Math.min(this.perImageBytes, this.totalBytes))
      throw new DecodeTooLargeError(bytes, Math.min(this.perImageBytes, this.totalBytes));
  }

  /** Runs `work` once `bytes` fit in the budget (aborts with `signal`). */
  async run<T>(bytes: number, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.check(bytes);
    while (this.used + bytes > this.totalBytes) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve();
        };
        // Woken normally, the abort listener goes too: a job waiting through many wake-ups keeps one.
        const entry = {
          bytes,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        this.waiting.push(entry);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.used += bytes;
    try {
      return await work();
    } finally {
      this.used -= bytes;
      for (const w of this.waiting.splice(0)) w.wake();
    }
  }

  get inUse(): number {
    return this.used;
  }
}

/** The process's budget (main.ts configures it from PHOTOCHANGER_DECODE_*). */
export const decodeBudget = new DecodeBudget(256 * MIB, 768 * MIB);
