import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { NotificationHub } from '../db/notifications.js';
import type { Logger } from '../logger.js';
import type { PublicAddress } from '../ops/public-address.js';
import { JobFeed, MAX_STREAMS_PER_ACCOUNT, MAX_STREAMS_PER_PROCESS } from './feed.js';
import type { PublicBase } from '../ops/public-address.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses } from '../errors.js';
import { LiteralUnion, Nullable, SLOT_ID_PATTERN } from '../schemas.js';
import { timingsOf } from '../queue/submit.js';
import { isUuid } from '../media/storage.js';
import { GUEST_QR_LEFT_OFF, GUEST_QR_LOCAL_ONLY, guestLinkOf, shortJobId } from '../media/guest-qr.js';
import { findJob, listJobs, type JobDetailRow, type JobSummaryRow } from './statements.js';

const FAILURES = ['timeout', 'provider_error', 'cancelled', 'internal_error'] as const;
const JobSummarySchema = Type.Object({
  id: Type.String(),
  slot_id: Type.String(),
  provider: Type.String(),
  operation: Type.String(),
  status: Type.String({ description: 'pending | processing (while unfinished); see outcome once finalized' }),
  outcome: Type.String({
    description: 'pending | processing | succeeded | timeout | provider_error | cancelled | internal_error',
  }),
  is_finalized: Type.Boolean(),
  failure_reason: Nullable(Type.String()),
  is_test: Type.Boolean(),
  created_at: Type.String(),
  finalized_at: Nullable(Type.String()),
  total_ms: Nullable(Type.Number()),
});
const JobSchema = Type.Object({
  ...JobSummarySchema.properties,
  failure_detail: Nullable(Type.Record(Type.String(), Type.Unknown())),
  deadline: Type.Object({ expires_at: Type.String(), remaining_ms: Type.Integer(), is_expired: Type.Boolean() }),
  timings: Type.Object({
    queue_wait_ms: Nullable(Type.Number()),
    processing_ms: Nullable(Type.Number()),
    total_ms: Nullable(Type.Number()),
  }),
  result: Nullable(
    Type.Object({
      url: Type.String(),
      guest_url: Type.String(),
      guest_link: Nullable(
        Type.String({
          description:
            'The absolute link a guest opens (and its QR code), on the public address; null when this server knows none',
        }),
      ),
      public_base_source: Type.Union([Type.Literal('configured'), Type.Literal('lan'), Type.Literal('none')]),
      mime: Type.String(),
      size: Type.Integer(),
      sha256: Type.String(),
      expires_at: Type.String(),
    }),
  ),
  provider_calls: Type.Array(
    Type.Object({
      provider: Type.String(),
      model: Type.Optional(Type.String()),
      attempt: Type.Integer(),
      durationMs: Type.Number(),
      outcome: LiteralUnion(['success', 'retry', 'failure', 'aborted'] as const),
      responseId: Type.Optional(Type.String()),
      httpStatus: Type.Optional(Type.Integer()),
      detail: Type.Optional(Type.String({ description: 'What went wrong, with secrets masked' })),
    }),
    { description: 'Every call to a provider for this job, in order (src/providers/types.ts, ProviderCallRecord)' },
  ),
  notices: Type.Array(Type.String(), {
    description: `What the job did differently from its slot's settings: ${GUEST_QR_LEFT_OFF} (the slot asks for a guest QR code, but no address guests can reach was known, so the print has none), ${GUEST_QR_LOCAL_ONLY} (printed with this machine's network address: phones on that network only)`,
  }),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  correlation_id: Nullable(Type.String()),
  client_address: Nullable(
    Type.String({ description: 'The address the booth sent the photo from (null for a test run)' }),
  ),
});

function outcomeOf(r: JobSummaryRow): string {
  if (!r.is_finalized) return r.status;
  return r.failure_reason ?? 'succeeded';
}

function summary(r: JobSummaryRow) {
  return {
    id: r.id,
    slot_id: r.slot_id,
    provider: r.provider,
    operation: r.operation,
    status: r.status,
    outcome: outcomeOf(r),
    is_finalized: r.is_finalized,
    failure_reason: r.failure_reason,
    is_test: r.is_test,
    created_at: r.created_at.toISOString(),
    finalized_at: r.finalized_at?.toISOString() ?? null,
    total_ms: timingsOf(r).total_ms,
  };
}

function detail(r: JobDetailRow, now: Date, base: PublicBase) {
  const remaining = r.expires_at.getTime() - now.getTime();
  const live = r.result_path !== null && r.result_expires_at !== null && r.result_expires_at > now;
  return {
    ...summary(r),
    failure_detail: r.failure_detail,
    deadline: {
      expires_at: r.expires_at.toISOString(),
      remaining_ms: r.is_finalized ? 0 : Math.max(0, remaining),
      is_expired: remaining <= 0,
    },
    timings: timingsOf(r),
    result: live
      ? {
          url: `/public/results/${r.id}`,
          guest_url: `/r/${shortJobId(r.id)}`,
          guest_link: base.url ? guestLinkOf(base.url, r.id) : null,
          public_base_source: base.source,
          mime: r.result_mime ?? 'application/octet-stream',
          size: Number(r.result_size ?? 0),
          sha256: r.result_sha256 ?? '',
          expires_at: r.result_expires_at!.toISOString(),
        }
      : null,
    provider_calls: r.provider_calls,
    notices: r.notices,
    metadata: r.metadata,
    correlation_id: r.correlation_id,
    client_address: r.client_address,
  };
}

