import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { zipStream, type ZipEntry } from '../../src/gallery/zip-stream.js';

const run = promisify(execFile);

function readZip(bytes: Buffer): Promise<Array<{ name: string; data: Buffer; mtime: Date }>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out: Array<{ name: string; data: Buffer; mtime: Date }> = [];
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          void buffer(stream).then((data) => {
            out.push({ name: entry.fileName, data, mtime: entry.getLastModDate() });
            zip.readEntry();
          }, reject);
        }),
      );
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

const entry = (name: string, data: Buffer, mtime = new Date(2026, 10, 27, 20, 13, 6)): ZipEntry => ({
  name,
  mtime,
  open: async () =>
    (async function* () {
      // In several chunks, as a file stream gives them.
      for (let i = 0; i < data.length; i += 7000) yield data.subarray(i, i + 7000);
    })(),
});

describe('streamed ZIP writer', () => {
  const files = [randomBytes(50_000), randomBytes(1), Buffer.alloc(0), randomBytes(123_457)];
  const names = ['20261127-201306Z_slot-001_aaaaaaaa.jpg', 'b.png', 'empty.bin', 'фото-с-кириллицей.jpg'];

  for (const forceZip64 of [false, true]) {
    it(`writes entries a ZIP reader and Python's zipfile accept, byte for byte${forceZip64 ? ' (ZIP64 records)' : ''}`, async () => {
      const bytes = await buffer(
        zipStream(
          files.map((f, i) => entry(names[i]!, f)),
          { forceZip64 },
        ),
      );
      const read = await readZip(bytes);
      expect(read.map((r) => r.name)).toEqual(names);
      read.forEach((r, i) => expect(r.data.equals(files[i]!)).toBe(true));
      expect(read[0]!.mtime.getMinutes()).toBe(13);
      // An independent implementation checks every CRC.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pc-zip-'));
      try {
        await fs.writeFile(path.join(dir, 'a.zip'), bytes);
        const { stdout } = await run('python3', [
          '-c',
          'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip() or "ok", len(z.namelist()))',
          path.join(dir, 'a.zip'),
        ]);
        expect(stdout.trim()).toBe(`ok ${names.length}`);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('an archive of no entries is a valid empty ZIP', async () => {
    expect(await readZip(await buffer(zipStream([])))).toEqual([]);
  });

  it('opens each file only when its turn comes (one ahead)', async () => {
    const opened: string[] = [];
    const big = randomBytes(3 << 20);
    const lazy = names.map((name) => ({
      ...entry(name, big),
      open: async () => (opened.push(name), entry(name, big).open()),
    }));
    const stream = zipStream(lazy);
    const reader = stream[Symbol.asyncIterator]();
    await reader.next(); // the first local header
    await new Promise((r) => setTimeout(r, 50)); // let it read ahead as far as it will
    // It reads ahead at most its buffer (1 MiB), inside the first file, and has opened only the next
    // file: the others are not open yet.
    expect(opened).toEqual([names[0], names[1]]);
    stream.destroy();
  });

  it('a download that ends early closes the file being read and the one opened ahead (red team finding 9)', async () => {
    const closed: string[] = [];
    const big = randomBytes(3 << 20);
    // Streams as fs gives them (destroying one closes its file).
    const files = names.map((name) => ({
      ...entry(name, big),
      open: async () =>
        Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]).once('close', () => closed.push(name)),
    }));
    const stream = zipStream(files);
    const reader = stream[Symbol.asyncIterator]();
    await reader.next();
    await new Promise((r) => setTimeout(r, 50));
    stream.destroy(); // the client went away
    await new Promise((r) => setTimeout(r, 50));
    expect(closed.sort()).toEqual([names[0], names[1]].sort());
  });
});
