import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { isUuid } from './storage.js';

export type PublicResult =
  | { state: 'available'; path: string; mime: string; size: number; expiresAt: Date; sha256: string | null }
  | { state: 'expired'; expiresAt: Date }
  | { state: 'unknown' };

/** What the public link of a job's result shows right now (used by the guest page too). */
export async function findPublicResult(db: Db, jobId: string, now: Date): Promise<PublicResult> {
  if (!isUuid(jobId)) return { state: 'unknown' };
  const row = await db
    .selectFrom('job')
    .select(['result_path', 'result_mime', 'result_size', 'result_expires_at', 'result_sha256'])
    .where('id', '=', jobId)
    .where('is_finalized', '=', true)
    .where('failure_reason', 'is', null)
    .executeTakeFirst();
  if (!row || !row.result_expires_at) return { state: 'unknown' };
  if (!row.result_path || row.result_expires_at <= now) return { state: 'expired', expiresAt: row.result_expires_at };
  return { state: 'available', path: row.result_path, mime: row.result_mime ?? 'application/octet-stream', size: Number(row.result_size), expiresAt: row.result_expires_at, sha256: row.result_sha256 };
}

/** GET /public/results/:jobId — 200 streamed from disk, 404 unknown, 410 once the retention ended. */
export const publicResultRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get<{ Params: { jobId: string } }>(
    '/public/results/:jobId',
    {
      schema: {
        summary: "A job's result image (public, until the retention ends)",
        tags: ['public'],
        params: Type.Object({ jobId: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      void reply.header('Cache-Control', 'no-store');
      const result = await findPublicResult(deps.db, request.params.jobId, deps.clock.now());
      if (result.state === 'unknown') throw new AppError('job_not_found', 'No result for this id');
      if (result.state === 'expired') throw new AppError('result_expired', undefined, { expired_at: result.expiresAt.toISOString() });
      const stat = await fs.stat(result.path).catch(() => undefined);
      if (!stat) throw new AppError('result_expired', 'The result file is no longer available');
      return reply
        .header('Content-Type', result.mime)
        .header('Content-Length', String(stat.size))
        .header('Content-Disposition', `inline; filename="${request.params.jobId}.${result.path.split('.').pop()}"`)
        .header('X-Content-Type-Options', 'nosniff')
        .send(createReadStream(result.path));
    },
  );
};
