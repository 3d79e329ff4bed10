import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.js';

export type GroupBy = 'hour' | 'day' | 'week';

export interface StatsRange {
  from: Date;
  to: Date;
  slotId?: string;
}

export interface JobCounts {
  total: number;
  succeeded: number;
  timeouts: number;
  provider_errors: number;
  cancellations: number;
  internal_errors: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
}

interface CountsRow {
  key: string | Date | null;
  total: number;
  succeeded: number;
  timeouts: number;
  provider_errors: number;
  cancellations: number;
  internal_errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Outcome counts and latency percentiles (received → finalized, successes only) of booth jobs in
 * [from, to), grouped by `key` (a bucket start, a provider, or nothing). Test runs are excluded.
 * Served by job_created_idx / job_slot_created_idx: a range scan, then one aggregate pass.
 */
async function countJobs(db: Db, range: StatsRange, key: RawBuilder<unknown>): Promise<Array<{ key: string | Date | null; counts: JobCounts }>> {
  const ok = sql`is_finalized AND failure_reason IS NULL`;
  const latency = sql`extract(epoch FROM finalized_at - received_at) * 1000`;
  const result = await sql<CountsRow>`
    SELECT ${key} AS key,
           count(*)::int                                                  AS total,
           count(*) FILTER (WHERE ${ok})::int                              AS succeeded,
           count(*) FILTER (WHERE failure_reason = 'timeout')::int         AS timeouts,
           count(*) FILTER (WHERE failure_reason = 'provider_error')::int  AS provider_errors,
           count(*) FILTER (WHERE failure_reason = 'cancelled')::int       AS cancellations,
           count(*) FILTER (WHERE failure_reason = 'internal_error')::int  AS internal_errors,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY ${latency}) FILTER (WHERE ${ok}) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY ${latency}) FILTER (WHERE ${ok}) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ${latency}) FILTER (WHERE ${ok}) AS p99
      FROM job
     WHERE created_at >= ${range.from} AND created_at < ${range.to} AND NOT is_test
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})
     GROUP BY 1
     ORDER BY 1`.execute(db);
  const round = (v: number | null) => (v === null ? null : Math.round(Number(v)));
  return result.rows.map((r) => ({
    key: r.key,
    counts: {
      total: r.total,
      succeeded: r.succeeded,
      timeouts: r.timeouts,
      provider_errors: r.provider_errors,
      cancellations: r.cancellations,
      internal_errors: r.internal_errors,
      latency_ms: { p50: round(r.p50), p95: round(r.p95), p99: round(r.p99) },
    },
  }));
}

/** Requests refused before a job existed (401, 404, 413, 415, 429…), by code, optionally by bucket. */
async function countRejections(db: Db, range: StatsRange, groupBy?: GroupBy): Promise<Array<{ bucket: Date | null; code: string; n: number }>> {
  const bucket = groupBy ? sql`date_trunc(${groupBy}, occurred_at, 'UTC')` : sql`NULL::timestamptz`;
  const result = await sql<{ bucket: Date | null; code: string; n: number }>`
    SELECT ${bucket} AS bucket, code, count(*)::int AS n
      FROM ingest_rejection
     WHERE occurred_at >= ${range.from} AND occurred_at < ${range.to}
       AND (${range.slotId ?? null}::text IS NULL OR slot_id = ${range.slotId ?? null})
     GROUP BY 1, 2`.execute(db);
  return result.rows;
}

export interface Totals extends JobCounts {
  rejections: Record<string, number>;
}

export interface Stats {
  from: string;
  to: string;
  group_by: GroupBy;
  totals: Totals;
  series: Array<Totals & { bucket_start: string }>;
  providers: Array<JobCounts & { provider: string }>;
}

const EMPTY: JobCounts = { total: 0, succeeded: 0, timeouts: 0, provider_errors: 0, cancellations: 0, internal_errors: 0, latency_ms: { p50: null, p95: null, p99: null } };

const STEP_MS: Record<GroupBy, number> = { hour: 3600_000, day: 86_400_000, week: 7 * 86_400_000 };

/** Bucket starts (UTC, as date_trunc computes them) covering [from, to). */
function bucketStarts(from: Date, to: Date, groupBy: GroupBy): Date[] {
  const start = new Date(from);
  start.setUTCMinutes(0, 0, 0);
  if (groupBy !== 'hour') start.setUTCHours(0);
  if (groupBy === 'week') start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7)); // ISO weeks start on Monday
  const out: Date[] = [];
  for (let t = start.getTime(); t < to.getTime(); t += STEP_MS[groupBy]) out.push(new Date(t));
  return out;
}

/** The statistics of SPEC §6 over [from, to): totals, a series by hour/day/week, and per provider. */
export async function computeStats(db: Db, range: StatsRange, groupBy: GroupBy): Promise<Stats> {
  const [totals, series, providers, rejections, rejectionSeries] = await Promise.all([
    countJobs(db, range, sql`NULL::text`),
    countJobs(db, range, sql`date_trunc(${groupBy}, created_at, 'UTC')`),
    countJobs(db, range, sql`provider`),
    countRejections(db, range),
    countRejections(db, range, groupBy),
  ]);
  const byBucket = new Map(series.map((s) => [new Date(s.key as Date).getTime(), s.counts]));
  const rejectionsAt = (t: number) => Object.fromEntries(rejectionSeries.filter((r) => r.bucket && new Date(r.bucket).getTime() === t).map((r) => [r.code, r.n]));
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    group_by: groupBy,
    totals: { ...(totals[0]?.counts ?? EMPTY), rejections: Object.fromEntries(rejections.map((r) => [r.code, r.n])) },
    series: bucketStarts(range.from, range.to, groupBy).map((b) => ({ bucket_start: b.toISOString(), ...(byBucket.get(b.getTime()) ?? EMPTY), rejections: rejectionsAt(b.getTime()) })),
    providers: providers.map((p) => ({ provider: String(p.key), ...p.counts })),
  };
}

/** When a slot's counters were last reset (null: never). */
export async function slotStatsResetAt(db: Db, slotId: string): Promise<{ exists: boolean; resetAt: Date | null }> {
  const row = await db.selectFrom('slot').select('stats_reset_at').where('id', '=', slotId).executeTakeFirst();
  return { exists: row !== undefined, resetAt: row?.stats_reset_at ?? null };
}

/** Totals of a slot since its last reset (all history when never reset). */
export async function slotTotalsSince(db: Db, slotId: string, since: Date | null, now: Date): Promise<Totals> {
  const range = { from: since ?? new Date(0), to: new Date(now.getTime() + 1), slotId };
  const [counts, rejections] = await Promise.all([countJobs(db, range, sql`NULL::text`), countRejections(db, range)]);
  return { ...(counts[0]?.counts ?? EMPTY), rejections: Object.fromEntries(rejections.map((r) => [r.code, r.n])) };
}
