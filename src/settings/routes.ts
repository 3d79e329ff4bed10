import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { LiteralUnion } from '../schemas.js';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { ModelCatalog } from '../providers/models.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { StoredProviderKeys } from './provider-keys.js';
import type { SettingsStore } from './store.js';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses, invalidFields } from '../errors.js';
import { MIN_INGEST_PASSWORD_LENGTH, setIngestPassword } from './ingest-password.js';
import { KEYED_PROVIDERS, type KeyedProvider } from './provider-keys.js';
import { SETTING_KEYS, savedPublicAddress } from './store.js';
import { checkPublicAddress, parsePublicAddress } from '../ops/public-address-check.js';
import type { PublicAddress } from '../ops/public-address.js';

/** Bounds an administrator may set (docs/configuration.md). The environment may go lower for tests only. */
export const T_SYNC_RANGE = { minimum: 45, maximum: 60 };
export const RESULT_TTL_RANGE = { minimum: 3600, maximum: 30 * 24 * 3600 };

const KeyStatus = Type.Object({
  configured: Type.Boolean(),
  source: Type.Union([Type.Literal('settings'), Type.Literal('environment'), Type.Null()]),
  updated_at: Type.Union([Type.String(), Type.Null()]),
});
const SettingsSchema = Type.Object({
  ingest_password: Type.Object({
    is_set: Type.Boolean(),
    updated_at: Type.Union([Type.String(), Type.Null()]),
    updated_by: Type.Union([Type.String(), Type.Null()]),
  }),
  provider_keys: Type.Object(Object.fromEntries(KEYED_PROVIDERS.map((p) => [p, KeyStatus]))),
  t_sync_response_seconds: Type.Integer(),
  result_ttl_seconds: Type.Integer(),
  public_address: Type.Object(
    {
      saved: Type.Union([Type.String(), Type.Null()], { description: 'The address saved here (null: none)' }),
      effective: Type.Union([Type.String(), Type.Null()], {
        description: 'What guest links and QR codes use now (null: none, the QR code is left off)',
      }),
      source: LiteralUnion(['environment', 'settings', 'lan', 'none'], {
        description:
          'environment: PHOTOCHANGER_PUBLIC_BASE_URL (it wins over the saved one); settings; lan: this machine’s network address (phones on this network only); none',
      }),
    },
    { description: 'The address guests and AI providers reach this server at (src/ops/public-address.ts)' },
  ),
});
const KeyInput = Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()]));
const SettingsUpdate = Type.Object(
  {
    ingest_password: Type.Optional(Type.String({ minLength: MIN_INGEST_PASSWORD_LENGTH, maxLength: 256 })),
    provider_keys: Type.Optional(
      Type.Object(Object.fromEntries(KEYED_PROVIDERS.map((p) => [p, KeyInput])), { additionalProperties: false }),
    ),
    t_sync_response_seconds: Type.Optional(Type.Integer(T_SYNC_RANGE)),
    result_ttl_seconds: Type.Optional(Type.Integer(RESULT_TTL_RANGE)),
    public_base_url: Type.Optional(
      Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], {
        description: 'e.g. https://photos.example.com; null or "" removes it',
      }),
    ),
  },
  { additionalProperties: false },
);
type SettingsUpdateBody = {
  ingest_password?: string;
  provider_keys?: Partial<Record<KeyedProvider, string | null>>;
  t_sync_response_seconds?: number;
  result_ttl_seconds?: number;
  public_base_url?: string | null;
};

/** GET/PUT /api/settings: ingest password, provider keys (write-only), T_sync, retention. */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface SettingsRouteDeps {
  auth: Authenticator;
  clock: Clock;
  db: Db;
  models: ModelCatalog;
  providers: ProviderRegistry;
  settings: SettingsStore;
  providerKeys: StoredProviderKeys;
  publicAddress: PublicAddress;
}

