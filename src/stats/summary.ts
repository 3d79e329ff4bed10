/**
 * The statistics of docs/api.md computed from the counting queries of src/stats/statements.ts:
 * exact counts, latency percentiles from log-scale histograms, series buckets with the empty ones
 * filled in.
 */
import type { Db } from '../db/database.js';
import {
  countFailovers,
  countProviderErrorReasons,
  countRejections,
  jobHistogramRows,
  type GroupBy,
  type HistogramRow,
  type StatsRange,
} from './statements.js';

export interface JobCounts {
  total: number;
  succeeded: number;
  timeouts: number;
  provider_errors: number;
  cancellations: number;
  internal_errors: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
}

/**
 * Latency percentiles come from a log-scale histogram built in the same aggregate (no sort of the
 * rows): LATENCY_BUCKETS buckets between 1 ms and LATENCY_MAX_MS, each 3.4 % wider than the last,
 * so a reported percentile is within ±1.7 % of the exact one. Counts are exact.
 */
const LATENCY_MAX_MS = 600_000;
const LATENCY_BUCKETS = 400;
const LOG_MAX = Math.log(LATENCY_MAX_MS);

type Grouped = { key: string | Date | null; counts: JobCounts; histogram: Map<number, number> };

function percentileOf(histogram: Map<number, number>, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const lb of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(lb)!;
    if (seen >= rank) return Math.round(Math.exp(((Math.min(lb, LATENCY_BUCKETS) - 0.5) * LOG_MAX) / LATENCY_BUCKETS));
  }
  return null;
}

/** Sums histogram rows into one group per key, with their percentiles. */
function groupRows(rows: readonly HistogramRow[]): Grouped[] {
  const groups = new Map<string, Grouped>();
  for (const r of rows) {
    const id = r.key instanceof Date ? String(r.key.getTime()) : String(r.key);
    let g = groups.get(id);
    if (!g) {
      g = { key: r.key, counts: { ...EMPTY, latency_ms: { ...EMPTY.latency_ms } }, histogram: new Map() };
      groups.set(id, g);
    }
    const c = g.counts;
    c.total += r.n;
    if (r.is_finalized && r.failure_reason === null) {
      c.succeeded += r.n;
      if (r.lb !== null) g.histogram.set(r.lb, (g.histogram.get(r.lb) ?? 0) + r.n);
    } else if (r.failure_reason === 'timeout') c.timeouts += r.n;
    else if (r.failure_reason === 'provider_error') c.provider_errors += r.n;
    else if (r.failure_reason === 'cancelled') c.cancellations += r.n;
    else if (r.failure_reason === 'internal_error') c.internal_errors += r.n;
  }
  return [...groups.values()].map(withPercentiles);
}

function withPercentiles(g: Grouped): Grouped {
  const n = [...g.histogram.values()].reduce((a, b) => a + b, 0);
  g.counts.latency_ms = {
    p50: percentileOf(g.histogram, n, 0.5),
    p95: percentileOf(g.histogram, n, 0.95),
    p99: percentileOf(g.histogram, n, 0.99),
  };
  return g;
}

/** Several groups summed: exact counts, percentiles from the merged histograms. */
function merged(groups: Grouped[]): JobCounts {
  const total: Grouped = { key: null, counts: { ...EMPTY, latency_ms: { ...EMPTY.latency_ms } }, histogram: new Map() };
  for (const g of groups) {
    for (const k of ['total', 'succeeded', 'timeouts', 'provider_errors', 'cancellations', 'internal_errors'] as const)
      total.counts[k] += g.counts[k];
    for (const [lb, n] of g.histogram) total.histogram.set(lb, (total.histogram.get(lb) ?? 0) + n);
  }
  return withPercentiles(total).counts;
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
  provider_error_reasons: Record<string, number>;
  /** Jobs answered by a failover provider. */
  failovers: number;
}

const EMPTY: JobCounts = {
  total: 0,
  succeeded: 0,
  timeouts: 0,
  provider_errors: 0,
  cancellations: 0,
  internal_errors: 0,
  latency_ms: { p50: null, p95: null, p99: null },
};

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

/** The statistics (docs/api.md) over [from, to): totals, a series by hour/day/week, and per provider. */
export async function computeStats(db: Db, range: StatsRange, groupBy: GroupBy): Promise<Stats> {
  const [buckets, providers, rejections, rejectionSeries, providerErrorReasons, failovers] = await Promise.all([
    jobHistogramRows(db, range, { bucket: groupBy }).then(groupRows),
    jobHistogramRows(db, range, 'provider').then(groupRows),
    countRejections(db, range),
    countRejections(db, range, groupBy),
    countProviderErrorReasons(db, range),
    countFailovers(db, range),
  ]);
  const series = buckets;
  const byBucket = new Map(series.map((s) => [new Date(s.key as Date).getTime(), s.counts]));
  const rejectionsAt = (t: number) =>
    Object.fromEntries(
      rejectionSeries.filter((r) => r.bucket && new Date(r.bucket).getTime() === t).map((r) => [r.code, r.n]),
    );
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    group_by: groupBy,
    totals: { ...merged(buckets), rejections: Object.fromEntries(rejections.map((r) => [r.code, r.n])) },
    series: bucketStarts(range.from, range.to, groupBy).map((b) => ({
      bucket_start: b.toISOString(),
      ...(byBucket.get(b.getTime()) ?? EMPTY),
      rejections: rejectionsAt(b.getTime()),
    })),
    providers: providers.map((p) => ({ provider: String(p.key), ...p.counts })),
    provider_error_reasons: providerErrorReasons,
    failovers,
  };
}

/** Totals of a slot since its last reset (all history when never reset). */
export async function slotTotalsSince(db: Db, slotId: string, since: Date | null, now: Date): Promise<Totals> {
  const range = { from: since ?? new Date(0), to: new Date(now.getTime() + 1), slotId };
  const [grouped, rejections] = await Promise.all([
    jobHistogramRows(db, range, 'none').then(groupRows),
    countRejections(db, range),
  ]);
  return { ...merged(grouped), rejections: Object.fromEntries(rejections.map((r) => [r.code, r.n])) };
}
