import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { errorResponses, slotNotFound } from '../errors.js';
import { resetSlotStats, findSlot } from './statements.js';
import { loadSlotView, loadSlotViews, type SlotViewDeps } from './views.js';
import { slotEtag, type SlotInput } from './service.js';
import { expectedVersion, saveSlot, switchSlotModel } from './save.js';
import { lastResultPerSlot } from '../gallery/statements.js';
import { SlotId, SlotListSchema, SlotSchema, SlotUpdateSchema, SwitchModelSchema } from './schemas.js';

/** A slot's JSON body at most (docs/security.md). */
const SLOT_BODY_LIMIT_BYTES = 512 * 1024;

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface SlotRouteDeps extends SlotViewDeps {
  auth: Authenticator;
}

/** Slots: list, read, save, the model switch, counters (docs/api.md, Admin API; templates and test runs have their own files). */
export const slotRoutes: FastifyPluginAsyncTypebox<{ deps: SlotRouteDeps }> = async (app, { deps }) => {
  const { db, clock } = deps;
  const canRead = requirePermission(deps.auth, 'slots:read');
  const canWrite = requirePermission(deps.auth, 'slots:write');

  const loadViews = (request: FastifyRequest, slotId?: string) => loadSlotViews(deps, request, slotId);
  const loadView = (request: FastifyRequest, id: string) => loadSlotView(deps, request, id);
  /** The slot as saved now, with its ETag (the editor's If-Match for the next save). */
  const viewWithEtag = async (request: FastifyRequest, reply: FastifyReply, id: string) => {
    const view = await loadView(request, id);
    void reply.header('ETag', slotEtag(new Date(view.updated_at)));
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
          200: SlotListSchema,
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
      return viewWithEtag(request, reply, request.params.id);
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
      const expected = expectedVersion(request.headers['if-match'], body.updated_at);
      const before = await findSlot(db, id);
      if (!before) throw slotNotFound(id);
      await saveSlot(deps, {
        id,
        expected,
        before,
        input: body,
        actor: request.principal!.username,
        action: 'slot.update',
        current: () => loadView(request, id),
      });
      return viewWithEtag(request, reply, id);
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
        body: SwitchModelSchema,
        response: { 200: SlotSchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const body = request.body;
      const slot = await findSlot(db, id);
      if (!slot) throw slotNotFound(id);
      const { current, target, moved } = await switchSlotModel(deps, {
        slot,
        model: body.model,
        expected: new Date(body.updated_at),
        actor: request.principal!.username,
        current: () => loadView(request, id),
      });
      request.log.info(
        { slot_id: id, from: current, to: target, dropped: moved.dropped },
        'slot moved to another model',
      );
      return viewWithEtag(request, reply, id);
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
};
