/**
 * `npm run bench` — the ingest benchmark of docs/benchmarks.md, measured against baselines in the
 * same run on this machine:
 *  (a) a 1 MB JPEG through POST /ingest (local provider, neutral operation) at concurrency 8,
 *      against a bare Fastify handler that streams the same upload to disk and sends it back;
 *  (b) queue pickup latency, insert → claim, with the worker pool idle and waiting;
 *  (c) server RSS growth while a 1 GB upload streams in (413 at a lower limit, 200 at a higher one).
 * Writes its section of docs/benchmarks.md (between the bench:ingest markers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import readline from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';
import sharp from 'sharp';
import { writeBenchSection } from './report.js';
import { jpegOptions } from '../src/media/imaging.js';
import { multipart } from './support.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 15);
const CONNECTIONS = 8;
const PASSWORD = 'bench-password';

interface Child {
  proc: ChildProcess;
  url: string;
  databaseUrl?: string;
}

async function startChild(mode: 'baseline' | 'photochanger', env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/child.ts', mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) {
      const info = JSON.parse(line) as { url: string; databaseUrl?: string };
      return { proc, ...info };
    }
  }
  throw new Error(`${mode} child exited before it was ready`);
}

async function stopChild(child: Child): Promise<void> {
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
}

/** A noisy JPEG of about `target` bytes (noise does not compress, so the size is predictable). */
async function makePhoto(target: number): Promise<Buffer> {
  let side = 900;
  for (;;) {
    const raw = Buffer.alloc(side * side * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 24) ^ (i >> 7);
    const jpeg = await sharp(raw, { raw: { width: side, height: side, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer();
    if (jpeg.length >= target) return jpeg;
    side = Math.ceil(side * Math.sqrt(target / jpeg.length) * 1.02);
  }
}

interface LoadResult {
  p50: number;
  p99: number;
  rps: number;
  non2xx: number;
  errors: number;
  requests: number;
}

async function load(url: string, body: Buffer, contentType: string, seconds: number): Promise<LoadResult> {
  const r = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    connections: CONNECTIONS,
    duration: seconds,
  });
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: r.requests.average,
    non2xx: r.non2xx,
    errors: r.errors,
    requests: r.requests.total,
  };
}

/** Where an ingest's time went, from the job rows of the measured run (database timestamps). */
interface Breakdown {
  intakeP50: number;
  waitP50: number;
  processingP50: number;
}