/** The read-only jobs monitor: list, detail and a live feed (Server-Sent Events). */
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface JobRouteDeps {
  auth: Authenticator;
  clock: Clock;
  config: Config;
  db: Db;
  hub: NotificationHub;
  log: Logger;
  publicAddress: PublicAddress;
}

export const jobRoutes: FastifyPluginAsyncTypebox<{ deps: JobRouteDeps }> = async (app, { deps }) => {
  const canRead = requirePermission(deps.auth, 'stats:read');
  const feed = new JobFeed({ db: deps.db, hub: deps.hub, log: deps.log });
  const STREAM_HEARTBEAT_MS = deps.config.streamHeartbeatSeconds * 1000;
  // Live streams never hold a stop: they end before the server waits for its requests.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of openStreams) end();
  });

  app.get(
    '/api/jobs',
    {
      onRequest: canRead,
      schema: {
        summary: 'Jobs, filtered and paginated (newest first by default)',
        tags: ['jobs'],
        security: BEARER_SECURITY,
        querystring: Type.Object({
          slot_id: Type.Optional(Type.String({ pattern: SLOT_ID_PATTERN })),
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('processing')])),
          finalized: Type.Optional(Type.Boolean()),
          failure_reason: Type.Optional(LiteralUnion([...FAILURES, 'none'] as const)),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
          sort: Type.Optional(
            Type.Union([Type.Literal('created_at'), Type.Literal('-created_at')], { default: '-created_at' }),
          ),
        }),
        response: {
          200: Type.Object({
            jobs: Type.Array(JobSummarySchema),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      const { rows, total } = await listJobs(deps.db, {
        slotId: q.slot_id,
        status: q.status,
        finalized: q.finalized,
        failureReason: q.failure_reason,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        limit,
        offset,
        newestFirst: q.sort !== 'created_at',
      });
      return { jobs: rows.map(summary), total, limit, offset };
    },
  );

  app.get(
    '/api/jobs/stream',
    {
      onRequest: requirePermission(deps.auth, 'stats:read'),
      schema: {
        summary: 'Live job state changes (Server-Sent Events)',
        description:
          'Events named `job` with data {id, slot_id, status, outcome, is_finalized, failure_reason, at} when a job is enqueued or finalized, on any instance. A comment line every 15 s keeps proxies from closing the stream. ' +
          'Authenticate with the Authorization header (read the stream with fetch; a token is never accepted in the URL). ' +
          `At most ${MAX_STREAMS_PER_ACCOUNT} streams per account and ${MAX_STREAMS_PER_PROCESS} per process: 429 too_many_streams beyond.`,
        tags: ['jobs'],
        security: BEARER_SECURITY,
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errorResponses(401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const account = request.principal!.username;
      const refused = feed.refusal(account);
      if (refused) throw new AppError('too_many_streams', refused, { headers: { 'Retry-After': '10' } });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
        'X-Correlation-Id': request.id,
      });
      res.write('retry: 3000\n\n');
      const remove = feed.add(account, (row) => {
        if (res.writableEnded) return;
        const s = summary(row);
        res.write(
          `event: job\ndata: ${JSON.stringify({ id: s.id, slot_id: s.slot_id, status: s.status, outcome: s.outcome, is_finalized: s.is_finalized, failure_reason: s.failure_reason, at: deps.clock.now().toISOString() })}\n\n`,
        );
      });
      // Each heartbeat asks again who is listening: a stream ends with its session (logout, password
      // reset, removed account) or with its permission to read jobs, within one beat.
      const heartbeat = setInterval(() => {
        deps.auth.identify(request).then(
          (caller) =>
            caller?.principal.permissions.includes('stats:read') ? res.write(': keep-alive\n\n') : res.end(),
          () => res.end(),
        );
      }, STREAM_HEARTBEAT_MS);
      const end = () => res.end();
      openStreams.add(end);
      const close = () => {
        clearInterval(heartbeat);
        openStreams.delete(end);
        remove();
      };
      request.raw.once('close', close);
      res.once('close', close);
    },
  );

  app.get(
    '/api/jobs/:id',
    {
      onRequest: canRead,
      schema: {
        summary: 'One job: deadline, timings, result link, provider calls (never payload bytes or secrets)',
        tags: ['jobs'],
        security: BEARER_SECURITY,
        params: Type.Object({ id: Type.String() }),
        response: { 200: JobSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const row = isUuid(id) ? await findJob(deps.db, id) : undefined;
      if (!row) throw new AppError('job_not_found', `No job ${id}`, { details: { job_id: id } });
      return detail(row, deps.clock.now(), deps.publicAddress.base());
    },
  );
};
