import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { AppDeps } from '../deps.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses } from '../errors.js';
import { computeStats, slotStatsResetAt, slotTotalsSince, type GroupBy } from './statements.js';

const MAX_BUCKETS = 2000;
const BUCKET_MS: Record<GroupBy, number> = { hour: 3600_000, day: 86_400_000, week: 7 * 86_400_000 };

const Latency = Type.Object({ p50: Type.Union([Type.Integer(), Type.Null()]), p95: Type.Union([Type.Integer(), Type.Null()]), p99: Type.Union([Type.Integer(), Type.Null()]) });
const countFields = {
  total: Type.Integer(),
  succeeded: Type.Integer(),
  timeouts: Type.Integer(),
  provider_errors: Type.Integer(),
  cancellations: Type.Integer(),
  internal_errors: Type.Integer(),
  latency_ms: Latency,
};
const Totals = Type.Object({ ...countFields, rejections: Type.Record(Type.String(), Type.Integer()) });
const StatsSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  group_by: Type.String(),
  totals: Totals,
  series: Type.Array(Type.Object({ bucket_start: Type.String(), ...countFields, rejections: Type.Record(Type.String(), Type.Integer()) })),
  providers: Type.Array(Type.Object({ provider: Type.String(), ...countFields })),
  provider_error_reasons: Type.Record(Type.String(), Type.Integer(), { description: 'Provider errors by details.reason (model_unavailable, safety_block, rate_limited, …)' }),
  failovers: Type.Integer({ description: 'Booth jobs answered by a failover provider; `providers` counts answers by the provider that answered' }),
});
const SlotStatsSchema = Type.Object({ ...StatsSchema.properties, slot_id: Type.String(), since_reset: Type.Object({ at: Type.Union([Type.String(), Type.Null()]), totals: Totals }) });
const Query = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (inclusive), ISO-8601. Default: 24 h before `to`.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive), ISO-8601. Default: now.' })),
  group_by: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week')], { default: 'hour' })),
});

function rangeOf(query: Static<typeof Query>, now: Date): { from: Date; to: Date; groupBy: GroupBy } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 86_400_000);
  const groupBy = query.group_by ?? 'hour';
  if (!(from < to)) throw new AppError('invalid_request', '`from` must be before `to`');
  if ((to.getTime() - from.getTime()) / BUCKET_MS[groupBy] > MAX_BUCKETS) {
    throw new AppError('invalid_request', `That period has more than ${MAX_BUCKETS} ${groupBy} buckets; choose a coarser group_by`);
  }
  return { from, to, groupBy };
}

/** Statistics over job history (docs/api.md): global and per slot, with the slot's since-reset totals. */
export const statsRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const canRead = requirePermission(deps.auth, 'stats:read');
  const description =
    'Booth jobs created in [from, to) (test runs excluded): outcomes, refusals by error code, latency percentiles (received → answered, successes), a series by hour/day/week (UTC buckets) and per provider.';

  app.get(
    '/api/stats/global',
    { onRequest: canRead, schema: { summary: 'Statistics of all slots', description, tags: ['stats'], security: BEARER_SECURITY, querystring: Query, response: { 200: StatsSchema, ...errorResponses(400, 401, 403) } } },
    async (request) => {
      const r = rangeOf(request.query, deps.clock.now());
      return computeStats(deps.db, { from: r.from, to: r.to }, r.groupBy);
    },
  );

  app.get(
    '/api/stats/slots/:id',
    {
      onRequest: canRead,
      schema: {
        summary: 'Statistics of one slot, and its totals since the last reset',
        description,
        tags: ['stats'],
        security: BEARER_SECURITY,
        params: Type.Object({ id: Type.String({ pattern: '^slot-[0-9]{3}$' }) }),
        querystring: Query,
        response: { 200: SlotStatsSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const now = deps.clock.now();
      const r = rangeOf(request.query, now);
      const reset = await slotStatsResetAt(deps.db, id);
      if (!reset.exists) throw new AppError('slot_not_found', `Slot ${id} does not exist`, { details: { slot_id: id } });
      const [stats, sinceReset] = await Promise.all([computeStats(deps.db, { from: r.from, to: r.to, slotId: id }, r.groupBy), slotTotalsSince(deps.db, id, reset.resetAt, now)]);
      return { ...stats, slot_id: id, since_reset: { at: reset.resetAt?.toISOString() ?? null, totals: sinceReset } };
    },
  );
};
