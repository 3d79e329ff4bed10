/**
 * A ZIP archive written as a stream: stored entries (photos do not compress), each file opened
 * one ahead of its turn, CRC-32 by zlib's native crc32. Entry sizes and CRCs follow each file
 * in a data descriptor, so nothing is read twice and nothing is buffered; ZIP64 records are added
 * when the archive passes 4 GiB or 65,535 entries (an event's photos can).
 *
 * Written here rather than taken from yazl/archiver: both compute CRC-32 in JavaScript, which held
 * an export to 28 % of the disk's read rate (docs/benchmarks.md, bench:gallery); this reaches the
 * target. The format is PKWARE's APPNOTE 6.3 (local header, data descriptor, central directory,
 * ZIP64 end records); tests read every archive back with yauzl.
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

export interface ZipEntry {
  /** The name in the archive (UTF-8). */
  name: string;
  mtime: Date;
  /** Opens the file's bytes when its turn comes; undefined leaves the entry out. */
  open(): Promise<AsyncIterable<Buffer> | Iterable<Buffer> | undefined>;
}

const U32 = 0xffffffff;
const U16 = 0xffff;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: UTF-8 names
const STORED = 0;

/** The DOS date and time of the entry (local time, as ZIP tools show it), within 1980–2107. */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.min(2107, Math.max(1980, d.getFullYear()));
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

interface Written {
  name: Buffer;
  time: number;
  date: number;
  crc: number;
  size: number;
  offset: number;
}

function localHeader(name: Buffer, time: number, date: number): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4); // version needed: 2.0
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(STORED, 8);
  b.writeUInt16LE(time, 10);
  b.writeUInt16LE(date, 12);
  // CRC and sizes (14–25) are zero: they follow in the data descriptor.
  b.writeUInt16LE(name.length, 26);
  b.writeUInt16LE(0, 28);
  return Buffer.concat([b, name]);
}

function dataDescriptor(crc: number, size: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(crc, 4);
  b.writeUInt32LE(size, 8);
  b.writeUInt32LE(size, 12);
  return b;
}

function centralEntry(e: Written, forceZip64: boolean): Buffer {
  const zip64 = forceZip64 || e.offset >= U32;
  const extra = zip64 ? Buffer.alloc(12) : Buffer.alloc(0);
  if (zip64) {
    extra.writeUInt16LE(0x0001, 0); // ZIP64 extended information
    extra.writeUInt16LE(8, 2);
    extra.writeBigUInt64LE(BigInt(e.offset), 4);
  }
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | 45, 4); // made by: UNIX, 4.5
  b.writeUInt16LE(zip64 ? 45 : 20, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(STORED, 10);
  b.writeUInt16LE(e.time, 12);
  b.writeUInt16LE(e.date, 14);
  b.writeUInt32LE(e.crc, 16);
  b.writeUInt32LE(e.size, 20);
  b.writeUInt32LE(e.size, 24);
  b.writeUInt16LE(e.name.length, 28);
  b.writeUInt16LE(extra.length, 30);
  // comment length, disk number, internal attributes: 0
  b.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
  b.writeUInt32LE(zip64 ? U32 : e.offset, 42);
  return Buffer.concat([b, e.name, extra]);
}

function endRecords(count: number, cdOffset: number, cdSize: number, forceZip64: boolean): Buffer {
  const zip64 = forceZip64 || count >= U16 || cdOffset >= U32 || cdSize >= U32;
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4); // size of the rest of this record
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    // this disk, disk with the central directory: 0
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? U16 : count, 8);
  end.writeUInt16LE(zip64 ? U16 : count, 10);
  end.writeUInt32LE(zip64 ? U32 : cdSize, 12);
  end.writeUInt32LE(zip64 ? U32 : cdOffset, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

/** Closes an opened entry that will not be read (a stream is destroyed, closing its file). */
function release(data: AsyncIterable<Buffer> | Iterable<Buffer> | undefined): void {
  const stream = data as { destroy?: () => void } | undefined;
  if (typeof stream?.destroy === 'function') stream.destroy();
}

/** The archive of these entries, produced as the reader pulls (backpressure from the consumer). */
export function zipStream(entries: Iterable<ZipEntry>, options: { forceZip64?: boolean } = {}): Readable {
  const forceZip64 = options.forceZip64 ?? false;
  async function* generate(): AsyncGenerator<Buffer> {
    const written: Written[] = [];
    let offset = 0;
    const list = [...entries];
    // The next file is opened while this one streams (one file ahead: its open does not stall the download).
    let next = list.length ? list[0]!.open() : undefined;
    let current: Awaited<ReturnType<ZipEntry['open']>>;
    try {
      for (let i = 0; i < list.length; i++) {
        const entry = list[i]!;
        const data = await next;
        current = data;
        next = i + 1 < list.length ? list[i + 1]!.open() : undefined;
        next?.catch(() => undefined); // its error is raised when its turn comes
        if (data === undefined) continue;
        const name = Buffer.from(entry.name, 'utf8');
        const { time, date } = dosDateTime(entry.mtime);
        const header = localHeader(name, time, date);
        const start = offset;
        yield header;
        offset += header.length;
        let crc = 0;
        let size = 0;
        for await (const chunk of data) {
          crc = zlib.crc32(chunk, crc);
          size += chunk.length;
          yield chunk;
        }
        current = undefined;
        if (size >= U32) throw new Error(`${entry.name} is larger than 4 GiB`);
        const descriptor = dataDescriptor(crc, size);
        yield descriptor;
        offset += size + descriptor.length;
        written.push({ name, time, date, crc, size, offset: start });
      }
    } finally {
      // A download that ends early (the client went away, a read failed) closes the file being
      // read and the one opened ahead.
      release(current);
      void next?.then(release, () => undefined);
    }
    const cdOffset = offset;
    let cdSize = 0;
    for (const e of written) {
      const record = centralEntry(e, forceZip64);
      cdSize += record.length;
      yield record;
    }
    yield endRecords(written.length, cdOffset, cdSize, forceZip64);
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 20 });
}
