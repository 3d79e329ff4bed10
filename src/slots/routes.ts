import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { MediaStore } from '../media/storage.js';
import type { PublicAddress } from '../ops/public-address.js';
import type { ModelCatalog } from '../providers/models.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { SettingsStore } from '../settings/store.js';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses, slotNotFound } from '../errors.js';
import { photoLimitBytes, photoOf, receiveUpload } from '../media/upload.js';
import { releaseAnsweredJob, submitAndWait, type JobServiceDeps, type ReleaseDeps } from '../queue/submit.js';
import { queueStatement } from '../queue/statements.js';
import {
  listSlotsForAdmin,
  listTemplateRows,
  resetSlotStats,
  updateSlotIfUnchanged,
  findSlot,
  type SlotRecord,
} from './statements.js';
import { parseEtag, slotEtag, slotView, validateSlotInput, type SlotInput, type SlotView } from './service.js';
import type { Failover } from '../db/schema.js';
import { settingsForModel, slotModelView } from './models.js';
import { findModel, replacementFor, type ModelLister } from '../providers/models.js';
import { PHOTO_MIME_TYPES } from '../media/imaging.js';
import { parseUntrustedJson } from '../json-safety.js';
import { lastResultPerSlot } from '../gallery/statements.js';
import { SlotId, SlotSchema, SlotUpdateSchema, TestRunSchema } from './schemas.js';

/**
 * The base of absolute ingest URLs: the public address (configured, else this machine's LAN
 * address). Only when the machine has no such address does the admin's own request say where it is.
 */
function baseUrlOf(deps: Pick<SlotRouteDeps, 'publicAddress'>, request: FastifyRequest): string {
  return deps.publicAddress.base().url ?? `${request.protocol}://${request.host}`;
}

function startOfToday(now: Date): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

/** Slots, their template images and test runs (docs/api.md, Admin API). */
/** A slot's JSON body at most (docs/security.md). */
const SLOT_BODY_LIMIT_BYTES = 512 * 1024;

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface SlotRouteDeps extends JobServiceDeps, ReleaseDeps {
  auth: Authenticator;
  clock: Clock;
  config: Config;
  db: Db;
  models: ModelCatalog;
  publicAddress: PublicAddress;
  settings: SettingsStore;
  providers: ProviderRegistry;
  media: MediaStore;
}

