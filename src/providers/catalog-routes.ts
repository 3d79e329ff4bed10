import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { PublicAddress } from '../ops/public-address.js';
import type { ModelCatalog } from './models.js';
import type { ProviderRegistry } from './registry.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses } from '../errors.js';

const OperationSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  settings_schema: Type.Record(Type.String(), Type.Unknown(), {
    description: 'JSON Schema of the slot settings (defaults fill omitted fields)',
  }),
  accepted_mime_types: Type.Array(Type.String()),
  max_input_bytes: Type.Integer(),
  template_keys: Type.Array(Type.Object({ key: Type.String(), title: Type.String(), required: Type.Boolean() })),
});
const Described = Type.Object({ title: Type.String(), description: Type.Optional(Type.String()) });
const ProviderLabelsSchema = Type.Object({
  title: Type.Optional(Type.String()),
  operations: Type.Optional(Type.Record(Type.String(), Described)),
  templates: Type.Optional(Type.Record(Type.String(), Type.String())),
  fields: Type.Optional(Type.Record(Type.String(), Described, { description: 'Top-level settings fields by name' })),
  options: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Enumeration values in words' })),
});
const ProviderSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  labels: Type.Object(
    { en: Type.Optional(ProviderLabelsSchema), ru: Type.Optional(ProviderLabelsSchema) },
    {
      description:
        "How the admin UI names the provider, its operations, templates, fields and option values, per language (the driver's own words; the English titles above are the fallback)",
    },
  ),
  configured: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  requires_public_base_url: Type.Boolean(),
  operations: Type.Array(OperationSchema),
});

const ModelSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('deprecated'), Type.Literal('shut_down')]),
  known: Type.Boolean({
    description: 'In our table (its parameters are known); false: only in the live list, common parameters only',
  }),
  live: Type.Optional(
    Type.Boolean({ description: 'Listed by the provider for the configured key (absent without a live list)' }),
  ),
  shutdown_date: Type.Optional(Type.String()),
  replacement: Type.Optional(Type.String()),
  preview: Type.Optional(Type.Boolean()),
  note: Type.Optional(Type.String()),
});
const ModelCatalogSchema = Type.Object({
  provider: Type.String(),
  default_model: Type.String(),
  source: Type.Union([Type.Literal('live'), Type.Literal('table')]),
  fetched_at: Type.Optional(Type.String()),
  live_error: Type.Optional(Type.Object({ reason: Type.String(), message: Type.String() })),
  models: Type.Array(ModelSchema),
});

/** GET /api/providers: what the slot editor builds its forms from (and what PUT validates against). */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface CatalogRouteDeps {
  auth: Authenticator;
  models: ModelCatalog;
  publicAddress: PublicAddress;
  providers: ProviderRegistry;
}

export const providerCatalogRoutes: FastifyPluginAsyncTypebox<{ deps: CatalogRouteDeps }> = async (app, { deps }) => {
  app.get(
    '/api/providers',
    {
      // Every account may read it: the UI names providers with it on every page (no secret in it).
      onRequest: requirePermission(deps.auth, null),
      schema: {
        summary: 'Providers, their operations and settings schemas (any account)',
        tags: ['providers'],
        security: BEARER_SECURITY,
        response: { 200: Type.Object({ providers: Type.Array(ProviderSchema) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({
      providers: await Promise.all(
        deps.providers.list().map(async (p) => {
          const readiness = await deps.providers.readiness(p.id, {
            publicBaseUrl: deps.publicAddress.configured()?.url,
          });
          return {
            id: p.id,
            title: p.title,
            labels: p.labels ?? {},
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

  app.get(
    '/api/providers/:id/models',
    {
      onRequest: requirePermission(deps.auth, 'slots:read'),
      schema: {
        summary: "A provider's AI models: our table merged with the provider's own list for the configured key",
        description:
          'With a key configured, the provider is asked for its models (Gemini GET /v1beta/models, OpenAI GET /v1/models) and the answer is cached for an hour (per key). ' +
          'Known models carry their lifecycle (active, deprecated with its shutdown date and replacement, shut_down); models only the provider lists are offered with the common parameters. ' +
          'Without a key, or when the listing fails, source is "table" and live_error says why. 404 for a provider without models (local, turbotext).',
        tags: ['providers'],
        security: BEARER_SECURITY,
        params: Type.Object({ id: Type.String({ maxLength: 50 }) }),
        response: { 200: ModelCatalogSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const lister = deps.providers.models(id);
      if (!lister)
        throw new AppError('not_found', `Provider ${id} has no models to choose from`, { details: { provider: id } });
      return deps.models.view(lister);
    },
  );
};
