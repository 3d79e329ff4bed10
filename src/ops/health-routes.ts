import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.js';

/** GET /healthz — liveness only: the process answers HTTP. Readiness is /readyz. */
export const healthRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        tags: ['ops'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};