export const slotRoutes: FastifyPluginAsyncTypebox<{ deps: SlotRouteDeps }> = async (app, { deps }) => {
  const { db, clock, providers, media } = deps;
  const canRead = requirePermission(deps.auth, 'slots:read');
  const canWrite = requirePermission(deps.auth, 'slots:write');

  const readiness = (providerId: string) =>
    providers.readiness(providerId, { publicBaseUrl: deps.config.publicBaseUrl });

  const loadViews = async (request: FastifyRequest, slotId?: string): Promise<SlotView[]> => {
    const [rows, templates] = await Promise.all([
      listSlotsForAdmin(db, startOfToday(clock.now()), slotId, clock.now()),
      listTemplateRows(db, slotId),
    ]);
    const base = baseUrlOf(deps, request);
    const now = clock.now();
    return Promise.all(
      rows.map(async (r) =>
        slotView(
          r,
          templates,
          base,
          await readiness(r.provider),
          slotModelView(providers, r.provider, r.settings, now, (lister) => deps.models.cachedLiveIds(lister)),
        ),
      ),
    );
  };

  const loadView = async (request: FastifyRequest, id: string): Promise<SlotView> => {
    const [view] = await loadViews(request, id);
    if (!view) throw slotNotFound(id);
    return view;
  };

  app.get(
    '/api/slots',
    {
      onRequest: canRead,
      schema: {
        summary: 'All 15 slots',
        description:
          "`public_base` says where booth and guest links point: the configured PHOTOCHANGER_PUBLIC_BASE_URL, this machine's LAN address (`lan`), or nothing reachable from other machines (`none`).",
        tags: ['slots'],
        security: BEARER_SECURITY,
        response: {
          200: Type.Object({
            slots: Type.Array(SlotSchema),
            public_base: Type.Object({
              url: Type.Union([Type.String(), Type.Null()]),
              source: Type.Union([Type.Literal('configured'), Type.Literal('lan'), Type.Literal('none')]),
            }),
            last_results: Type.Record(
              Type.String(),
              Type.Object({ id: Type.String(), thumb_url: Type.String(), finalized_at: Type.String() }),
              {
                description:
                  "Each slot's newest live result (its card's thumbnail), by slot id; slots without one are absent",
              },
            ),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      const base = deps.publicAddress.base();
      const last = await lastResultPerSlot(deps.db, deps.clock.now());
      const last_results = Object.fromEntries(
        [...last].map(([slot, r]) => [
          slot,
          { id: r.id, thumb_url: `/api/gallery/${r.id}/thumb`, finalized_at: r.finalized_at.toISOString() },
        ]),
      );
      return {
        slots: await loadViews(request),
        public_base: { url: base.url ?? null, source: base.source },
        last_results,
      };
    },
  );

  app.get(
    '/api/slots/:id',
    {
      onRequest: canRead,
      schema: {
        summary: 'One slot (with its ETag)',
        tags: ['slots'],
        security: BEARER_SECURITY,
        params: SlotId,
        response: { 200: SlotSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const view = await loadView(request, request.params.id);
      void reply.header('ETag', slotEtag(new Date(view.updated_at)));
      return view;
    },
  );

  app.put(
    '/api/slots/:id',
    {
      // Prompts run to 10,000 characters, with failover steps: more room than other admin JSON.
      bodyLimit: SLOT_BODY_LIMIT_BYTES,
      onRequest: canWrite,
      schema: {
        summary: 'Change a slot',
        description:
          'Optimistic concurrency: send If-Match with the ETag of GET, or updated_at in the body; a stale write is refused with 409 conflict and details.current. ' +
          'Settings are validated against the provider/operation schema of GET /api/providers: 422 invalid_settings with details.errors [{path, message}].',
        tags: ['slots'],
        security: BEARER_SECURITY,
        params: SlotId,
        body: SlotUpdateSchema,
        response: { 200: SlotSchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const body = request.body as SlotInput & { updated_at?: string };
      const ifMatch = request.headers['if-match'];
      const expected =
        typeof ifMatch === 'string' ? parseEtag(ifMatch) : body.updated_at ? new Date(body.updated_at) : undefined;
      if (!expected || Number.isNaN(expected.getTime())) {
        throw new AppError(
          'invalid_request',
          'Send If-Match with the slot ETag, or updated_at from GET, so that concurrent edits are detected',
          { details: { required: ['If-Match', 'updated_at'] } },
        );
      }
      const before = await findSlot(db, id);
      if (!before) throw slotNotFound(id);
      // An id our table does not know is checked against the provider's live list (cached).
      const lister = providers.models(body.provider);
      const model = typeof body.settings?.model === 'string' ? body.settings.model : undefined;
      const liveModelIds =
        lister && model && !findModel(lister.modelTable, model) ? await deps.models.liveIds(lister) : undefined;
      const input = validateSlotInput(body, providers, deps.config, {
        now: clock.now(),
        ...(liveModelIds ? { liveModelIds } : {}),
      });
      const written = await updateSlotIfUnchanged(
        db,
        id,
        expected,
        {
          name: input.name,
          enabled: input.enabled,
          provider: input.provider,
          operation: input.operation,
          settings: input.settings,
          maxUploadBytes: input.max_upload_bytes,
          ...(input.failover ? { failover: input.failover } : {}),
        },
        clock.now(),
      );
      if (!written) {
        throw slotChangedMeanwhile(await loadView(request, id));
      }
      const changed = (
        ['name', 'enabled', 'provider', 'operation', 'settings', 'max_upload_bytes', 'failover'] as const
      ).filter((k) => {
        if (k === 'failover' && input.failover === undefined) return false;
        const old = {
          name: before.name,
          enabled: before.enabled,
          provider: before.provider,
          operation: before.operation,
          settings: before.settings,
          max_upload_bytes: before.maxUploadBytes,
          failover: before.failover,
        }[k];
        return JSON.stringify(old) !== JSON.stringify(input[k]);
      });
      await audit(db, clock, {
        actor: request.principal!.username,
        action: 'slot.update',
        target: id,
        fields: changed,
      });
      const view = await loadView(request, id);
      void reply.header('ETag', slotEtag(new Date(view.updated_at)));
      return view;
    },
  );

  app.post(
    '/api/slots/:id/switch-model',
    {
      onRequest: canWrite,
      schema: {
        summary: 'Move a slot to another model of its provider (the one-click switch off a deprecated model)',
        description:
          'Sets settings.model and removes every setting the new model does not take (e.g. input_fidelity, an image size it lacks), in one step. ' +
          'Without `model`, the documented replacement of the current model is used. 409 when the slot changed since `updated_at`.',
        tags: ['slots'],
        security: BEARER_SECURITY,
        params: SlotId,
        body: Type.Object(
          {
            model: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            updated_at: Type.String({ format: 'date-time' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SlotSchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const body = request.body;
      const slot = await findSlot(db, id);
      if (!slot) throw slotNotFound(id);
      const lister = providers.models(slot.provider);
      if (!lister)
        throw new AppError('invalid_settings', `${slot.provider} has no models to choose from`, {
          details: { errors: [{ path: '/provider', message: 'no models' }] },
        });
      const now = clock.now();
      const current = typeof slot.settings.model === 'string' ? slot.settings.model : lister.modelTable.defaultModel;
      const target = body.model ?? replacementFor(lister.modelTable, current, now);
      const moved = settingsForModel(providers, slot.provider, slot.operation, slot.settings, target, now);
      const liveModelIds = findModel(lister.modelTable, target) ? undefined : await deps.models.liveIds(lister);
      const input = validateSlotInput(
        {
          name: slot.name,
          enabled: slot.enabled,
          provider: slot.provider,
          operation: slot.operation,
          settings: moved.settings,
          max_upload_bytes: slot.maxUploadBytes,
        },
        providers,
        deps.config,
        { now, ...(liveModelIds ? { liveModelIds } : {}) },
      );
      const written = await updateSlotIfUnchanged(
        db,
        id,
        new Date(body.updated_at),
        {
          name: input.name,
          enabled: input.enabled,
          provider: input.provider,
          operation: input.operation,
          settings: input.settings,
          maxUploadBytes: input.max_upload_bytes,
        },
        now,
      );
      if (!written) throw slotChangedMeanwhile(await loadView(request, id));
      await audit(db, clock, {
        actor: request.principal!.username,
        action: 'slot.switch_model',
        target: id,
        fields: ['settings.model', ...moved.dropped.map((d) => `settings.${d}`)],
      });
      request.log.info(
        { slot_id: id, from: current, to: target, dropped: moved.dropped },
        'slot moved to another model',
      );
      const view = await loadView(request, id);
      void reply.header('ETag', slotEtag(new Date(view.updated_at)));
      return view;
    },
  );

  app.post(
    '/api/slots/:id/stats/reset',
    {
      onRequest: canWrite,
      schema: {
        summary: "Reset a slot's counters (history is kept)",
        tags: ['slots', 'stats'],
        security: BEARER_SECURITY,
        params: SlotId,
        response: {
          200: Type.Object({ slot_id: Type.String(), stats_reset_at: Type.String() }),
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const now = clock.now();
      if (!(await resetSlotStats(db, id, now))) throw slotNotFound(id);
      await audit(db, clock, { actor: request.principal!.username, action: 'slot.stats_reset', target: id });
      return { slot_id: id, stats_reset_at: now.toISOString() };
    },
  );

  // --- test run ------------------------------------------------------------------------------

  app.post(
    '/api/slots/:id/test-run',
    {
      onRequest: canWrite,
      schema: {
        summary: 'Send a photo through the slot exactly like a booth would (same queue, deadline and provider)',
        description:
          "multipart/form-data with the photo in `fileToUpload`, and optionally, before it, a text field `draft` with the editor's unsaved `{provider, operation, settings}` " +
          '(validated like PUT; 422 otherwise): the photo goes through those settings without saving them, so the booth keeps getting the saved ones. ' +
          'The job is marked as a test (excluded from statistics). Answers 200 with the outcome, whatever it is; 429/503 when the queue refuses it.',
        tags: ['slots'],
        security: BEARER_SECURITY,
        consumes: ['multipart/form-data'],
        params: SlotId,
        response: { 200: TestRunSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const receivedAt = clock.now();
      const saved = await queueStatement(() => findSlot(db, id));
      if (!saved) throw slotNotFound(id);
      const runtime = await queueStatement(() => deps.settings.runtime());
      const jobId = randomUUID();
      const log = request.log.child({ slot_id: id, job_id: jobId, test_run: true });
      let jobCreated = false;
      try {
        // The editor's unsaved settings (field `draft`, before the photo) or, without it, the saved
        // slot. The photo is received within the widest limits, then checked against the operation.
        const upload = await receiveUpload(request, {
          payloadDir: media.payloadDir(jobId),
          fileLimitBytes: deps.config.maxUploadBytes,
          acceptedMimeTypes: PHOTO_MIME_TYPES,
          passwordField: null,
        });
        const draftText = typeof upload.fields.draft === 'string' ? upload.fields.draft : undefined;
        delete upload.fields.draft;
        const resolved =
          draftText === undefined
            ? saved
            : await draftSlot(saved, draftText, providers, deps.config, clock.now(), (lister) =>
                deps.models.liveIds(lister),
              );
        const operation = providers.operation(resolved.provider, resolved.operation);
        if (!operation)
          throw new AppError(
            'provider_error',
            `Slot ${id} uses ${resolved.provider}/${resolved.operation}, which this server does not provide`,
            { details: { reason: 'provider_unknown' } },
          );
        const photo = photoOf(upload, operation.acceptedMimeTypes);
        const limit = photoLimitBytes(deps.config.maxUploadBytes, resolved, operation);
        if (photo.size > limit)
          throw new AppError('payload_too_large', `The file exceeds the upload limit of ${limit} bytes`, {
            details: { limit_bytes: limit },
          });
        jobCreated = true;
        const outcome = await submitAndWait(deps, {
          jobId,
          slot: resolved,
          photo,
          metadata: {
            ...upload.fields,
            test_run_by: request.principal!.username,
            original_filename: photo.originalName,
            ...(draftText === undefined ? {} : { unsaved_settings: true }),
          },
          isTest: true,
          correlationId: request.id,
          receivedAt,
          tSyncResponseSeconds: runtime.tSyncResponseSeconds,
          log,
        });
        log.info({ outcome: outcome.outcome, timings: outcome.timings }, 'test run finished');
        if (outcome.outcome === 'succeeded') {
          return {
            job_id: jobId,
            outcome: outcome.outcome,
            timings: outcome.timings,
            result_url: `/public/results/${jobId}`,
            result_mime: outcome.mime,
          };
        }
        const e = outcome.error;
        return {
          job_id: jobId,
          outcome: outcome.outcome,
          timings: outcome.timings,
          error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
        };
      } finally {
        await releaseAnsweredJob(deps, jobId, jobCreated, log);
      }
    },
  );
};

/** The saved slot with the editor's unsaved provider, operation and settings (validated like a save). */
async function draftSlot(
  saved: SlotRecord,
  draftText: string,
  providers: SlotRouteDeps['providers'],
  config: SlotRouteDeps['config'],
  now: Date,
  liveIds: (lister: ModelLister) => Promise<Set<string> | undefined>,
): Promise<SlotRecord> {
  let draft: { provider?: unknown; operation?: unknown; settings?: unknown; failover?: unknown };
  try {
    draft = parseUntrustedJson(draftText) as typeof draft;
  } catch {
    throw new AppError('invalid_request', 'The draft field is not valid JSON');
  }
  if (
    typeof draft !== 'object' ||
    draft === null ||
    typeof draft.provider !== 'string' ||
    typeof draft.operation !== 'string' ||
    typeof draft.settings !== 'object' ||
    draft.settings === null
  ) {
    throw new AppError('invalid_request', 'The draft field must be {provider, operation, settings}');
  }
  const lister = providers.models(draft.provider);
  const model = (draft.settings as Record<string, unknown>).model;
  const liveModelIds =
    lister && typeof model === 'string' && !findModel(lister.modelTable, model) ? await liveIds(lister) : undefined;
  const input = validateSlotInput(
    {
      name: saved.name,
      enabled: true,
      provider: draft.provider,
      operation: draft.operation,
      settings: draft.settings as Record<string, unknown>,
      max_upload_bytes: saved.maxUploadBytes,
      ...(isFailover(draft.failover) ? { failover: draft.failover } : {}),
    },
    providers,
    config,
    { now, ...(liveModelIds ? { liveModelIds } : {}) },
  );
  return {
    ...saved,
    provider: input.provider,
    operation: input.operation,
    settings: input.settings,
    failover: input.failover ?? saved.failover,
  };
}

function isFailover(value: unknown): value is Failover {
  const f = value as Failover | undefined;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.on_safety === 'boolean' &&
    Array.isArray(f.steps) &&
    f.steps.every(
      (s) =>
        typeof s?.provider === 'string' &&
        typeof s.operation === 'string' &&
        typeof s.settings === 'object' &&
        s.settings !== null,
    )
  );
}

/** 409 `conflict` for a write made on a stale copy of the slot: `details.current` is the slot now. */
function slotChangedMeanwhile(current: SlotView): AppError {
  return new AppError(
    'conflict',
    'The slot was changed by someone else since you loaded it; reload and apply your change again',
    {
      details: { current },
    },
  );
}
