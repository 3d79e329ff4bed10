import fs from 'node:fs/promises';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/storage.js';
import { makeThumbnail } from '../media/thumbnails.js';
import { recordThumbnail } from './statements.js';
import type { GalleryRow } from './statements.js';

/**
 * A result's thumbnail: the one the worker wrote with it, or — when that is missing (a crash right
 * after the answer, a result older than thumbnails) — made now from the result and kept.
 */
export async function thumbnailOf(deps: { db: Db; media: MediaStore; log: Logger }, row: Pick<GalleryRow, 'id' | 'thumb_path' | 'result_path'>): Promise<Buffer> {
  if (row.thumb_path) {
    const existing = await fs.readFile(row.thumb_path).catch(() => undefined);
    if (existing) return existing;
  }
  const thumb = await makeThumbnail(await fs.readFile(row.result_path!));
  try {
    const written = await deps.media.writeThumbnail(row.id, thumb);
    if (!(await recordThumbnail(deps.db, row.id, written))) await deps.media.removeFile(written);
  } catch (err) {
    // Another request wrote it first (the file exists), or the disk is full: the bytes still serve.
    deps.log.debug({ job_id: row.id, err: { message: (err as Error).message } }, 'thumbnail not kept');
  }
  return thumb;
}
