/**
 * `npm run bench:stats` — statistics queries over one million jobs (issue: "fast at 1 million
 * jobs"). Seeds a fresh database (embedded PostgreSQL, or PHOTOCHANGER_BENCH_DATABASE_URL's server)
 * with 1,000,000 jobs over 30 days on 15 slots, then times the API's statistics queries against a
 * baseline in the same run: a bare count(*) over the same rows. Writes its section of
 * docs/benchmarks.md.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { writeBenchSection } from './report.js';
import { externalBenchDatabase } from './support.js';
import { connectDatabase, migrateToLatest } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { computeStats, slotTotalsSince } from '../src/stats/summary.js';

const JOBS = Number(process.env.BENCH_STATS_JOBS ?? 1_000_000);
const RUNS = 7;
const log = createLogger('warn');

async function timed(fn: () => Promise<unknown>): Promise<{ p50: number; max: number }> {
  await fn(); // warm
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]! };
}

async function main(): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-bench-stats-'));
  await fs.chmod(tmp, 0o755);
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  let url: string;
  const external = await externalBenchDatabase('stats');
  if (external) {
    url = external.url;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pgdata'), database: 'bench', log });
    url = embedded.url;
  }
  const database = connectDatabase(url, { statementTimeoutMs: 600_000, log });
  try {
    await migrateToLatest(database.db, log);
    const end = new Date();
    const span = 30 * 86_400_000;
    const seedStart = performance.now();
    // Outcomes in realistic proportions: 92 % success, 4 % provider errors, 3 % timeouts, 1 % cancelled.
    await sql`
      INSERT INTO job (id, slot_id, instance_id, status, is_finalized, failure_reason, provider, operation,
                       received_at, created_at, expires_at, claimed_at, finalized_at, is_test)
      SELECT gen_random_uuid(),
             format('slot-%s', lpad((1 + n % 15)::text, 3, '0')),
             '00000000-0000-4000-8000-000000000000',
             'processing', true,
             CASE WHEN n % 100 < 92 THEN NULL WHEN n % 100 < 96 THEN 'provider_error' WHEN n % 100 < 99 THEN 'timeout' ELSE 'cancelled' END,
             (ARRAY['local','gemini','openai','turbotext'])[1 + n % 4], 'edit',
             t, t, t + interval '48 seconds', t + interval '20 milliseconds',
             t + make_interval(secs => 0.5 + (n % 997) / 50.0),
             n % 50 = 0
        FROM (SELECT n, ${end}::timestamptz - make_interval(secs => (n::float8 / ${JOBS}) * ${span / 1000}) AS t
                FROM generate_series(1, ${JOBS}) AS n) s`.execute(database.db);
    await sql`ANALYZE job`.execute(database.db);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const day = { from: new Date(end.getTime() - 86_400_000), to: end };
    const month = { from: new Date(end.getTime() - span), to: end };
    const cases: Array<{ name: string; rows: number; run: () => Promise<unknown>; baseline: () => Promise<unknown> }> =
      [];
    const countIn = (r: { from: Date; to: Date }, slot?: string) => async () =>
      sql`SELECT count(*) FROM job WHERE created_at >= ${r.from} AND created_at < ${r.to} AND (${slot ?? null}::text IS NULL OR slot_id = ${slot ?? null})`.execute(
        database.db,
      );
    const rowsIn = async (r: { from: Date; to: Date }, slot?: string) =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT count(*) AS n FROM job WHERE created_at >= ${r.from} AND created_at < ${r.to} AND (${slot ?? null}::text IS NULL OR slot_id = ${slot ?? null})`.execute(
            database.db,
          )
        ).rows[0]!.n,
      );
    cases.push({
      name: 'global, last 24 h by hour',
      rows: await rowsIn(day),
      run: () => computeStats(database.db, day, 'hour'),
      baseline: countIn(day),
    });
    cases.push({
      name: 'global, last 30 days by day',
      rows: await rowsIn(month),
      run: () => computeStats(database.db, month, 'day'),
      baseline: countIn(month),
    });
    cases.push({
      name: 'slot-007, last 30 days by week',
      rows: await rowsIn(month, 'slot-007'),
      run: () => computeStats(database.db, { ...month, slotId: 'slot-007' }, 'week'),
      baseline: countIn(month, 'slot-007'),
    });
    cases.push({
      name: 'slot-007, totals since reset (all history)',
      rows: await rowsIn({ from: new Date(0), to: end }, 'slot-007'),
      run: () => slotTotalsSince(database.db, 'slot-007', null, end),
      baseline: countIn({ from: new Date(0), to: new Date(end.getTime() + 1) }, 'slot-007'),
    });

    const results = [];
    for (const c of cases) {
      const stats = await timed(c.run);
      const base = await timed(c.baseline);
      results.push({ ...c, stats, base });
      console.log(c.name, c.rows, stats, base);
    }
    const section = [
      '<!-- bench:stats:start (written by `npm run bench:stats`; do not edit by hand) -->',
      '## Statistics at one million jobs (`npm run bench:stats`)',
      '',
      `Measured ${end.toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${process.env.PHOTOCHANGER_BENCH_DATABASE_URL ? 'external PostgreSQL' : 'embedded PostgreSQL 18'}. ${JOBS.toLocaleString('en')} jobs over 30 days on 15 slots (seeded in ${seedSeconds.toFixed(0)} s), ${RUNS} timed runs each after one warm-up. The baseline is a bare \`count(*)\` over the same rows.`,
      '',
      '| query (as the API runs it) | rows in range | p50 ms | max ms | baseline count(*) p50 ms | ratio |',
      '|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${r.rows.toLocaleString('en')} | ${r.stats.p50.toFixed(1)} | ${r.stats.max.toFixed(1)} | ${r.base.p50.toFixed(1)} | ${(r.stats.p50 / r.base.p50).toFixed(1)}× |`,
      ),
      '',
      'The statistics run five aggregate passes (totals, series, per provider, refusals twice) with percentiles over the rows in range; the indexes (`job_created_idx`, `job_slot_created_idx`) keep the row selection a range scan.',
      '<!-- bench:stats:end -->',
    ].join('\n');
    await writeBenchSection('stats', section);
  } finally {
    await database.close();
    await embedded?.stop();
    await external?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

await main();
