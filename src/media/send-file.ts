/**
 * Sending a media file (a result, a thumbnail's original, a download) as an HTTP answer: one place
 * for its headers, used by the public results, the admin gallery and shared galleries.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../errors.js';

/**
 * Streams a media file from disk with its type and length; `download` names the file the browser
 * saves. A file gone meanwhile (cleanup) is the given 410.
 */
export async function sendMediaFile(
  reply: FastifyReply,
  file: { path: string; mime: string; name: string },
  options: { download?: boolean; cache?: string } = {},
): Promise<FastifyReply> {
  const stat = await fs.stat(file.path).catch(() => undefined);
  if (!stat) throw new AppError('result_expired', 'The file is no longer available');
  return reply
    .header('Cache-Control', options.cache ?? 'no-store')
    .header('Content-Type', file.mime)
    .header('Content-Length', String(stat.size))
    .header('Content-Disposition', `${options.download ? 'attachment' : 'inline'}; filename="${file.name}"`)
    .header('X-Content-Type-Options', 'nosniff')
    .send(createReadStream(file.path));
}

/** `?download=1`: the browser saves the file under its name instead of showing it. */
export const DownloadQuery = Type.Object({
  download: Type.Optional(
    Type.Union([Type.Literal('1'), Type.Literal('true')], {
      description: '1: save the file (attachment) under its name',
    }),
  ),
});
