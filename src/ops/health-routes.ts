import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { safeEqual } from '../auth/passwords.js';
import { bearerToken } from '../auth/sessions.js';
import type { Authenticator } from '../auth/sessions.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Metrics } from './metrics.js';
import { AppError, errorResponses } from '../errors.js';
import { AddressList } from '../net/addresses.js';
import { checkReadiness } from './readiness.js';

/** GET /healthz (liveness), GET /readyz (database and media root), GET /metrics (Prometheus). */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface HealthRouteDeps {
  auth: Authenticator;
  config: Config;
  db: Db;
  isShuttingDown?: () => boolean;
  metrics?: Metrics;
}

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: HealthRouteDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers HTTP',
        tags: ['ops'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: database reachable within the statement timeout, media root writable',
        tags: ['ops'],
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Type.Object({ database: Type.String(), media: Type.String() }),
          }),
          503: Type.Object({
            error: Type.Object({
              code: Type.String(),
              message: Type.String(),
              details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            }),
          }),
        },
      },
    },
    async (_request, reply) => {
      const report = await checkReadiness(deps.db, deps.config.mediaRoot, deps.config.queueStatementTimeoutMs);
      void reply.header('Cache-Control', 'no-store');
      if (deps.isShuttingDown?.())
        throw new AppError('shutting_down', 'The server is shutting down', { details: { checks: report.checks } });
      if (!report.ready) throw new AppError('not_ready', undefined, { details: { checks: report.checks } });
      return { status: 'ready' as const, checks: report.checks };
    },
  );

  if (deps.metrics) {
    const metrics = deps.metrics;
    const allowed = new AddressList(deps.config.metricsAllow);
    const scrapeToken = deps.config.metricsToken;
    const administrator = requirePermission(deps.auth, 'stats:read');
    app.get(
      '/metrics',
      {
        // An allowed address, the scrape token, or an administrator who may read statistics (docs/security.md).
        onRequest: async (request, reply) => {
          if (allowed.has(request.ip)) return;
          const given = bearerToken(request);
          if (scrapeToken !== undefined && given !== undefined && safeEqual(given, scrapeToken)) return;
          await administrator(request, reply);
        },
        schema: {
          summary: 'Prometheus metrics (text exposition format)',
          description:
            'For PHOTOCHANGER_METRICS_ALLOW addresses (default: loopback), `Authorization: Bearer <PHOTOCHANGER_METRICS_TOKEN>`, or an administrator with `stats:read`; anyone else: 401.',
          tags: ['ops'],
          security: BEARER_SECURITY,
          response: {
            200: Type.String({ description: 'Prometheus text exposition format' }),
            ...errorResponses(401, 403),
          },
        },
      },
      async (_request, reply) => {
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    );
  }
};
