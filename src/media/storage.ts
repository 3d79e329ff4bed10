import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { extensionForMime } from './mime.js';
import { isSlotId } from '../schemas.js';

/** Directories under MEDIA_ROOT (docs/operations.md, Media and retention). */
export const MEDIA_DIRS = ['payloads', 'results', 'thumbs', 'templates', 'temporary'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A client's file name made safe to use on disk: the last segment of a Windows or POSIX path,
 * control characters and anything outside [A-Za-z0-9._-] replaced, no leading dots, bounded length.
 */
export function sanitizeFileName(name: string | undefined, fallback = 'upload'): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+/g, '_')
    .slice(0, 100);
  return cleaned === '' || cleaned === '_' ? fallback : cleaned;
}

/**
 * The file name a result is downloaded and exported under: `20261127-201305Z_slot-003_1a2b3c4d.jpg`
 * (sorts by time, says the slot, unique by the job id).
 */
export function resultFileName(row: {
  id: string;
  slot_id: string;
  finalized_at: Date;
  result_mime: string | null;
}): string {
  const at = row.finalized_at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace(/\.\d+Z$/, 'Z');
  return `${at}_${row.slot_id}_${row.id.slice(0, 8)}.${extensionForMime(row.result_mime ?? '')}`;
}

/** Bytes under the media root by kind, and the disk around it. */
export interface MediaUsage {
  measuredAt: Date;
  bytes: Record<(typeof MEDIA_DIRS)[number], number>;
  disk: { totalBytes: number; freeBytes: number } | null;
}

