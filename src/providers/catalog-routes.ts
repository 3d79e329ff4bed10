import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { errorResponses } from '../errors.js';

const OperationSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  settings_schema: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the slot settings (defaults fill omitted fields)' }),
  accepted_mime_types: Type.Array(Type.String()),
  max_input_bytes: Type.Integer(),
  template_keys: Type.Array(Type.Object({ key: Type.String(), title: Type.String(), required: Type.Boolean() })),
});
const ProviderSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  configured: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  requires_public_base_url: Type.Boolean(),
  operations: Type.Array(OperationSchema),
});

/** GET /api/providers: what the slot editor builds its forms from (and what PUT validates against). */
export const providerCatalogRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/api/providers',
    {
      onRequest: requirePermission(deps.tokens, 'slots:read'),
      schema: { summary: 'Providers, their operations and settings schemas', tags: ['providers'], security: BEARER_SECURITY, response: { 200: Type.Object({ providers: Type.Array(ProviderSchema) }), ...errorResponses(401, 403) } },
    },
    async () => ({
      providers: await Promise.all(
        deps.providers.list().map(async (p) => {
          const readiness = p.readiness ? await p.readiness({ publicBaseUrl: deps.config.publicBaseUrl }) : { configured: true };
          return {
            id: p.id,
            title: p.title,
            configured: readiness.configured,
            ...(readiness.reason ? { reason: readiness.reason } : {}),
            requires_public_base_url: p.requiresPublicBaseUrl ?? false,
            operations: p.operations.map((o) => ({
              id: o.id,
              title: o.title,
              description: o.description,
              settings_schema: JSON.parse(JSON.stringify(o.settingsSchema)) as Record<string, unknown>,
              accepted_mime_types: [...o.acceptedMimeTypes],
              max_input_bytes: o.maxInputBytes,
              template_keys: o.templateKeys.map((k) => ({ ...k })),
            })),
          };
        }),
      ),
    }),
  );
};
