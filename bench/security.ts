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
 * (d) 10,000 slow file-first uploads (the photo before the password) from 4 addresses, 400 open at
 *     a time: a password-first booth's p50 against its baseline, peak unverified bytes on disk
 *     against the budget, descriptors back to idle.
 * (e) 1,000 fast file-first uploads at the slot's size limit with wrong passwords, 16 at a time from
 *     4 addresses: the answers, the booth's p50 meanwhile, peak bytes on disk.
 * (f) A connection flood: 2,100 silent TCP connections from one address (the red team's case) and
 *     2,000 from 40 others (50 each, under the per-address cap): a password-first booth's p50
 *     (target ≤ 1.2×), peak RSS (target ≤ +256 MB over idle), descriptors back to idle.
 * (g) Stalled bodies: 1,000 logins announcing 4,000 bytes and sending 100, and 1,000 booth uploads
 *     sending 32 text fields of 16 KiB and no password, then stalling, from 40 addresses; the
 *     attackers never hang up: the same three numbers, and when the server had closed them all.
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
/** The unverified-bytes budget of the run: small, so that the floods reach it. */
const BUDGET_MIB = 2;

interface Child {
  proc: ChildProcess;
  url: string;
  databaseUrl: string;
  mediaRoot: string;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/child.ts', 'photochanger'], {
    env: { ...process.env, PHOTOCHANGER_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Its output is read to the end (a pipe nobody reads would block the server's log writes).
  const lines = readline.createInterface({ input: proc.stdout! });
  return new Promise<Child>((resolve, reject) => {
    let started = false;
    lines.on('line', (line) => {
      if (started || !line.startsWith('{"url"')) return;
      started = true;
      resolve({ proc, ...(JSON.parse(line) as { url: string; databaseUrl: string; mediaRoot: string }) });
    });
    lines.on('close', () => started || reject(new Error('the server did not start')));
  });
}

const fds = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** One request over a raw socket from `localAddress`; resolves with the status and the time once the answer is complete (then it closes, as an HTTP client does). */
function post(
  url: string,
  path: string,
  form: { body: Buffer; contentType: string },
  localAddress: string,
): Promise<{ status: number; ms: number }> {
  const u = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    let answer = Buffer.alloc(0);
    let ms: number | undefined;
    const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${form.contentType}\r\nContent-Length: ${form.body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(form.body);
    });
    socket.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      const headEnd = answer.indexOf('\r\n\r\n');
      const length = Number(
        /content-length: (\d+)/i.exec(answer.toString('latin1', 0, Math.max(0, headEnd)))?.[1] ?? NaN,
      );
      if (headEnd >= 0 && answer.length - headEnd - 4 >= length) {
        ms ??= performance.now() - started;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () =>
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.toString('latin1', 0, 64))?.[1] ?? 0),
        ms: ms ?? performance.now() - started,
      }),
    );
  });
}

async function boothLatencies(url: string, photo: Buffer, n: number): Promise<number[]> {
  const form = multipart([
    { name: 'password', value: PASSWORD },
    { name: 'fileToUpload', value: photo, filename: 'guest.jpg', type: 'image/jpeg' },
  ]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(url, '/ingest/slot-001', form, '127.0.0.1');
    if (r.status !== 200) throw new Error(`booth got ${r.status}`);
    out.push(r.ms);
  }
  return out;
}

/** Bytes of the payload files on disk now (photos being received). */
function payloadBytes(mediaRoot: string): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      try {
        if (e.isDirectory()) walk(p);
        else total += fs.statSync(p).size;
      } catch {
        // removed meanwhile
      }
    }
  };
  try {
    walk(`${mediaRoot}/payloads`);
  } catch {
    // no payloads yet
  }
  return total;
}