async function jobBreakdown(databaseUrl: string, since: Date): Promise<Breakdown> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ intake: number; wait: number; processing: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - received_at) * 1000) AS intake,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM claimed_at - created_at) * 1000) AS wait,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finalized_at - claimed_at) * 1000) AS processing
         FROM job WHERE created_at >= $1 AND failure_reason IS NULL AND is_finalized`,
      [since],
    );
    const r = rows[0]!;
    return { intakeP50: Number(r.intake), waitP50: Number(r.wait), processingP50: Number(r.processing) };
  } finally {
    await client.end();
  }
}

async function benchIngest(photo: Buffer): Promise<{ baseline: LoadResult; ingest: LoadResult; breakdown: Breakdown }> {
  const baseline = await startChild('baseline');
  const form = multipart([
    { name: 'password', value: PASSWORD },
    { name: 'fileToUpload', value: photo, filename: 'photo.jpg', type: 'image/jpeg' },
  ]);
  let baseResult: LoadResult;
  try {
    await load(`${baseline.url}/upload`, form.body, form.contentType, 2); // warm-up
    baseResult = await load(`${baseline.url}/upload`, form.body, form.contentType, DURATION_S);
  } finally {
    await stopChild(baseline);
  }
  const pc = await startChild('photochanger');
  try {
    await load(`${pc.url}/ingest/slot-001`, form.body, form.contentType, 2);
    const since = new Date();
    const ingest = await load(`${pc.url}/ingest/slot-001`, form.body, form.contentType, DURATION_S);
    return { baseline: baseResult, ingest, breakdown: await jobBreakdown(pc.databaseUrl!, since) };
  } finally {
    await stopChild(pc);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Insert → claim, one job at a time, measured on the database's own timestamps of both events. */
async function benchPickup(
  samples: number,
): Promise<{ p50: number; p99: number; baselineP50: number; baselineP99: number }> {
  const pc = await startChild('photochanger');
  const client = new pg.Client({ connectionString: pc.databaseUrl });
  await client.connect();
  try {
    const instanceId = randomUUID();
    await client.query(
      `INSERT INTO instance (id, hostname, pid, started_at, heartbeat_at) VALUES ($1, 'bench', $2, now(), now() + interval '1 hour')`,
      [instanceId, process.pid],
    );
    const dir = await fs.mkdtemp(`${os.tmpdir()}/pc-pickup-`);
    const payload = `${dir}/p.jpg`;
    await fs.writeFile(
      payload,
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
        .jpeg()
        .toBuffer(),
    );
    const latencies: number[] = [];
    const roundTrips: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = randomUUID();
      const t0 = process.hrtime.bigint();
      await client.query(
        `WITH ins AS (
           INSERT INTO job (id, slot_id, instance_id, provider, operation, payload_path, payload_mime, payload_size, received_at, created_at, expires_at)
           VALUES ($1, 'slot-015', $2, 'sink', 'read', $3, 'image/jpeg', 100, clock_timestamp(), clock_timestamp(), clock_timestamp() + interval '60 seconds')
           RETURNING id)
         SELECT pg_notify('photochanger_job_enqueued', id::text) FROM ins`,
        [id, instanceId, payload],
      );
      roundTrips.push(Number(process.hrtime.bigint() - t0) / 1e6);
      for (;;) {
        const r = await client.query<{ ms: number | null }>(
          `SELECT extract(epoch FROM (claimed_at - created_at)) * 1000 AS ms FROM job WHERE id = $1`,
          [id],
        );
        const ms = r.rows[0]?.ms;
        if (ms !== null && ms !== undefined) {
          latencies.push(Number(ms));
          break;
        }
        await new Promise((res) => setTimeout(res, 2));
      }
      // Let the job finish so every sample starts with idle, waiting workers.
      for (;;) {
        const r = await client.query<{ f: boolean }>(`SELECT is_finalized AS f FROM job WHERE id = $1`, [id]);
        if (r.rows[0]?.f) break;
        await new Promise((res) => setTimeout(res, 2));
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    latencies.sort((a, b) => a - b);
    roundTrips.sort((a, b) => a - b);
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      baselineP50: percentile(roundTrips, 50),
      baselineP99: percentile(roundTrips, 99),
    };
  } finally {
    await client.end();
    await stopChild(pc);
  }
}

function rssKb(pid: number): Promise<number> {
  return fs.readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0));
}

/** Streams a 1 GB multipart upload (a JPEG then filler bytes) without holding it in memory. */
function uploadHuge(url: string, bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const head = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#444' } })
        .jpeg()
        .toBuffer();
      const boundary = `----huge${randomUUID()}`;
      const pre = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n${PASSWORD}\r\n--${boundary}\r\nContent-Disposition: form-data; name="fileToUpload"; filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      );
      const post = Buffer.from(`\r\n--${boundary}--\r\n`);
      const u = new URL(url);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': pre.length + bytes + post.length,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', (err) => (answered ? undefined : reject(err)));
      let answered = false;
      req.on('response', () => (answered = true));
      req.write(pre);
      req.write(head);
      const filler = Buffer.alloc(1024 * 1024, 0x5a);
      let sent = head.length;
      const pump = () => {
        while (sent < bytes && !answered) {
          const n = Math.min(filler.length, bytes - sent);
          sent += n;
          if (!req.write(n === filler.length ? filler : filler.subarray(0, n))) return void req.once('drain', pump);
        }
        if (!answered) req.end(post);
      };
      pump();
    })().catch(reject);
  });
}

async function benchMemory(): Promise<Array<{ limit: string; status: number; growthMb: number }>> {
  const gb = 1024 ** 3;
  const pc = await startChild('photochanger', { PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '60' });
  const client = new pg.Client({ connectionString: pc.databaseUrl });
  await client.connect();
  const out: Array<{ limit: string; status: number; growthMb: number }> = [];
  try {
    for (const limit of [256 * 1024 ** 2, null]) {
      await client.query(`UPDATE slot SET max_upload_bytes = $1 WHERE id = 'slot-015'`, [limit]);
      const before = await rssKb(pc.proc.pid!);
      let peak = before;
      const sampler = setInterval(() => void rssKb(pc.proc.pid!).then((kb) => (peak = Math.max(peak, kb))), 50);
      const r = await uploadHuge(`${pc.url}/ingest/slot-015`, gb);
      clearInterval(sampler);
      peak = Math.max(peak, await rssKb(pc.proc.pid!));
      out.push({
        limit: limit === null ? '2 GiB (default)' : '256 MiB (slot limit)',
        status: r.status,
        growthMb: (peak - before) / 1024,
      });
    }
    return out;
  } finally {
    await client.end();
    await stopChild(pc);
  }
}

const fmt = (n: number, d = 1) => n.toFixed(d);

/**
 * The image work alone: the `local` neutral operation's sharp pipeline on the same photo, in this
 * process, four at a time (the worker count), for the same duration. This is the floor under the
 * ingest's latency that no queue or HTTP change can remove.
 */
async function benchImageWork(photo: Buffer): Promise<{ msPerImage: number; imagesPerSecond: number }> {
  const until = Date.now() + DURATION_S * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        await sharp(photo, { failOn: 'error' })
          .rotate()
          .resize(2048, 2048, { fit: 'inside', withoutEnlargement: true })
          .jpeg(jpegOptions(90))
          .toBuffer();
        done++;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  return { msPerImage: (seconds * 1000 * 4) / done, imagesPerSecond: done / seconds };
}

async function main(): Promise<void> {
  const photo = await makePhoto(1_000_000);
  console.log(`photo: ${photo.length} bytes`);
  const { baseline, ingest, breakdown } = await benchIngest(photo);
  console.log('ingest', ingest, 'baseline', baseline, 'breakdown', breakdown);
  const imageWork = await benchImageWork(photo);
  console.log('image work', imageWork);
  const load = os.loadavg()[0] ?? 0;
  const pickup = await benchPickup(Number(process.env.BENCH_PICKUP_SAMPLES ?? 300));
  console.log('pickup', pickup);
  const memory = await benchMemory();
  console.log('memory', memory);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    '<!-- bench:ingest:start (written by `npm run bench`; do not edit by hand) -->',
    '## Ingest (`npm run bench`)',
    '',
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Node ${process.version}, ${process.env.PHOTOCHANGER_DATABASE_URL ? 'external PostgreSQL' : 'embedded PostgreSQL 18'}. Servers run in child processes at log level warn; the load generator (autocannon) runs in the parent.`,
    '',
    `### (a) 1 MB JPEG (${photo.length} bytes), ${CONNECTIONS} concurrent connections, ${DURATION_S} s each`,
    '',
    '| | p50 ms | p99 ms | req/s | non-2xx | errors |',
    '|---|---|---|---|---|---|',
    `| baseline: bare Fastify, stream to disk and back | ${baseline.p50} | ${baseline.p99} | ${fmt(baseline.rps)} | ${baseline.non2xx} | ${baseline.errors} |`,
    `| PhotoChanger ingest, local/neutral | ${ingest.p50} | ${ingest.p99} | ${fmt(ingest.rps)} | ${ingest.non2xx} | ${ingest.errors} |`,
    `| **ratio** (ingest / baseline) | **${fmt(ingest.p50 / baseline.p50, 2)}×** | **${fmt(ingest.p99 / baseline.p99, 2)}×** | **${fmt(ingest.rps / baseline.rps, 2)}×** | | |`,
    `| reference: the neutral sharp pipeline alone, 4 at a time in-process | ${fmt(imageWork.msPerImage, 0)} (per image) | | ${fmt(imageWork.imagesPerSecond)} | | |`,
    '',
    `Inside the ingest (p50 of the measured run's job rows): upload and enqueue ${fmt(breakdown.intakeP50, 0)} ms, waiting for a free worker ${fmt(breakdown.waitP50, 0)} ms, processing (read, sharp, write result) ${fmt(breakdown.processingP50, 0)} ms; the rest of the request is sending the result.`,
    '',
    `Target: latency overhead ≤ 2× the baseline. Load average (1 min) when the run ended: ${fmt(load, 2)} on ${os.cpus().length} cores.`,
    '',
    `### (b) Queue pickup latency (insert → claim), ${process.env.BENCH_PICKUP_SAMPLES ?? 300} jobs one at a time`,
    '',
    '| | p50 ms | p99 ms |',
    '|---|---|---|',
    `| insert → claimed_at (database timestamps) | ${fmt(pickup.p50, 2)} | ${fmt(pickup.p99, 2)} |`,
    `| baseline: the insert statement's own round trip | ${fmt(pickup.baselineP50, 2)} | ${fmt(pickup.baselineP99, 2)} |`,
    `| **ratio** | **${fmt(pickup.p50 / pickup.baselineP50, 2)}×** | **${fmt(pickup.p99 / pickup.baselineP99, 2)}×** |`,
    '',
    'Target: pickup p99 ≤ 10 ms.',
    '',
    '### (c) Server RSS while a 1 GB upload streams in',
    '',
    '| slot limit | status | RSS growth MB |',
    '|---|---|---|',
    ...memory.map((m) => `| ${m.limit} | ${m.status} | ${fmt(m.growthMb)} |`),
    '',
    'Target: RSS growth ≤ 100 MB (the upload is streamed to disk, never buffered).',
    '<!-- bench:ingest:end -->',
  ].join('\n');

  await writeBenchSection('ingest', section);
}

await main();
