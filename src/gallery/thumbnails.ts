/**
 * Thumbnails of results, made one at a time: after the answer, once the booths are quiet (no job
 * running or awaited for a second: a thumbnail made while photos are coming in took CPU from their
 * answers, docs/benchmarks.md, bench:overhead), and on demand for a result that has none yet (the
 * gallery opened during a busy hour, a crash in between, a result older than thumbnails). Requests for the same result share one making; each decode runs
 * within the process's decode budget; a result that cannot be made into a thumbnail is not tried
 * again for a while. So no client — a guest with a shared link included — can make the server
 * decode photos faster than one at a time.
 */
import fs from 'node:fs/promises';
import pLimit from 'p-limit';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { decodeBudget, decodedBytesOf } from '../media/decode-budget.js';
import type { MediaStore } from '../media/storage.js';
import { makeThumbnail } from '../media/thumbnails.js';
import { AppError } from '../errors.js';
import { recordThumbnail, type GalleryRow } from './statements.js';

/** Background thumbnails waiting beyond this are dropped (made on demand later instead). */
const MAX_QUEUED = 512;
/** How long the booths must be quiet before background thumbnails are made. */
export const THUMBNAIL_QUIET_MS = 1000;
const FAILURE_MEMORY_MS = 10 * 60_000;

export class ThumbnailUnavailableError extends Error {}

export class Thumbnails {
  private readonly one = pLimit(1);
  private readonly making = new Map<string, Promise<Buffer>>();
  private readonly failedUntil = new Map<string, number>();

  /** Results waiting for a background thumbnail: job id → result file. */
  private readonly pending = new Map<string, string>();
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { db: Db; media: MediaStore; log: Logger; busy?: () => boolean },
    private readonly quietMs = THUMBNAIL_QUIET_MS,
  ) {}

  /** After a job's answer: its thumbnail, made from the result file once the booths are quiet. */
  enqueue(jobId: string, resultPath: string): void {
    if (this.pending.size >= MAX_QUEUED) return;
    this.pending.set(jobId, resultPath);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      void this.drain();
    }, this.quietMs);
    this.drainTimer.unref();
  }

  private async drain(): Promise<void> {
    for (const [jobId, resultPath] of this.pending) {
      if (this.deps.busy?.()) return this.scheduleDrain();
      this.pending.delete(jobId);
      await this.make(jobId, () => fs.readFile(resultPath)).catch((err: unknown) =>
        this.deps.log.warn({ job_id: jobId, err: { message: (err as Error).message } }, 'thumbnail not written'),
      );
    }
  }

  /** The thumbnail of a live result: kept, or made now from the result file (see above). */
  async of(row: Pick<GalleryRow, 'id' | 'thumb_path' | 'result_path'>): Promise<Buffer> {
    if (row.thumb_path) {
      const existing = await fs.readFile(row.thumb_path).catch(() => undefined);
      if (existing) return existing;
    }
    if ((this.failedUntil.get(row.id) ?? 0) > Date.now())
      throw new ThumbnailUnavailableError('No thumbnail for this result');
    this.pending.delete(row.id);
    return this.make(row.id, () => fs.readFile(row.result_path!));
  }

  /** Stops background thumbnails (those not made yet are made on demand later) and waits for the one being made (shutdown). */
  async idle(): Promise<void> {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.pending.clear();
    while (this.one.activeCount + this.one.pendingCount > 0)
      await Promise.all([...this.making.values()].map((p) => p.catch(() => undefined)));
  }

  private make(jobId: string, read: () => Promise<Buffer>): Promise<Buffer> {
    const running = this.making.get(jobId);
    if (running) return running;
    const made = this.one(async () => {
      try {
        const bytes = await read();
        const thumb = await decodeBudget.run((await decodedBytesOf(bytes)) ?? 0, () => makeThumbnail(bytes));
        const written = await this.deps.media.writeThumbnail(jobId, thumb);
        // The result may have expired meanwhile: then the thumbnail goes too.
        if (!(await recordThumbnail(this.deps.db, jobId, written))) await this.deps.media.removeFile(written);
        return thumb;
      } catch (err) {
        this.failedUntil.set(jobId, Date.now() + FAILURE_MEMORY_MS);
        if (this.failedUntil.size > 10_000) this.failedUntil.delete(this.failedUntil.keys().next().value!);
        throw new ThumbnailUnavailableError(`No thumbnail: ${(err as Error).message}`);
      } finally {
        this.making.delete(jobId);
      }
    });
    this.making.set(jobId, made);
    return made;
  }
}

/** A result's thumbnail for a route: 410 when none can be had (the result went meanwhile). */
export async function thumbnailOrGone(
  deps: { thumbnails: Thumbnails },
  row: Pick<GalleryRow, 'id' | 'thumb_path' | 'result_path'>,
): Promise<Buffer> {
  try {
    return await deps.thumbnails.of(row);
  } catch (err) {
    if (err instanceof ThumbnailUnavailableError) throw new AppError('result_expired', 'No thumbnail for this result');
    throw err;
  }
}
