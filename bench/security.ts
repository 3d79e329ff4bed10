/**
 * `npm run bench:security`: what the defences of docs/security.md cost and hold, measured on the
 * real server (child process, embedded PostgreSQL) against hostile clients from 127.0.0.0/8 only,
 * every loop bounded. Baselines in the same run: the same booth request with no attack going on.
 * Writes its section of docs/benchmarks.md (between the bench:security markers).
 *
 * (a) 1,000 slow uploads without a valid password (the password field trickled), 250 per source
 *     address: open descriptors, RSS, a booth's and /healthz's latency meanwhile, how they end.
 * (b) 300 wrong ingest passwords from 30 addresses at once: 401 vs 429, the booth meanwhile.
 * (c) 12 decode bombs (10000×10000 16-bit RGBA PNG, ~1 MB each, 800 MB decoded) at once: answers, RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import readline from 'node:readline';
import sharp from 'sharp';
import { writeBenchSection } from './report.js';
import { multipart } from './support.js';

const PASSWORD = 'bench-password';

interface Child {
  proc: ChildProcess;
  url: string;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/child.ts', 'photochanger'], { env: { ...process.env, PHOTOCHANGER_HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of readline.createInterface({ input: proc.stdout! })) {
    if (line.startsWith('{')) return { proc, url: (JSON.parse(line) as { url: string }).url };
  }
  throw new Error('the server did not start');
}

const fds = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;


/** One request over a raw socket from `localAddress`; resolves with the status and the time. */
function post(url: string, path: string, form: { body: Buffer; contentType: string }, localAddress: string): Promise<{ status: number; ms: number }> {
  const u = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${form.contentType}\r\nContent-Length: ${form.body.length}\r\nConnection: close\r\n\r\n`);
      socket.write(form.body);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1', 0, 64)));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), ms: performance.now() - started }));
  });
}

async function boothLatencies(url: string, photo: Buffer, n: number): Promise<number[]> {
  const form = multipart([{ name: 'password', value: PASSWORD }, { name: 'fileToUpload', value: photo, filename: 'guest.jpg', type: 'image/jpeg' }]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(url, '/ingest/slot-001', form, '127.0.0.1');
    if (r.status !== 200) throw new Error(`booth got ${r.status}`);
    out.push(r.ms);
  }
  return out;
}

async function healthLatency(url: string): Promise<number> {
  const t = performance.now();
  await fetch(`${url}/healthz`);
  return performance.now() - t;
}

async function main(): Promise<void> {
  const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#c08040' } }).jpeg({ quality: 85 }).toBuffer();
  const child = await startChild({ PHOTOCHANGER_UPLOAD_RATE_GRACE_SECONDS: '3', PHOTOCHANGER_MAX_CONNECTIONS: '4096' });
  const pid = child.proc.pid!;
  try {
    const baseline = await boothLatencies(child.url, photo, 10);
    const baseFds = fds(pid);
    const baseRss = rssMb(pid);

    // (a) slow uploads without a password
    const N = 1000;
    const trickled = multipart([{ name: 'password', value: 'x'.repeat(2000) }, { name: 'fileToUpload', value: Buffer.alloc(64 * 1024, 1), filename: 'x.jpg', type: 'image/jpeg' }]);
    const u = new URL(child.url);
    const started = performance.now();
    const attackers = Array.from({ length: N }, (_, i) =>
      new Promise<{ status: number; ms: number }>((resolve) => {
        let answer = '';
        let sent = 0;
        const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress: `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}` }, () => {
          socket.write(`POST /ingest/slot-001 HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${trickled.contentType}\r\nContent-Length: ${trickled.body.length}\r\n\r\n`);
          socket.write(trickled.body.subarray(0, 100));
          sent = 100;
        });
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write(trickled.body.subarray(sent, sent + 1));
          sent++;
        }, 1000);
        socket.on('data', (d: Buffer) => (answer += d.toString('latin1', 0, 64)));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), ms: performance.now() - started });
        });
        setTimeout(() => socket.destroy(), 30_000).unref();
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const peakFds = fds(pid);
    const peakRss = rssMb(pid);
    const duringHealth = await healthLatency(child.url);
    const during = await boothLatencies(child.url, photo, 5);
    const ends = await Promise.all(attackers);
    const timedOut = ends.filter((e) => e.status === 408).length;
    const allClosedS = Math.max(...ends.map((e) => e.ms)) / 1000;
    const afterFds = fds(pid);

    // (b) wrong passwords from 30 addresses
    const guesses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => post(child.url, '/ingest/slot-001', multipart([{ name: 'password', value: `guess-${i}-wrong` }, { name: 'fileToUpload', value: photo, filename: 'g.jpg', type: 'image/jpeg' }]), `127.0.3.${(i % 30) + 1}`)),
    );
    const during2 = await boothLatencies(child.url, photo, 5);
    const g401 = guesses.filter((g) => g.status === 401).length;
    const g429 = guesses.filter((g) => g.status === 429).length;

    // (c) decode bombs
    const bomb = await sharp({ create: { width: 10_000, height: 10_000, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 1 } } }).png({ progressive: true, compressionLevel: 9 }).toColourspace('rgb16').toBuffer();
    const rssBefore = rssMb(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 20);
    const bombs = await Promise.all(Array.from({ length: 12 }, (_, i) => post(child.url, '/ingest/slot-001', multipart([{ name: 'password', value: PASSWORD }, { name: 'fileToUpload', value: bomb, filename: 'b.png', type: 'image/png' }]), `127.0.4.${i + 1}`)));
    clearInterval(sampler);

    const f = (n: number, d = 0) => n.toFixed(d);
    const section = [
      '<!-- bench:security:start (written by `npm run bench:security`; do not edit by hand) -->',
      '## Hostile clients (`npm run bench:security`)',
      '',
      `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; the server in a child process with its embedded PostgreSQL; traffic from 127.0.0.0/8 only. The booth sends a 1600×1200 JPEG (${photo.length} bytes) through the local provider.`,
      '',
      `### (a) ${N} slow uploads without a valid password (250 per source address, one byte a second)`,
      '',
      '| | value |',
      '|---|---|',
      `| open file descriptors of the server: before / during / after | ${baseFds} / ${peakFds} / ${afterFds} |`,
      `| server RSS MB: before / during | ${f(baseRss)} / ${f(peakRss)} |`,
      `| answered 408 \`upload_timeout\` (grace 3 s) | ${timedOut} of ${N}, all closed within ${f(allClosedS, 1)} s |`,
      `| booth latency p50 ms: baseline / during the attack | ${f(median(baseline))} / ${f(median(during))} (**${(median(during) / median(baseline)).toFixed(2)}×**) |`,
      `| \`/healthz\` during the attack ms | ${f(duringHealth)} |`,
      '',
      '### (b) 300 wrong ingest passwords from 30 addresses at once',
      '',
      `401: ${g401}, 429 \`too_many_attempts\`: ${g429} (5 free failures per address). Booth latency p50 right after: ${f(median(during2))} ms (**${(median(during2) / median(baseline)).toFixed(2)}×** the baseline).`,
      '',
      '### (c) 12 decode bombs at once (10000×10000 16-bit RGBA PNG, ' + `${(bomb.length / 1024 / 1024).toFixed(1)} MB each, 800 MB decoded)`,
      '',
      `Answers: ${[...new Set(bombs.map((b) => b.status))].join(', ')} (413 \`payload_too_large\` expected, ${bombs.filter((b) => b.status === 413).length} of 12). Server RSS: ${f(rssBefore)} MB before, ${f(rssPeak)} MB at most (target: under 1536 MB).`,
      '<!-- bench:security:end -->',
    ].join('\n');
    await writeBenchSection('security', section);
  } finally {
    child.proc.kill('SIGTERM');
  }
}

await main();
