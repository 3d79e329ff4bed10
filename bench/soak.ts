/**
 * `npm run bench:soak` — a soak at the in-flight cap: 12 booth connections (the default
 * PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS) posting a 1 MB JPEG through the `local` neutral operation
 * for BENCH_SOAK_SECONDS (default 600). Every 10 s it records throughput, the status mix and the
 * server's RSS. Passes when there is no unexpected 5xx and memory stays flat (the last minute's
 * RSS within 50 MB of the second minute's). Writes its section of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import readline from 'node:readline';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { writeBenchSection } from './report.js';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const CONNECTIONS = 12;

async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const side = 1389;
  const raw = Buffer.alloc(side * side * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 24) ^ (i >> 7);
  const photo = await sharp(raw, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/child.ts', 'photochanger'], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let url = '';
  for await (const line of readline.createInterface({ input: proc.stdout! })) {
    if (line.startsWith('{')) {
      url = (JSON.parse(line) as { url: string }).url;
      break;
    }
  }
  const boundary = '----soak';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\nbench-password\r\n--${boundary}\r\nContent-Disposition: form-data; name="fileToUpload"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    photo,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const samples: Array<{ t: number; rps: number; statuses: Record<string, number>; rssMb: number }> = [];
  let window: Record<string, number> = {};
  const totals: Record<string, number> = {};
  let finish: (r: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve) => (finish = resolve));
  const instance = autocannon(
    {
      url: `${url}/ingest/slot-001`,
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      connections: CONNECTIONS,
      duration: SECONDS,
    },
    (err, r) => {
      if (err) throw err;
      finish(r);
    },
  );
  instance.on('response', (_client: unknown, statusCode: number) => {
    window[statusCode] = (window[statusCode] ?? 0) + 1;
    totals[statusCode] = (totals[statusCode] ?? 0) + 1;
  });
  const started = Date.now();
  const sampler = setInterval(() => {
    void rssMb(proc.pid!).then((rss) => {
      const n = Object.values(window).reduce((a, b) => a + b, 0);
      samples.push({ t: Math.round((Date.now() - started) / 1000), rps: n / 10, statuses: window, rssMb: rss });
      console.log(samples.at(-1));
      window = {};
    });
  }, 10_000);
  const result = await done;
  clearInterval(sampler);
  proc.kill('SIGTERM');

  const unexpected5xx = Object.entries(totals)
    .filter(([s]) => Number(s) >= 500)
    .reduce((a, [, n]) => a + n, 0);
  const early = samples.filter((s) => s.t > 60 && s.t <= 120).map((s) => s.rssMb);
  const late = samples.slice(-6).map((s) => s.rssMb);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const drift = avg(late) - avg(early);
  const section = [
    '<!-- bench:soak:start (written by `npm run bench:soak`; do not edit by hand) -->',
    '## Soak at the in-flight cap (`npm run bench:soak`)',
    '',
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}: ${SECONDS} s, ${CONNECTIONS} connections (the in-flight cap), a ${photo.length}-byte JPEG through local/neutral, embedded PostgreSQL, server in a child process.`,
    '',
    `Result: ${result.requests.total} requests, ${result.errors} connection errors, statuses ${JSON.stringify(totals)}; unexpected 5xx: **${unexpected5xx}**. RSS second minute ${avg(early).toFixed(0)} MB → last minute ${avg(late).toFixed(0)} MB (drift **${drift.toFixed(1)} MB**). Latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms.`,
    '',
    '| t (s) | req/s | statuses | server RSS MB |',
    '|---|---|---|---|',
    ...samples.map(
      (s) =>
        `| ${s.t} | ${s.rps.toFixed(1)} | ${Object.entries(s.statuses)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} | ${s.rssMb.toFixed(0)} |`,
    ),
    '<!-- bench:soak:end -->',
  ].join('\n');
  await writeBenchSection('soak', section);
  console.log(`unexpected 5xx ${unexpected5xx}, RSS drift ${drift.toFixed(1)} MB`);
  if (unexpected5xx > 0 || drift > 50) process.exitCode = 1;
}

await main();