/** Disk usage is walked at most this often (a metrics scrape or the statistics page must stay cheap). */
const USAGE_SCAN_INTERVAL_MS = 60_000;

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await directoryBytes(p);
    else total += (await fs.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/**
 * Where media lives on disk. One MEDIA_ROOT may be shared by several instances; every path is
 * derived from a job id (validated as a UUID, so no path ever escapes the root).
 */
export class MediaStore {
  private lastUsage: { at: number; usage: Promise<MediaUsage> } | undefined;

  constructor(readonly root: string) {}

  /** What the media takes on disk; walked at most once a minute, concurrent callers share one walk. */
  usage(): Promise<MediaUsage> {
    if (this.lastUsage && Date.now() - this.lastUsage.at < USAGE_SCAN_INTERVAL_MS) return this.lastUsage.usage;
    const usage = (async (): Promise<MediaUsage> => {
      const bytes = Object.fromEntries(
        await Promise.all(MEDIA_DIRS.map(async (d) => [d, await directoryBytes(path.join(this.root, d))] as const)),
      ) as MediaUsage['bytes'];
      const disk = await fs.statfs(this.root).then(
        (s) => ({ totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize }),
        () => null,
      );
      return { measuredAt: new Date(), bytes, disk };
    })();
    this.lastUsage = { at: Date.now(), usage };
    return usage;
  }

  async ensureLayout(): Promise<void> {
    for (const dir of MEDIA_DIRS) await fs.mkdir(path.join(this.root, dir), { recursive: true });
  }

  dir(kind: (typeof MEDIA_DIRS)[number]): string {
    return path.join(this.root, kind);
  }

  payloadDir(jobId: string): string {
    assertUuid(jobId);
    return path.join(this.root, 'payloads', jobId);
  }

  resultPath(jobId: string, extension: string): string {
    assertUuid(jobId);
    if (!/^[a-z0-9]{1,5}$/.test(extension)) throw new Error(`bad extension ${extension}`);
    return path.join(this.root, 'results', `${jobId}.${extension}`);
  }

  /** A slot's template image: templates/<slot>/<template id>.<ext>. */
  templatePath(slotId: string, templateId: string, mime: string): string {
    if (!isSlotId(slotId)) throw new Error(`not a slot id: ${slotId}`);
    assertUuid(templateId);
    return path.join(this.root, 'templates', slotId, `${templateId}.${extensionForMime(mime)}`);
  }

  /** A temporary public link's file: temporary/<link id>.<ext>. */
  temporaryPath(linkId: string, mime: string): string {
    if (!/^[A-Za-z0-9_-]{32}$/.test(linkId)) throw new Error(`not a temporary media id: ${linkId}`);
    return path.join(this.root, 'temporary', `${linkId}.${extensionForMime(mime)}`);
  }

  thumbPath(jobId: string): string {
    assertUuid(jobId);
    return path.join(this.root, 'thumbs', `${jobId}.webp`);
  }

  /** Writes a result's thumbnail atomically; returns its path. */
  async writeThumbnail(jobId: string, bytes: Buffer): Promise<string> {
    const target = this.thumbPath(jobId);
    await writeAtomically(target, bytes);
    return target;
  }

  /**
   * Deletes a job's uploaded payload directory (idempotent). `files`: what the caller knows it
   * holds, removed one by one before the directory (two system calls for a booth's photo instead of
   * the recursive walk's six); anything else found there falls back to the recursive removal.
   */
  async removePayload(jobId: string, files: readonly string[] = []): Promise<void> {
    const dir = this.payloadDir(jobId);
    try {
      // Only files directly inside the payload directory are named (a caller's slip cannot delete elsewhere).
      const own = files.filter((f) => path.dirname(path.resolve(f)) === path.resolve(dir));
      await Promise.all(
        own.map((f) =>
          fs.unlink(f).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err))),
        ),
      );
      await fs.rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    }
    // Retried when a file appeared while the directory was being removed (ENOTEMPTY).
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  }

  /**
   * Writes a job's result under its final name (created, never overwritten) and returns its checksum
   * and size; a failed write leaves nothing. No temporary name and rename, unlike writeAtomically:
   * a result is found only through its finalized job row, which is written after the file is
   * complete, and a crash's partial file has no row (the cleanup's orphan pass removes it after a
   * minute). That saved a thread-pool round trip of every answer (bench:overhead).
   */
  async writeResult(
    jobId: string,
    extension: string,
    bytes: Buffer,
  ): Promise<{ path: string; sha256: string; size: number }> {
    const target = this.resultPath(jobId, extension);
    // The checksum is computed while the file is written (the write runs off the main thread).
    const written = fs.writeFile(target, bytes, { flag: 'wx' }).catch(async (err: unknown) => {
      // Not when the name was taken: that file is someone else's.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await fs.rm(target, { force: true }).catch(() => undefined);
      throw err;
    });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await written;
    return { path: target, sha256, size: bytes.length };
  }

  /** Deletes a file under the media root (idempotent); refuses paths outside it. */
  async removeFile(filePath: string): Promise<void> {
    const resolved = path.resolve(filePath);
    if (!resolved.startsWith(path.resolve(this.root) + path.sep))
      throw new Error(`refusing to delete outside the media root: ${filePath}`);
    await fs.rm(resolved, { force: true });
  }
}

/** Temp file + rename: a reader never sees half a file; a failed write leaves nothing. */
async function writeAtomically(target: string, bytes: Buffer): Promise<void> {
  // Its own temporary name: two writers of one file (a thumbnail made on demand while the worker
  // writes it) never remove each other's, and a crash's leftover never blocks the next write.
  const temp = `${target}.${randomUUID()}.partial`;
  try {
    await fs.writeFile(temp, bytes, { flag: 'wx' });
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

export function assertUuid(id: string): void {
  if (!UUID.test(id)) throw new Error(`not a job id: ${id}`);
}

export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** A job id as its 16 bytes (the short and the encrypted names of a photo are built on them). */
export function jobIdBytes(id: string): Buffer {
  assertUuid(id);
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

/** The job id of 16 bytes. */
export function jobIdOfBytes(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The 16 bytes a 22-character base64url name spells, or undefined: only the canonical spelling counts. */
export function bytesOfName(name: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(name)) return undefined;
  const bytes = Buffer.from(name, 'base64url');
  // The last character's unused bits must be zero: one name per photo.
  return bytes.length === 16 && bytes.toString('base64url') === name ? bytes : undefined;
}
