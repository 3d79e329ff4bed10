import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { MediaStore } from '../media/storage.js';
import type { RejectionCounter } from './rejections.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses, slotNotFound } from '../errors.js';
import { boothActivity, listRefusals, slotLastOutcomes, slotStatsResetAt, type GroupBy } from './statements.js';
import { computeStats, slotTotalsSince } from './summary.js';
import { mergeUnnamedContacts } from './booths.js';
import { BoothRequestLog, KEEP_PER_BOOTH } from './booth-requests.js';
import { KEEP_SAMPLES, SAMPLES_PER_CLIENT, SAMPLES_PER_MINUTE } from './rejections.js';
import { MEDIA_DIRS } from '../media/storage.js';
import { Nullable, SLOT_ID_PATTERN } from '../schemas.js';

const MAX_BUCKETS = 2000;
const BUCKET_MS: Record<GroupBy, number> = { hour: 3600_000, day: 86_400_000, week: 7 * 86_400_000 };

const Latency = Type.Object({
  p50: Type.Union([Type.Integer(), Type.Null()]),
  p95: Type.Union([Type.Integer(), Type.Null()]),
  p99: Type.Union([Type.Integer(), Type.Null()]),
});
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
  series: Type.Array(
    Type.Object({
      bucket_start: Type.String(),
      ...countFields,
      rejections: Type.Record(Type.String(), Type.Integer()),
    }),
  ),
  providers: Type.Array(Type.Object({ provider: Type.String(), ...countFields })),
  provider_error_reasons: Type.Record(Type.String(), Type.Integer(), {
    description: 'Provider errors by details.reason (model_unavailable, safety_block, rate_limited, …)',
  }),
  failovers: Type.Integer({
    description: 'Booth jobs answered by a failover provider; `providers` counts answers by the provider that answered',
  }),
});
const SlotStatsSchema = Type.Object({
  ...StatsSchema.properties,
  slot_id: Type.String(),
  since_reset: Type.Object({ at: Type.Union([Type.String(), Type.Null()]), totals: Totals }),
  last_success_at: Nullable(
    Type.String({
      description: "When the slot's newest successful booth job finished (any time, not only in the period)",
    }),
  ),
  last_error: Nullable(
    Type.Object(
      { at: Type.String(), outcome: Type.String(), job_id: Type.String() },
      { description: "The slot's newest failed booth job (any time)" },
    ),
  ),
});
const RefusalSchema = Type.Object({
  id: Type.String(),
  at: Type.String(),
  slot_id: Type.String({ description: 'The slot the booth asked for, as sent (cut to 64 characters)' }),
  status: Type.Integer(),
  code: Type.String(),
  client_address: Type.String(),
  booth_name: Nullable(Type.String({ description: "The booth's `name` field, when it was read before the refusal" })),
  booth_user_id: Nullable(Type.String()),
  message: Nullable(
    Type.String({
      description: 'The message of the answer, as the booth read it (null on rows from before 2026-12-07)',
    }),
  ),
});
const BoothSchema = Type.Object({
  key: Type.String({
    description:
      'The booth as the booth check knows it: its `name` field, else its address (GET /api/booths/{key}/requests)',
  }),
  address: Type.String(),
  name: Type.String({ description: "DSLR Remote Pro's `name` field ('' when the booth sends none)" }),
  user_id: Type.String({ description: "DSLR Remote Pro's `user_id` field ('' when none)" }),
  last_contact_at: Type.String(),
  last_slot_id: Type.String(),
  jobs: Type.Integer({ description: 'Photos accepted from it in the period' }),
  refusals: Type.Integer({ description: 'Refusals kept for it in the period (sampled under a flood)' }),
  last_result: Nullable(Type.Object({ at: Type.String(), outcome: Type.String(), job_id: Type.String() })),
  last_refusal: Nullable(Type.Object({ at: Type.String(), status: Type.Integer(), code: Type.String() })),
});
const BoothPartSchema = Type.Object({
  name: Type.String(),
  bytes: Type.Integer(),
  file: Type.Boolean(),
  type: Type.Optional(Type.String({ description: "A file part's declared Content-Type" })),
});
const BoothRequestSchema = Type.Object({
  at: Type.String(),
  slot_id: Type.String(),
  client_address: Type.String(),
  http_version: Type.String(),
  headers: Type.Record(Type.String(), Type.String(), {
    description: 'User-Agent, Content-Type, Content-Length, Transfer-Encoding, Expect as sent',
  }),
  query_keys: Type.Array(Type.String(), { description: "The URL's query keys (never their values)" }),
  parts: Type.Array(BoothPartSchema, { description: 'The multipart parts in the order they came (never a value)' }),
  status: Type.Integer(),
  code: Nullable(Type.String()),
  job_id: Nullable(Type.String()),
  timings: Type.Object({
    body_ms: Type.Optional(Type.Integer({ description: 'Until the body was read' })),
    total_ms: Type.Integer({ description: 'Until the answer' }),
  }),
});
const StorageSchema = Type.Object({
  measured_at: Type.String(),
  media_bytes: Type.Object(
    Object.fromEntries(MEDIA_DIRS.map((d) => [d, Type.Integer()])) as Record<
      (typeof MEDIA_DIRS)[number],
      ReturnType<typeof Type.Integer>
    >,
  ),
  disk: Nullable(Type.Object({ total_bytes: Type.Integer(), free_bytes: Type.Integer() })),
});
const REFUSALS_DESCRIPTION = `The newest refusals of booth uploads, one by one: time, the slot asked for, HTTP status, error code, client address and the booth's \`name\`/\`user_id\` when it sent them before it was refused. Sampled: at most ${SAMPLES_PER_CLIENT} a minute per client (an IPv6 /64 is one client) and ${SAMPLES_PER_MINUTE} a minute in all are kept, and the newest ${KEEP_SAMPLES} rows; the counts in the statistics stay exact. Newest first; page with \`before\` = the last id.`;
const Query = Type.Object({
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'Start (inclusive), ISO-8601. Default: 24 h before `to`.' }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive), ISO-8601. Default: now.' })),
  group_by: Type.Optional(
    Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week')], { default: 'hour' }),
  ),
});

