import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../deps.js';
import { AppError } from '../errors.js';
import { checkReadiness } from './readiness.js';

/** GET /healthz (liveness), GET /readyz (database and media root), GET /metrics (Prometheus). */
export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process answers HTTP', tags: ['ops'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: database reachable within the statement timeout, media root writable',
        tags: ['ops'],
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Object({ database: Type.String(), media: Type.String() }) }),
          503: Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }) }),
        },
      },
    },
    async (_request, reply) => {
      const report = await checkReadiness(deps.db, deps.config.mediaRoot, deps.config.queueStatementTimeoutMs);
      void reply.header('Cache-Control', 'no-store');
      if (deps.isShuttingDown?.()) throw new AppError('shutting_down', 'The server is shutting down', { details: { checks: report.checks } });
      if (!report.ready) throw new AppError('not_ready', undefined, { details: { checks: report.checks } });
      return { status: 'ready' as const, checks: report.checks };
    },
  );

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['ops'], hide: false } }, async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
};
