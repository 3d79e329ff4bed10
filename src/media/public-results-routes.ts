import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { DownloadQuery, sendMediaFile } from './send-file.js';
import { findFinalResult } from './statements.js';
import { isUuid, resultFileName } from './storage.js';

export type PublicResult =
  | {
      state: 'available';
      path: string;
      mime: string;
      size: number;
      expiresAt: Date;
      sha256: string | null;
      slotId: string;
      finalizedAt: Date;
      fileName: string;
    }
  | { state: 'expired'; expiresAt: Date }
  | { state: 'unknown' };

/** What the public link of a job's result shows right now (used by the guest page too). */
export async function findPublicResult(db: Db, jobId: string, now: Date): Promise<PublicResult> {
  if (!isUuid(jobId)) return { state: 'unknown' };
  const row = await findFinalResult(db, jobId);
  if (!row || !row.result_expires_at || !row.finalized_at) return { state: 'unknown' };
  if (!row.result_path || row.result_expires_at <= now) return { state: 'expired', expiresAt: row.result_expires_at };
  const mime = row.result_mime ?? 'application/octet-stream';
  return {
    state: 'available',
    path: row.result_path,
    mime,
    size: Number(row.result_size),
    expiresAt: row.result_expires_at,
    sha256: row.result_sha256,
    slotId: row.slot_id,
    finalizedAt: row.finalized_at,
    fileName: resultFileName({ id: jobId, slot_id: row.slot_id, finalized_at: row.finalized_at, result_mime: mime }),
  };
}

/** GET /public/results/:jobId — 200 streamed from disk, 404 unknown, 410 once the retention ended. */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface PublicResultRouteDeps {
  clock: Clock;
  db: Db;
}

export const publicResultRoutes: FastifyPluginAsyncTypebox<{ deps: PublicResultRouteDeps }> = async (app, { deps }) => {
  app.get(
    '/public/results/:jobId',
    {
      schema: {
        summary: "A job's result image (public, until the retention ends); ?download=1 saves it under its file name",
        tags: ['public'],
        params: Type.Object({ jobId: Type.String({ maxLength: 64 }) }),
        querystring: DownloadQuery,
      },
    },
    async (request, reply) => {
      const result = await findPublicResult(deps.db, request.params.jobId, deps.clock.now());
      if (result.state === 'unknown') throw new AppError('job_not_found', 'No result for this id');
      if (result.state === 'expired')
        throw new AppError('result_expired', undefined, { details: { expired_at: result.expiresAt.toISOString() } });
      return sendMediaFile(
        reply,
        { path: result.path, mime: result.mime, name: result.fileName },
        { download: request.query.download !== undefined },
      );
    },
  );
};