/** A file-first upload that sends its first `firstBytes` at once, then a byte a second; ends on the server's answer. */
function slowFileFirst(
  url: string,
  form: { body: Buffer; contentType: string },
  firstBytes: number,
  localAddress: string,
): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    let answer = '';
    let sent = firstBytes;
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => {
      socket.write(
        `POST /ingest/slot-001 HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${form.contentType}\r\nContent-Length: ${form.body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(form.body.subarray(0, firstBytes));
      timer = setInterval(() => {
        if (socket.destroyed || sent >= form.body.length) return clearInterval(timer);
        socket.write(form.body.subarray(sent, sent + 1));
        sent++;
      }, 1000);
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1', 0, 64);
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    });
    setTimeout(() => socket.destroy(), 60_000).unref();
  });
}

/** Runs `n` tasks, at most `concurrency` at a time. */
async function bounded<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

const tally = (xs: number[]) =>
  [...new Set(xs)]
    .sort()
    .map((s) => `${s}: ${xs.filter((x) => x === s).length}`)
    .join(', ');

async function healthLatency(url: string): Promise<number> {
  const t = performance.now();
  await fetch(`${url}/healthz`);
  return performance.now() - t;
}

/**
 * The booth's latencies measured from its own process (a booth is another machine): the flood's
 * client in this process would otherwise delay the booth's own reads and writes.
 */
async function boothLatenciesApart(url: string, n: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/security.ts', 'booth', url, String(n)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop()!) as number[];
}

/**
 * `n` connections from `addressOf(i)` that send `first` (or nothing) and then stay silent, never
 * closing; resolves once all are open or refused. `closedByServer` counts those the server ended.
 */
function holdConnections(
  url: string,
  n: number,
  addressOf: (i: number) => string,
  first?: (i: number) => Buffer,
): { opened: Promise<void>; closedByServer: () => number; closedAllAt: Promise<number>; destroy(): void } {
  const u = new URL(url);
  const sockets: net.Socket[] = [];
  let closed = 0;
  let settled = 0;
  let resolveOpened: () => void = () => undefined;
  let resolveClosedAll: (t: number) => void = () => undefined;
  const opened = new Promise<void>((r) => (resolveOpened = r));
  const closedAllAt = new Promise<number>((r) => (resolveClosedAll = r));
  const settle = () => ++settled === n && resolveOpened();
  const open = (i: number) => {
    const socket = net.connect({ port: Number(u.port), host: u.hostname, localAddress: addressOf(i) }, () => {
      if (first) socket.write(first(i));
      settle();
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (socket.connecting) settle();
      if (++closed === n) resolveClosedAll(performance.now());
    });
    sockets.push(socket);
  };
  // 200 at a time, 20 ms apart: beyond the listen queue (511) the kernel drops the handshake's last
  // packet, and the client would hold a connection the server never saw (and so never closes).
  void (async () => {
    for (let i = 0; i < n; i++) {
      open(i);
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { opened, closedByServer: () => closed, closedAllAt, destroy: () => sockets.forEach((s) => s.destroy()) };
}

/** Seconds from `since` until the server's descriptors are back within `slack` of `idle` (polled; at most `limitS`). */
async function fdsBackAfter(pid: number, idle: number, since: number, limitS = 60, slack = 8): Promise<number> {
  while (performance.now() - since < limitS * 1000) {
    if (fds(pid) <= idle + slack) return (performance.now() - since) / 1000;
    await new Promise((r) => setTimeout(r, 250));
  }
  return NaN;
}

async function main(): Promise<void> {
  const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#c08040' } })
    .jpeg({ quality: 85 })
    .toBuffer();
  const child = await startChild({
    PHOTOCHANGER_UPLOAD_RATE_GRACE_SECONDS: '3',
    PHOTOCHANGER_MAX_CONNECTIONS: '4096',
    PHOTOCHANGER_UNVERIFIED_UPLOAD_BUDGET_MIB: String(BUDGET_MIB),
  });
  const pid = child.proc.pid!;
  try {
    const baseline = await boothLatencies(child.url, photo, 10);
    const baselineApart = await boothLatenciesApart(child.url, 10);
    const baseFds = fds(pid);
    const baseRss = rssMb(pid);

    // (a) slow uploads without a password
    const N = 1000;
    const trickled = multipart([
      { name: 'password', value: 'x'.repeat(2000) },
      { name: 'fileToUpload', value: Buffer.alloc(64 * 1024, 1), filename: 'x.jpg', type: 'image/jpeg' },
    ]);
    const u = new URL(child.url);
    const started = performance.now();
    const attackers = Array.from(
      { length: N },
      (_, i) =>
        new Promise<{ status: number; ms: number }>((resolve) => {
          let answer = '';
          let sent = 0;
          const socket = net.connect(
            {
              port: Number(u.port),
              host: u.hostname,
              localAddress: `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`,
            },
            () => {
              socket.write(
                `POST /ingest/slot-001 HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${trickled.contentType}\r\nContent-Length: ${trickled.body.length}\r\n\r\n`,
              );
              socket.write(trickled.body.subarray(0, 100));
              sent = 100;
            },
          );
          const timer = setInterval(() => {
            if (socket.destroyed) return clearInterval(timer);
            // Nothing before the headers: a connection still being accepted (the listen queue is
            // shorter than 1000) would otherwise send a stray byte first (400 HPE_INVALID_METHOD).
            if (socket.connecting) return;
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
      Array.from({ length: 300 }, (_, i) =>
        post(
          child.url,
          '/ingest/slot-001',
          multipart([
            { name: 'password', value: `guess-${i}-wrong` },
            { name: 'fileToUpload', value: photo, filename: 'g.jpg', type: 'image/jpeg' },
          ]),
          `127.0.3.${(i % 30) + 1}`,
        ),
      ),
    );
    const during2 = await boothLatencies(child.url, photo, 5);
    const g401 = guesses.filter((g) => g.status === 401).length;
    const g429 = guesses.filter((g) => g.status === 429).length;

    // (c) decode bombs
    const bomb = await sharp({
      create: { width: 10_000, height: 10_000, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 1 } },
    })
      .png({ progressive: true, compressionLevel: 9 })
      .toColourspace('rgb16')
      .toBuffer();
    const rssBefore = rssMb(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 20);
    const bombs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(
          child.url,
          '/ingest/slot-001',
          multipart([
            { name: 'password', value: PASSWORD },
            { name: 'fileToUpload', value: bomb, filename: 'b.png', type: 'image/png' },
          ]),
          `127.0.4.${i + 1}`,
        ),
      ),
    );
    clearInterval(sampler);

    // (d) slow file-first uploads from 4 addresses
    const D = 10_000;
    const slowForm = multipart([
      {
        name: 'fileToUpload',
        value: Buffer.concat([photo, Buffer.alloc(512 * 1024, 3)]),
        filename: 'f.jpg',
        type: 'image/jpeg',
      },
      { name: 'password', value: 'guess-wrong' },
    ]);
    const slowFirst =
      slowForm.body.indexOf(Buffer.from('\r\n\r\n'), slowForm.body.indexOf(Buffer.from('name="fileToUpload"'))) +
      4 +
      256 * 1024;
    const idleFds = fds(pid);
    let peakDisk = 0;
    let peakFdsD = 0;
    const diskSampler = setInterval(() => {
      peakDisk = Math.max(peakDisk, payloadBytes(child.mediaRoot));
      peakFdsD = Math.max(peakFdsD, fds(pid));
    }, 50);
    const startedD = performance.now();
    const flood = bounded(D, 400, (i) => slowFileFirst(child.url, slowForm, slowFirst, `127.0.5.${(i % 4) + 1}`));
    await new Promise((r) => setTimeout(r, 1500));
    const duringD = await boothLatenciesApart(child.url, 10);
    const floodStatuses = await flood;
    const floodS = (performance.now() - startedD) / 1000;
    await new Promise((r) => setTimeout(r, 6000)); // lingering connections end (5 s of silence at most)
    const afterFdsD = fds(pid);

    // (e) fast file-first uploads at the size limit with wrong passwords
    const E = 1000;
    // The slot's limit: two such photos fit the run's unverified budget at once (more are refused before their bytes).
    const LIMIT = 768 * 1024;
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: child.databaseUrl });
    await admin.connect();
    await admin.query(`UPDATE slot SET max_upload_bytes = $1 WHERE id = 'slot-001'`, [LIMIT]);
    await admin.end();
    const bigWrong = (i: number) =>
      multipart([
        {
          name: 'fileToUpload',
          value: Buffer.concat([photo, Buffer.alloc(LIMIT - photo.length - 1024, 5)]),
          filename: 'w.jpg',
          type: 'image/jpeg',
        },
        { name: 'password', value: `wrong-${i}` },
      ]);
    const startedE = performance.now();
    const fast = bounded(E, 16, (i) =>
      post(child.url, '/ingest/slot-001', bigWrong(i), `127.0.6.${(i % 4) + 1}`).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 500));
    const duringE = await boothLatenciesApart(child.url, 10);
    const fastStatuses = await fast;
    const fastS = (performance.now() - startedE) / 1000;
    clearInterval(diskSampler);
    await new Promise((r) => setTimeout(r, 6000));
    const afterFdsE = fds(pid);
    const leftBytes = payloadBytes(child.mediaRoot);

    // (f) a connection flood: silent sockets from one address and from many
    const idleFdsF = fds(pid);
    const idleRssF = rssMb(pid);
    let peakRssF = idleRssF;
    let peakFdsF = idleFdsF;
    const samplerF = setInterval(() => {
      peakRssF = Math.max(peakRssF, rssMb(pid));
      peakFdsF = Math.max(peakFdsF, fds(pid));
    }, 100);
    const startedF = performance.now();
    const oneAddress = holdConnections(child.url, 2100, () => '127.0.7.1');
    const manyAddresses = holdConnections(child.url, 2000, (i) => `127.0.8.${(i % 40) + 1}`);
    await Promise.all([oneAddress.opened, manyAddresses.opened]);
    const refusedAtOnce = oneAddress.closedByServer();
    const duringF = await boothLatenciesApart(child.url, 10);
    const [oneClosedAt, manyClosedAt] = await Promise.all([oneAddress.closedAllAt, manyAddresses.closedAllAt]);
    const floodClosedS = (Math.max(oneClosedAt, manyClosedAt) - startedF) / 1000;
    const fdsBackF = await fdsBackAfter(pid, idleFdsF, startedF);
    clearInterval(samplerF);
    oneAddress.destroy();
    manyAddresses.destroy();

    // (g) stalled bodies before authentication
    const idleFdsG = fds(pid);
    const idleRssG = rssMb(pid);
    let peakRssG = idleRssG;
    const samplerG = setInterval(() => (peakRssG = Math.max(peakRssG, rssMb(pid))), 100);
    const fieldsForm = multipart(
      Array.from({ length: 32 }, (_, i) => ({ name: `survey${i}_type_id`, value: 'x'.repeat(16 * 1024 - 64) })),
    );
    const fieldsBody = fieldsForm.body.subarray(0, fieldsForm.body.length - 64); // all fields, not the end: no password, no photo
    const startedG = performance.now();
    const logins = holdConnections(
      child.url,
      1000,
      (i) => `127.0.9.${(i % 40) + 1}`,
      () =>
        Buffer.from(
          `POST /api/login HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"username":"admin","password":"${'x'.repeat(60)}`,
        ),
    );
    const uploads = holdConnections(
      child.url,
      1000,
      (i) => `127.0.10.${(i % 40) + 1}`,
      () =>
        Buffer.concat([
          Buffer.from(
            `POST /ingest/slot-002 HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${fieldsForm.contentType}\r\nContent-Length: ${fieldsForm.body.length}\r\n\r\n`,
          ),
          fieldsBody,
        ]),
    );
    await Promise.all([logins.opened, uploads.opened]);
    const duringG = await boothLatenciesApart(child.url, 10);
    const [loginsClosedAt, uploadsClosedAt] = await Promise.all([logins.closedAllAt, uploads.closedAllAt]);
    const stalledClosedS = (Math.max(loginsClosedAt, uploadsClosedAt) - startedG) / 1000;
    const fdsBackG = await fdsBackAfter(pid, idleFdsG, startedG);
    clearInterval(samplerG);
    logins.destroy();
    uploads.destroy();

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
      `| answered 408 \`upload_timeout\` (grace 3 s) | ${timedOut} of ${N} (all answers: ${tally(ends.map((e) => e.status))}), all closed within ${f(allClosedS, 1)} s |`,
      `| booth latency p50 ms: baseline / during the attack | ${f(median(baseline))} / ${f(median(during))} (**${(median(during) / median(baseline)).toFixed(2)}×**) |`,
      `| \`/healthz\` during the attack ms | ${f(duringHealth)} |`,
      '',
      '### (b) 300 wrong ingest passwords from 30 addresses at once',
      '',
      `401: ${g401}, 429 \`too_many_attempts\`: ${g429} (5 free failures per address). Booth latency p50 right after: ${f(median(during2))} ms (**${(median(during2) / median(baseline)).toFixed(2)}×** the baseline).`,
      '',
      '### (c) 12 decode bombs at once (10000×10000 16-bit RGBA PNG, ' +
        `${(bomb.length / 1024 / 1024).toFixed(1)} MB each, 800 MB decoded)`,
      '',
      `Answers: ${[...new Set(bombs.map((b) => b.status))].join(', ')} (413 \`payload_too_large\` expected, ${bombs.filter((b) => b.status === 413).length} of 12). Server RSS: ${f(rssBefore)} MB before, ${f(rssPeak)} MB at most (target: under 1536 MB).`,
      '',
      `### (d) ${D.toLocaleString('en')} slow file-first uploads from 4 addresses (400 open at a time; the photo before the password, 256 KiB at once, then a byte a second)`,
      '',
      `Unverified-bytes budget of this run: ${BUDGET_MIB} MiB (\`PHOTOCHANGER_UNVERIFIED_UPLOAD_BUDGET_MIB\`), at most 4 such uploads per address (the default).`,
      '',
      '| | value |',
      '|---|---|',
      `| answers | ${tally(floodStatuses)} (0: closed at accept by the per-address connection cap; 429 \`too_many_requests\`: over the per-address cap of unverified uploads; 408: cut off by the minimum rate; 503 \`uploads_busy\`: over the budget) |`,
      `| all ${D.toLocaleString('en')} answered within | ${f(floodS, 1)} s |`,
      `| a password-first booth's p50 ms (measured from its own process): baseline / during | ${f(median(baselineApart))} / ${f(median(duringD))} (**${(median(duringD) / median(baselineApart)).toFixed(2)}×**, target ≤ 1.1×) |`,
      `| peak payload bytes on disk | ${(peakDisk / 1024 / 1024).toFixed(2)} MiB (budget ${BUDGET_MIB} MiB; the booth's own photos are in it too) |`,
      `| open file descriptors: idle / peak / 6 s after | ${idleFds} / ${peakFdsD} / ${afterFdsD} |`,
      '',
      `### (e) ${E.toLocaleString('en')} fast file-first uploads of ${LIMIT / 1024} KiB (the slot's limit) with wrong passwords, 16 at a time from 4 addresses`,
      '',
      '| | value |',
      '|---|---|',
      `| answers | ${tally(fastStatuses)} (401: read, then refused and deleted; 429 \`too_many_attempts\`: the address guessed too often, refused before its body; 503: over the budget) |`,
      `| all answered within | ${f(fastS, 1)} s |`,
      `| a password-first booth's p50 ms (measured from its own process): baseline / during | ${f(median(baselineApart))} / ${f(median(duringE))} (**${(median(duringE) / median(baselineApart)).toFixed(2)}×**) |`,
      `| peak payload bytes on disk during (d) and (e) | ${(peakDisk / 1024 / 1024).toFixed(2)} MiB |`,
      `| payload bytes left after / descriptors 6 s after | ${leftBytes} / ${afterFdsE} (idle ${idleFds}) |`,
      '',
      '### (f) A connection flood: 2,100 silent connections from one address, 2,000 from 40 others (50 each)',
      '',
      'Per-address cap 64 (`PHOTOCHANGER_MAX_CONNECTIONS_PER_ADDRESS`), silent sockets closed after 10 s (`PHOTOCHANGER_SILENT_CONNECTION_SECONDS`); the attackers never hang up.',
      '',
      '| | value |',
      '|---|---|',
      `| connections of the one address already closed by the server when all 2,100 were open (the cap keeps 64) | ${refusedAtOnce} of 2,100 |`,
      `| a password-first booth's p50 ms (from its own process): baseline / during | ${f(median(baselineApart))} / ${f(median(duringF))} (**${(median(duringF) / median(baselineApart)).toFixed(2)}×**, target ≤ 1.2×) |`,
      `| server RSS MB: idle / peak | ${f(idleRssF)} / ${f(peakRssF)} (**+${f(peakRssF - idleRssF)} MB**, target ≤ +256) |`,
      `| open descriptors: idle / peak | ${idleFdsF} / ${peakFdsF} |`,
      `| every connection closed by the server after / descriptors back to idle after | ${f(floodClosedS, 1)} s / ${f(fdsBackF, 1)} s (from the flood's start) |`,
      '',
      '### (g) Stalled bodies before authentication: 1,000 logins (4,000 bytes announced, 100 sent) and 1,000 booth uploads (32 fields of 16 KiB, no password, never finished), from 40 addresses each',
      '',
      "The attackers never hang up: the server closes them (a body within 15 s, `PHOTOCHANGER_REQUEST_BODY_TIMEOUT_SECONDS`; a booth upload without a password or a photo within the grace period, 3 s in this run). A stranger's fields are kept to 8 KiB.",
      '',
      '| | value |',
      '|---|---|',
      `| a password-first booth's p50 ms (from its own process): baseline / during | ${f(median(baselineApart))} / ${f(median(duringG))} (**${(median(duringG) / median(baselineApart)).toFixed(2)}×**, target ≤ 1.2×) |`,
      `| server RSS MB: idle / peak | ${f(idleRssG)} / ${f(peakRssG)} (**+${f(peakRssG - idleRssG)} MB**, target ≤ +256) |`,
      `| every connection closed by the server after / descriptors back to idle after | ${f(stalledClosedS, 1)} s / ${f(fdsBackG, 1)} s (from the attack's start; target: within 15 s of the server's own limits) |`,
      '<!-- bench:security:end -->',
    ].join('\n');
    await writeBenchSection('security', section);
  } finally {
    child.proc.kill('SIGTERM');
  }
}

if (process.argv[2] === 'booth') {
  const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#c08040' } })
    .jpeg({ quality: 85 })
    .toBuffer();
  console.log(JSON.stringify(await boothLatencies(process.argv[3]!, photo, Number(process.argv[4] ?? 10))));
} else {
  await main();
}
