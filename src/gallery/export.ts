/**
 * A ZIP of results, streamed as it is built: entries are stored (photos do not compress), each
 * file is opened one ahead of its turn, and the archive is never held in memory or on disk.
 * Used by GET /api/gallery/export.zip and by `npm run export` (src/cli/export.ts).
 */
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { resultFileName } from '../media/storage.js';
import { listExportBatch, type ExportRow } from './statements.js';
import { zipStream } from './zip-stream.js';

/** More results than this in one archive are refused (ask for a shorter time range). */
export const MAX_EXPORT_ENTRIES = 20_000;
const BATCH = 1000;

export interface ExportFilter {
  slotIds?: readonly string[];
  from?: Date;
  to?: Date;
}

/** The results to export, oldest first; undefined when there are more than MAX_EXPORT_ENTRIES. */
export async function collectExport(db: Db, filter: ExportFilter, now: Date): Promise<ExportRow[] | undefined> {
  const rows: ExportRow[] = [];
  let after: { at: Date; id: string } | undefined;
  for (;;) {
    const batch = await listExportBatch(db, { ...filter, now, after, limit: BATCH });
    rows.push(...batch);
    if (rows.length > MAX_EXPORT_ENTRIES) return undefined;
    if (batch.length < BATCH) return rows;
    const last = batch[batch.length - 1]!;
    after = { at: last.finalized_at, id: last.id };
  }
}

/**
 * The archive of these results as a stream. A file removed meanwhile (its retention ended during
 * the download) is left out with a log line; any other read error ends the stream with that error
 * (the download fails visibly instead of holding empty photos).
 */
export function zipResults(rows: readonly ExportRow[], log: Logger, options: { forceZip64?: boolean } = {}): Readable {
  return zipStream(
    rows.map((row) => ({
      name: resultFileName(row),
      mtime: row.finalized_at,
      open: async () => {
        try {
          const handle = await fs.open(row.result_path, 'r');
          return handle.createReadStream({ highWaterMark: 1 << 20 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          log.warn({ job_id: row.id }, 'export: a result expired during the export; left out');
          return undefined;
        }
      },
    })),
    options,
  );
}
