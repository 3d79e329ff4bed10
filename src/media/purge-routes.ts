import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { CleanupReport } from './cleanup.js';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { errorResponses } from '../errors.js';

/** POST /api/media/cache/purge: one cleanup pass now (expired only; never a live result or a template). */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface PurgeRouteDeps {
  auth: Authenticator;
  clock: Clock;
  db: Db;
  purgeMedia: () => Promise<CleanupReport>;
}

export const mediaPurgeRoutes: FastifyPluginAsyncTypebox<{ deps: PurgeRouteDeps }> = async (app, { deps }) => {
  app.post(
    '/api/media/cache/purge',
    {
      onRequest: requirePermission(deps.auth, 'settings:write'),
      schema: {
        summary: 'Delete expired media now',
        description:
          'Runs the cleanup pass at once: expired results (their links answer 410 afterwards), payloads of finished jobs, expired temporary links. Live results and templates are never touched.',
        tags: ['media'],
        security: BEARER_SECURITY,
        response: {
          202: Type.Object({
            deleted: Type.Object({
              payloads: Type.Integer(),
              results: Type.Integer(),
              thumbs: Type.Integer(),
              temporary_links: Type.Integer(),
            }),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request, reply) => {
      const report = await deps.purgeMedia();
      await audit(deps.db, deps.clock, { actor: request.principal!.username, action: 'media.purge' });
      return reply.code(202).send({ deleted: report });
    },
  );
};
