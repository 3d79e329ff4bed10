/** What several benchmarks share: a database on PHOTOCHANGER_BENCH_DATABASE_URL's server, a textured photo. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import sharp from 'sharp';

/**
 * A fresh database on the server PHOTOCHANGER_BENCH_DATABASE_URL names, and how to drop it;
 * undefined when that variable is not set (the benchmark uses an embedded PostgreSQL then).
 */
export async function externalBenchDatabase(
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = process.env.PHOTOCHANGER_BENCH_DATABASE_URL;
  if (!admin) return undefined;
  const name = `pc_bench_${prefix}_${Date.now()}`;
  const query = async (text: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A photo with texture (gradients and noise compress like a real one, not like a flat fill). */
export async function texturedJpeg(
  width: number,
  height: number,
  options: { period: number; quality: number },
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++)
    raw[i] = (Math.sin(i / options.period) * 60 + 128 + (((i * 2654435761) >>> 24) % 40)) | 0;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .blur(1.2)
    .jpeg({ quality: options.quality })
    .toBuffer();
}

/** A multipart/form-data body as a booth writes it (fields in the given order). */
export function multipart(fields: Array<{ name: string; value: Buffer | string; filename?: string; type?: string }>): {
  body: Buffer;
  contentType: string;
} {
  const boundary = `----bench${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const f of fields) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"${f.filename ? `; filename="${f.filename}"` : ''}\r\n${f.type ? `Content-Type: ${f.type}\r\n` : ''}\r\n`,
      ),
      Buffer.isBuffer(f.value) ? f.value : Buffer.from(f.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