export const settingsRoutes: FastifyPluginAsyncTypebox<{ deps: SettingsRouteDeps }> = async (app, { deps }) => {
  const { settings, providerKeys } = deps;

  const current = async () => {
    const [password, runtime] = await Promise.all([settings.get(SETTING_KEYS.ingestPassword), settings.runtime()]);
    const keys = Object.fromEntries(
      await Promise.all(KEYED_PROVIDERS.map(async (p) => [p, await providerKeys.status(p)])),
    );
    return {
      ingest_password: {
        is_set: password !== undefined,
        updated_at: password?.updatedAt.toISOString() ?? null,
        updated_by: password?.updatedBy ?? null,
      },
      provider_keys: keys,
      t_sync_response_seconds: runtime.tSyncResponseSeconds,
      result_ttl_seconds: runtime.resultTtlSeconds,
      public_address: publicAddressView(deps.publicAddress, await savedPublicAddress(settings)),
    };
  };

  app.get(
    '/api/settings',
    {
      onRequest: requirePermission(deps.auth, 'settings:read'),
      schema: {
        summary: 'Global settings (secrets only as "is set")',
        tags: ['settings'],
        security: BEARER_SECURITY,
        response: { 200: SettingsSchema, ...errorResponses(401, 403) },
      },
    },
    current,
  );

  app.put(
    '/api/settings',
    {
      onRequest: requirePermission(deps.auth, 'settings:write'),
      schema: {
        summary: 'Change global settings',
        description: `Every field is optional. provider_keys.<id> = null clears a stored key. t_sync_response_seconds ${T_SYNC_RANGE.minimum}–${T_SYNC_RANGE.maximum}. A rotated ingest password applies to the next booth request on every instance. Changes are audited (who, when, which field; never the value).`,
        tags: ['settings'],
        security: BEARER_SECURITY,
        body: SettingsUpdate,
        response: { 200: SettingsSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const body = request.body as SettingsUpdateBody;
      const actor = request.principal!.username;
      const changed: string[] = [];
      // Checked before anything is written: a refused request changes nothing.
      const addressText = body.public_base_url?.trim() ?? '';
      const address = addressText === '' ? undefined : parsePublicAddress(addressText);
      if (address && 'problem' in address) throw addressRefused('/public_base_url', address.problem);
      if (body.ingest_password !== undefined) {
        if (body.ingest_password.trim() !== body.ingest_password)
          throw new AppError('invalid_request', 'The ingest password must not start or end with spaces');
        await setIngestPassword(settings, body.ingest_password, actor);
        changed.push('ingest_password');
      }
      for (const [provider, key] of Object.entries(body.provider_keys ?? {})) {
        if (key === undefined) continue;
        await providerKeys.set(provider as KeyedProvider, key, actor);
        changed.push(`provider_keys.${provider}`);
      }
      if (body.t_sync_response_seconds !== undefined) {
        await settings.set(SETTING_KEYS.tSyncResponseSeconds, body.t_sync_response_seconds, actor);
        changed.push('t_sync_response_seconds');
      }
      if (body.result_ttl_seconds !== undefined) {
        await settings.set(SETTING_KEYS.resultTtlSeconds, body.result_ttl_seconds, actor);
        changed.push('result_ttl_seconds');
      }
      if (body.public_base_url !== undefined) {
        if (address) await settings.set(SETTING_KEYS.publicBaseUrl, address.url, actor);
        else await settings.remove(SETTING_KEYS.publicBaseUrl);
        deps.publicAddress.setSaved(address?.url);
        changed.push('public_base_url');
      }
      if (changed.length) {
        await audit(deps.db, deps.clock, { actor, action: 'settings.update', fields: changed });
        request.log.info({ fields: changed }, 'settings changed');
      }
      return current();
    },
  );

  app.post(
    '/api/settings/provider-keys/:provider/check',
    {
      onRequest: requirePermission(deps.auth, 'settings:read'),
      schema: {
        summary:
          "Check a provider's key with a cheap authenticated call (its model list), without spending an image generation",
        description:
          'status: valid (with the image models this key can use), invalid (the provider refused the key; its reason, scrubbed), unreachable, missing (no key), or unchecked (the provider documents no such call: Turbotext).',
        tags: ['settings'],
        security: BEARER_SECURITY,
        params: Type.Object({ provider: LiteralUnion(KEYED_PROVIDERS) }),
        response: {
          200: Type.Object({
            provider: Type.String(),
            status: LiteralUnion(['valid', 'invalid', 'unreachable', 'missing', 'unchecked']),
            message: Type.String(),
            image_models: Type.Optional(Type.Array(Type.String())),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const provider = request.params.provider;
      const lister = deps.providers.models(provider);
      if (!lister)
        return {
          provider,
          status: 'unchecked' as const,
          message: 'This provider offers no call that checks a key without spending a generation; a test run checks it',
        };
      try {
        const listed = await lister.listModels(AbortSignal.timeout(10_000));
        const imageModels = listed.filter((m) => lister.modelTable.isImageModel(m.id, m)).map((m) => m.id);
        deps.models.invalidate(provider);
        return {
          provider,
          status: 'valid' as const,
          message: `The key works: ${imageModels.length} image model(s) available`,
          image_models: imageModels,
        };
      } catch (err) {
        const reason = (err as { reason?: string }).reason;
        const message = err instanceof Error ? err.message : String(err);
        if (reason === 'provider_not_configured') return { provider, status: 'missing' as const, message };
        if (reason === 'auth_failed' || reason === 'bad_request')
          return { provider, status: 'invalid' as const, message };
        return { provider, status: 'unreachable' as const, message };
      }
    },
  );

  app.post(
    '/api/settings/public-address/check',
    {
      onRequest: requirePermission(deps.auth, 'settings:write'),
      schema: {
        summary: 'Whether guests can reach the public address: this server fetches <address>/healthz',
        description:
          'Checks `url` when given (before saving it), else the address guest links use now. status: reachable; local_only (PhotoChanger answers, but at a private address: phones on this network only); unreachable (with the reason; a public address may still work from outside when the router does not loop back); not_photochanger (something else answered); unset. Bounded: 5 s, no redirect followed.',
        tags: ['settings'],
        security: BEARER_SECURITY,
        body: Type.Object({ url: Type.Optional(Type.String({ maxLength: 2048 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            status: LiteralUnion(['reachable', 'local_only', 'unreachable', 'not_photochanger', 'unset']),
            url: Type.Union([Type.String(), Type.Null()]),
            message: Type.String(),
          }),
          ...errorResponses(400, 401, 403, 422),
        },
      },
    },
    async (request) => {
      const given = request.body?.url?.trim();
      const parsed = given ? parsePublicAddress(given) : undefined;
      if (parsed && 'problem' in parsed) throw addressRefused('/url', parsed.problem);
      return checkPublicAddress(parsed?.url ?? deps.publicAddress.base().url);
    },
  );
};

/** 422 for a public address guests could not use, at `path`, in words. */
function addressRefused(path: string, problem: string): AppError {
  return invalidFields(`The public address ${problem}`, [{ path, message: `The address ${problem}` }]);
}

/** Where guest links point now, and why. */
function publicAddressView(address: PublicAddress, saved: string | undefined) {
  const configured = address.configured();
  const base = address.base();
  return {
    saved: saved ?? null,
    effective: base.url ?? null,
    source: configured ? configured.from : base.source === 'lan' ? ('lan' as const) : ('none' as const),
  };
}