function rangeOf(query: Static<typeof Query>, now: Date): { from: Date; to: Date; groupBy: GroupBy } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 86_400_000);
  const groupBy = query.group_by ?? 'hour';
  if (!(from < to)) throw new AppError('invalid_request', '`from` must be before `to`');
  if ((to.getTime() - from.getTime()) / BUCKET_MS[groupBy] > MAX_BUCKETS) {
    throw new AppError(
      'invalid_request',
      `That period has more than ${MAX_BUCKETS} ${groupBy} buckets; choose a coarser group_by`,
    );
  }
  return { from, to, groupBy };
}

/** Statistics over job history (docs/api.md): global and per slot, with the slot's since-reset totals. */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface StatsRouteDeps {
  auth: Authenticator;
  boothRequests: BoothRequestLog;
  clock: Clock;
  db: Db;
  media: MediaStore;
  rejections: RejectionCounter;
}

export const statsRoutes: FastifyPluginAsyncTypebox<{ deps: StatsRouteDeps }> = async (app, { deps }) => {
  const canRead = requirePermission(deps.auth, 'stats:read');
  const description =
    'Booth jobs created in [from, to) (test runs excluded): outcomes, refusals by error code, latency percentiles (received → answered, successes), a series by hour/day/week (UTC buckets) and per provider.';

  app.get(
    '/api/stats/global',
    {
      onRequest: canRead,
      schema: {
        summary: 'Statistics of all slots',
        description,
        tags: ['stats'],
        security: BEARER_SECURITY,
        querystring: Query,
        response: { 200: StatsSchema, ...errorResponses(400, 401, 403) },
      },
    },
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
        params: Type.Object({ id: Type.String({ pattern: SLOT_ID_PATTERN }) }),
        querystring: Query,
        response: { 200: SlotStatsSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const now = deps.clock.now();
      const r = rangeOf(request.query, now);
      const reset = await slotStatsResetAt(deps.db, id);
      if (!reset.exists) throw slotNotFound(id);
      const [stats, sinceReset, last] = await Promise.all([
        computeStats(deps.db, { from: r.from, to: r.to, slotId: id }, r.groupBy),
        slotTotalsSince(deps.db, id, reset.resetAt, now),
        slotLastOutcomes(deps.db, id),
      ]);
      return {
        ...stats,
        slot_id: id,
        since_reset: { at: reset.resetAt?.toISOString() ?? null, totals: sinceReset },
        last_success_at: last.lastSuccessAt?.toISOString() ?? null,
        last_error: last.lastError && {
          at: last.lastError.at.toISOString(),
          outcome: last.lastError.outcome,
          job_id: last.lastError.jobId,
        },
      };
    },
  );

  app.get(
    '/api/stats/refusals',
    {
      onRequest: canRead,
      schema: {
        summary: 'Refused booth uploads, one by one',
        description: REFUSALS_DESCRIPTION,
        tags: ['stats'],
        security: BEARER_SECURITY,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
          slot_id: Type.Optional(Type.String({ maxLength: 64, pattern: '^[^\\u0000-\\u001f]*$' })),
        }),
        response: {
          200: Type.Object({ refusals: Type.Array(RefusalSchema), next_before: Nullable(Type.String()) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      // Refusals of the last few seconds are written with the next batch: read them now.
      await deps.rejections.flush();
      const limit = request.query.limit ?? 50;
      const rows = await listRefusals(deps.db, {
        limit,
        beforeId: request.query.before,
        slotId: request.query.slot_id,
      });
      return {
        refusals: rows.map((r) => ({
          id: r.id,
          at: r.occurred_at.toISOString(),
          slot_id: r.slot_id,
          status: r.status,
          code: r.code,
          client_address: r.client_address,
          booth_name: r.booth_name,
          booth_user_id: r.booth_user_id,
          message: r.message,
        })),
        next_before: rows.length === limit ? rows[rows.length - 1]!.id : null,
      };
    },
  );

  app.get(
    '/api/stats/booths',
    {
      onRequest: canRead,
      schema: {
        summary: 'Booths in contact: last contact, last result, last refusal',
        description:
          "Each booth as its uploads name it — client address and DSLR Remote Pro's `name`/`user_id` — with its last contact, last result and last refusal in the last `hours` (default 24). A refusal read before the booth sent its name is counted with the named booth last seen at that address. Latest contact first, at most 200.",
        tags: ['stats'],
        security: BEARER_SECURITY,
        querystring: Type.Object({ hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 24 })) }),
        response: {
          200: Type.Object({ since: Type.String(), booths: Type.Array(BoothSchema) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      await deps.rejections.flush();
      const since = new Date(deps.clock.now().getTime() - (request.query.hours ?? 24) * 3_600_000);
      const rows = mergeUnnamedContacts(await boothActivity(deps.db, since, 200));
      return {
        since: since.toISOString(),
        booths: rows.map((b) => ({
          key: BoothRequestLog.keyOf(b.name, b.address),
          address: b.address,
          name: b.name,
          user_id: b.user_id,
          last_contact_at: b.last_contact_at.toISOString(),
          last_slot_id: b.last_slot_id,
          jobs: b.jobs,
          refusals: b.refusals,
          last_result:
            b.last_job_at && b.last_job_id && b.last_outcome
              ? { at: b.last_job_at.toISOString(), outcome: b.last_outcome, job_id: b.last_job_id }
              : null,
          last_refusal:
            b.last_refusal_at && b.last_refusal_code
              ? { at: b.last_refusal_at.toISOString(), status: b.last_refusal_status ?? 0, code: b.last_refusal_code }
              : null,
        })),
      };
    },
  );

  app.get(
    '/api/booths/:key/requests',
    {
      onRequest: canRead,
      schema: {
        summary: "The booth check: a booth's last requests as the server received them",
        description: `The newest ${KEEP_PER_BOOTH} requests of one booth (its \`key\` from GET /api/stats/booths: its \`name\` field, else its address), newest first: time, slot, the multipart parts in order (name, size, declared type), the headers that matter, the query keys, the answer's status and code, and the timings. Never a password, a field's value or an image. Requests are sampled under a flood (at most 30 a minute per address).`,
        tags: ['stats'],
        security: BEARER_SECURITY,
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: {
          200: Type.Object({ key: Type.String(), requests: Type.Array(BoothRequestSchema) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => ({ key: request.params.key, requests: await deps.boothRequests.list(request.params.key) }),
  );

  app.get(
    '/api/stats/storage',
    {
      onRequest: canRead,
      schema: {
        summary: 'Storage used by media, and the disk around it',
        description:
          'Bytes under the media root by kind (payloads, results, thumbs, templates, temporary) and the free and total bytes of its disk. Measured at most once a minute.',
        tags: ['stats'],
        security: BEARER_SECURITY,
        response: { 200: StorageSchema, ...errorResponses(401, 403) },
      },
    },
    async () => {
      const usage = await deps.media.usage();
      return {
        measured_at: usage.measuredAt.toISOString(),
        media_bytes: usage.bytes,
        disk: usage.disk && { total_bytes: usage.disk.totalBytes, free_bytes: usage.disk.freeBytes },
      };
    },
  );
};
