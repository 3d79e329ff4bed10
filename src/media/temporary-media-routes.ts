import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { findTemporaryMedia } from './temporary-links.js';

export interface TemporaryMediaRoutesOptions {
  db: Db;
  clock: Clock;
}

/**
 * `GET /public/media/:id`: the file behind a temporary link with its type while the link lives,
 * 410 media_link_expired after, 404 for an id that never existed (or was revoked). Never cached.
 */
export const temporaryMediaRoutes: FastifyPluginAsyncTypebox<TemporaryMediaRoutesOptions> = async (app, options) => {
  app.get<{ Params: { id: string } }>(
    '/public/media/:id',
    {
      schema: {
        hide: true,
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] },
      },
    },
    async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      const row = await findTemporaryMedia(options, request.params.id);
      if (!row) throw new AppError('not_found', 'Unknown media link');
      if (row.expiresAt.getTime() <= options.clock.now().getTime()) {
        throw new AppError('media_link_expired');
      }
      let size: number;
      try {
        size = (await fs.stat(row.path)).size;
      } catch {
        throw new AppError('media_link_expired');
      }
      reply
        .header('Content-Type', row.mime)
        .header('Content-Length', String(size))
        .header('X-Content-Type-Options', 'nosniff');
      return reply.send(createReadStream(row.path));
    },
  );
};
