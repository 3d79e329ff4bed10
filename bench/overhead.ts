/**
 * `npm run bench:overhead` (`tsx bench/overhead.ts`): what the server itself adds to a booth ingest
 * through Gemini when the AI answers at once. The real server (startServer, the real Gemini driver,
 * the real queue on PostgreSQL) against a minimal proxy measured in the same run on this machine:
 * bare Fastify + @fastify/multipart that streams the upload to a file, reads it, base64s it, POSTs
 * generateContent in the driver's wire format, decodes the image and replies with it.
 * Both talk to the fake Gemini of test/support/fakes/gemini.ts (no latency), each to its own
 * instance, all on 127.0.0.1 in separate processes (fake, proxy, PhotoChanger, and this process
 * as the booths):
 *   (a) one photo at a time, the two targets alternating request by request;
 *   (b) 8 booths at once (8 keep-alive connections each posting back to back), alternating blocks.
 * Writes its section of docs/benchmarks.md (between the bench:overhead markers).
 *
 * Environment: BENCH_OVERHEAD_SEQUENTIAL (requests per target, default 400: the median of 200 moved by ±0.05× from run to run), BENCH_OVERHEAD_BLOCK_S
 * (seconds per block of (b), three blocks per target, default 5), BENCH_OVERHEAD_LOG_LEVEL
 * (PhotoChanger's log level, default info as in production), BENCH_OVERHEAD_CPU_PROF (a directory:
 * PhotoChanger runs with --cpu-prof there, the proxy in its subdirectory proxy/), BENCH_OVERHEAD_RESULT=tiny (the fake answers its 1×1 PNG
 * instead of a 1K JPEG), BENCH_OVERHEAD_TRACE=1 (PhotoChanger prints every SQL statement's round trip
 * when it stops), BENCH_OVERHEAD_NO_WRITE=1 (print only), and
 * PHOTOCHANGER_BENCH_DATABASE_URL (an external PostgreSQL instead of the embedded one). Other
 * PHOTOCHANGER_* variables reach the server (e.g. PHOTOCHANGER_GEMINI_MAX_CONCURRENCY).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { multipart } from './support.js';

const SELF = fileURLToPath(import.meta.url);
const MODEL = 'gemini-3.1-flash-lite-image'; // the table's default model (src/providers/gemini/models.ts)
const PROMPT = 'Turn the guest into a watercolour painting';
const PASSWORD = 'bench-overhead-password';
const SEQUENTIAL = Number(process.env.BENCH_OVERHEAD_SEQUENTIAL ?? 400);
const WARMUP = 20;
const CONCURRENCY = 8;
const BLOCK_S = Number(process.env.BENCH_OVERHEAD_BLOCK_S ?? 5);
const BLOCKS = 3;
const TARGET_RATIO = 1.2;

/** A photo with texture and enough noise to weigh what a booth's JPEG weighs at this size. */
async function photoJpeg(width: number, height: number, quality: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (Math.sin(i / 613) * 60 + 128 + (((i * 2654435761) >>> 24) % 90)) | 0;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .blur(0.6)
    .jpeg({ quality })
    .toBuffer();
}

/** The booth's photo: 1536×1024 (Nano Banana 2 Lite's working size, so the driver sends it as it is). */
const boothPhoto = () => photoJpeg(1536, 1024, 93);
/** What the fake answers: a 1K result (1264×848, Gemini's 3:2 at 1K) as JPEG. */
const aiResult = () => photoJpeg(1264, 848, 90);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// Child processes. Each reports `{ ready: … }` over IPC and stops on 'stop' or when the parent goes.
// ---------------------------------------------------------------------------------------------

function onStop(stop: () => Promise<void>): void {
  let stopping = false;
  const run = () => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(1), 15_000);
    hard.unref();
    void stop()
      .catch((err: unknown) => console.error(err))
      .finally(() => process.exit(0));
  };
  process.on('message', (m) => (m === 'stop' ? run() : undefined));
  process.on('disconnect', run);
  process.on('SIGTERM', run);
  process.on('SIGINT', run);
}

interface FakeStats {
  requests: number;
  bodyBytes: number;
  /** Decoded size and sha256 of the photo inside the first requests (inline_data). */
  photos: Array<{ bytes: number; sha256: string }>;
}

async function fakeChild(): Promise<void> {
  const { startGeminiFake } = await import('../test/support/fakes/gemini.js');
  const { RESULT_PNG } = await import('../test/support/fakes/common.js');
  const tiny = process.env.BENCH_OVERHEAD_RESULT === 'tiny';
  const result = tiny ? RESULT_PNG : await aiResult();
  // `image` answers at once (no delayMs): the instant provider.
  const behaviour = { kind: 'image' as const, image: result, mime: tiny ? 'image/png' : 'image/jpeg' };
  const fakes = {
    photochanger: await startGeminiFake({ initial: behaviour }),
    proxy: await startGeminiFake({ initial: behaviour }),
  };
  const stats: Record<string, FakeStats> = {
    photochanger: { requests: 0, bodyBytes: 0, photos: [] },
    proxy: { requests: 0, bodyBytes: 0, photos: [] },
  };
  // The fake keeps every request (body and parsed JSON): summarised and dropped as they come.
  const drain = () => {
    for (const [name, fake] of Object.entries(fakes)) {
      const s = stats[name]!;
      for (const r of fake.requests.splice(0)) {
        if (!r.path.endsWith(':generateContent')) continue;
        s.requests++;
        s.bodyBytes += r.body.length;
        if (s.photos.length < 5) {
          const parts =
            (r.json as { contents?: { parts?: { inline_data?: { data?: string } }[] }[] } | undefined)?.contents?.[0]
              ?.parts ?? [];
          const data = parts.find((p) => p.inline_data?.data)?.inline_data?.data;
          if (data) {
            const bytes = Buffer.from(data, 'base64');
            s.photos.push({ bytes: bytes.length, sha256: sha(bytes) });
          }
        }
      }
    }
  };
  const timer = setInterval(drain, 250);
  process.on('message', (m) => {
    if (m === 'stats') {
      drain();
      process.send!({ stats });
    }
  });
  onStop(async () => {
    clearInterval(timer);
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  });
  process.send!({
    ready: {
      photochanger: fakes.photochanger.baseUrl,
      proxy: fakes.proxy.baseUrl,
      apiKey: fakes.proxy.apiKey,
      resultBytes: result.length,
      result: tiny ? 'its 1×1 PNG' : `a 1K result: 1264×848 JPEG of ${(result.length / 1024).toFixed(0)} KB`,
    },
  });
}

/** The minimal proxy: stream to disk, base64, POST generateContent, decode, reply. */
async function proxyChild(geminiBaseUrl: string, apiKey: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyMultipart } = await import('@fastify/multipart');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-overhead-proxy-'));
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  await app.register(fastifyMultipart, { limits: { fileSize: 50 * 1024 * 1024 } });
  const url = `${geminiBaseUrl}/v1beta/models/${encodeURIComponent(MODEL)}:generateContent`;
  // Where the proxy's time goes (same stages as PhotoChanger's log), reported to the parent.
  const stages: Record<string, number[]> = { upload: [], prepare: [], call: [], decode: [] };
  process.on('message', (m) => {
    if (m === 'stages')
      process.send!({ stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, percentile(v, 50)])) });
    if (m === 'reset') for (const v of Object.values(stages)) v.length = 0;
  });
  app.post('/ingest/:slotId', async (request, reply) => {
    const target = path.join(dir, `${randomUUID()}.upload`);
    const t0 = performance.now();
    try {
      let password: string | undefined;
      let mime = 'image/jpeg';
      for await (const part of request.parts()) {
        if (part.type === 'file') {
          mime = part.mimetype;
          await pipeline(part.file, createWriteStream(target));
        } else if (part.fieldname === 'password') password = String(part.value);
      }
      if (password !== PASSWORD) return reply.code(401).send({ error: 'invalid_password' });
      const t1 = performance.now();
      const photo = await fs.readFile(target);
      // The driver's wire format (buildGeminiBody in src/providers/gemini/driver.ts for this model).
      const body = JSON.stringify({
        contents: [
          {
            role: 'user',
            parts: [{ inline_data: { mime_type: mime, data: photo.toString('base64') } }, { text: PROMPT }],
          },
        ],
        generationConfig: { responseModalities: ['IMAGE'] },
      });
      const t2 = performance.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': apiKey },
        body,
      });
      const json = (await res.json()) as {
        candidates?: {
          content?: {
            parts?: { thought?: boolean; inlineData?: { data?: string }; inline_data?: { data?: string } }[];
          };
        }[];
      };
      const parts = json.candidates?.[0]?.content?.parts ?? [];
      // The final image, as the driver takes it: the last one that is not a thinking model's draft.
      const data = parts
        .filter((p) => p.thought !== true)
        .map((p) => p.inlineData?.data ?? p.inline_data?.data)
        .filter((d) => d !== undefined)
        .at(-1);
      if (res.status !== 200 || !data) return reply.code(502).send({ error: 'provider_error' });
      const t3 = performance.now();
      const image = Buffer.from(data, 'base64');
      const t4 = performance.now();
      stages.upload!.push(t1 - t0);
      stages.prepare!.push(t2 - t1);
      stages.call!.push(t3 - t2);
      stages.decode!.push(t4 - t3);
      return reply.header('Content-Type', 'image/jpeg').send(image);
    } finally {
      await fs.rm(target, { force: true });
    }
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onStop(async () => {
    await app.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  process.send!({ ready: { url: address } });
}

async function photochangerChild(geminiBaseUrl: string, apiKey: string): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { startServer } = await import('../src/server.js');
  const { externalBenchDatabase } = await import('./support.js');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-overhead-'));
  await fs.chmod(dir, 0o755); // the embedded PostgreSQL runs as `postgres` when this is root
  const external = await externalBenchDatabase('overhead');
  const config = loadConfig({
    ...process.env,
    PHOTOCHANGER_HOST: '127.0.0.1',
    PHOTOCHANGER_PORT: '0',
    PHOTOCHANGER_DATA_DIR: dir,
    PHOTOCHANGER_MEDIA_ROOT: path.join(dir, 'media'),
    PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD: PASSWORD,
    PHOTOCHANGER_BOOTSTRAP_ADMIN: 'bench:bench-admin-password',
    PHOTOCHANGER_GEMINI_BASE_URL: geminiBaseUrl,
    PHOTOCHANGER_GEMINI_API_KEY: apiKey,
    PHOTOCHANGER_LOG_LEVEL: process.env.BENCH_OVERHEAD_LOG_LEVEL ?? 'info',
    // The 8 booths of (b) all come from 127.0.0.1: the address's share of the queue is the whole
    // cap here, as for 8 booths behind one router (docs/configuration.md).
    PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '12',
    ...(external ? { PHOTOCHANGER_DATABASE_URL: external.url } : {}),
  });
  // Investigation aid: every SQL statement's round trip, by statement (printed at the end).
  const trace = process.env.BENCH_OVERHEAD_TRACE === '1' ? await traceQueries() : undefined;
  // Logs go to stdout, which the parent points at a file (it reads the ingests' timings there).
  // Each line also carries `hr` (performance.now(), µs resolution), written synchronously as pino does to stdout.
  const destination = {
    write: (line: string) => void writeSync(1, `{"hr":${performance.now().toFixed(3)},${line.slice(1)}`),
  };
  const server = await startServer(config, createLogger(config.logLevel, destination), {
    announce: () => undefined,
    networkInterfaces: () => ({}),
  });
  onStop(async () => {
    trace?.print('since then (warm-up and booths)');
    await server.forceStop().catch(() => undefined);
    await external?.drop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });
  // slot-001: Gemini edit on the default model, as an operator would set it in the admin UI.
  const auth = {
    authorization: `Bearer ${server.tokens.sign({ username: 'bench', permissions: ['slots:read', 'slots:write'] }).access_token}`,
  };
  const current = await fetch(`${server.url}/api/slots/slot-001`, { headers: auth });
  const res = await fetch(`${server.url}/api/slots/slot-001`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': current.headers.get('etag')! },
    body: JSON.stringify({
      name: 'slot-001',
      enabled: true,
      max_upload_bytes: null,
      provider: 'gemini',
      operation: 'edit',
      settings: { model: MODEL, prompt: PROMPT },
    }),
  });
  if (res.status !== 200) throw new Error(`PUT /api/slots/slot-001: HTTP ${res.status} ${await res.text()}`);
  process.send!({ ready: { url: server.url, external: external !== undefined } });
}

/** Wraps pg's Client.query (promise form, as Kysely calls it) to time each statement. */
async function traceQueries(): Promise<{ print(label?: string): void }> {
  const { default: pg } = await import('pg');
  const byStatement = new Map<string, number[]>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (typeof args.at(-1) === 'function' || !(result instanceof Promise)) return result;
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? '?');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    const started = performance.now();
    const record = () => {
      let list = byStatement.get(key);
      if (!list) byStatement.set(key, (list = []));
      list.push(performance.now() - started);
    };
    result.then(record, record);
    return result;
  };
  process.on('message', (m) => {
    if (m !== 'trace') return;
    printer.print('one at a time');
    byStatement.clear();
  });
  const printer = {
    print(label = 'since the last print') {
      const rows = [...byStatement.entries()].map(([sql, ms]) => ({
        sql,
        count: ms.length,
        p50: percentile(ms, 50),
        mean: ms.reduce((a, b) => a + b, 0) / ms.length,
      }));
      rows.sort((a, b) => b.count * b.mean - a.count * a.mean);
      process.stderr.write(
        `SQL trace, ${label} (ms):\n${rows.map((r) => `${String(r.count).padStart(6)} × p50 ${r.p50.toFixed(2)} mean ${r.mean.toFixed(2)}  ${r.sql}`).join('\n')}\n`,
      );
    },
  };
  return printer;
}

// ---------------------------------------------------------------------------------------------
// The parent: starts the children, plays the booths, reports.
// ---------------------------------------------------------------------------------------------

interface Child<R> {
  proc: ChildProcess;
  ready: R;
}

const children: ChildProcess[] = [];

async function startChild<R>(
  args: string[],
  options: { stdout?: number; execArgv?: string[]; timeoutMs?: number } = {},
): Promise<Child<R>> {
  const proc = spawn(process.execPath, [...(options.execArgv ?? []), '--import', 'tsx', SELF, ...args], {
    env: process.env,
    stdio: ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'],
  });
  children.push(proc);
  const ready = await new Promise<R>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args[0]} did not start within ${(options.timeoutMs ?? 90_000) / 1000} s`)),
      options.timeoutMs ?? 90_000,
    );
    proc.on('message', (m: { ready?: R }) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m.ready);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (code ${code}) before it was ready`));
    });
  });
  return { proc, ready };
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  if (proc.connected) proc.send('stop');
  else proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

interface Target {
  name: 'photochanger' | 'proxy';
  url: URL;
  agent: http.Agent;
}

interface Sample {
  ms: number;
  status: number;
  bytes: number;
  /** performance.now() at the end. */
  at: number;
}

function post(target: Target, form: { body: Buffer; contentType: string }): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: target.url.hostname,
        port: target.url.port,
        path: target.url.pathname,
        method: 'POST',
        agent: target.agent,
        headers: { 'content-type': form.contentType, 'content-length': form.body.length },
        timeout: 30_000,
      },
      (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => {
          const at = performance.now();
          resolve({ ms: at - started, status: res.statusCode ?? 0, bytes, at });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(form.body);
  });
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Summary {
  p50: number;
  p95: number;
  requests: number;
  failed: number;
  rps?: number;
}

function summarize(samples: Sample[], seconds?: number): Summary {
  const ok = samples.filter((s) => s.status === 200 && s.bytes > 0);
  const ms = ok.map((s) => s.ms);
  return {
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    requests: samples.length,
    failed: samples.length - ok.length,
    ...(seconds ? { rps: ok.length / seconds } : {}),
  };
}

/** One at a time, alternating target by target (and which goes first) to share the machine's noise. */
async function oneAtATime(
  targets: [Target, Target],
  form: { body: Buffer; contentType: string },
  count: number,
): Promise<Record<string, Sample[]>> {
  const out: Record<string, Sample[]> = { [targets[0].name]: [], [targets[1].name]: [] };
  for (let i = 0; i < count; i++) {
    const order = i % 2 === 0 ? targets : ([targets[1], targets[0]] as const);
    for (const t of order)
      out[t.name]!.push(await post(t, form).catch(() => ({ ms: NaN, status: 0, bytes: 0, at: performance.now() })));
  }
  return out;
}

/** `CONCURRENCY` booths posting back to back for `seconds`. */
async function booths(target: Target, form: { body: Buffer; contentType: string }, seconds: number): Promise<Sample[]> {
  const until = performance.now() + seconds * 1000;
  const samples: Sample[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until)
        samples.push(await post(target, form).catch(() => ({ ms: NaN, status: 0, bytes: 0, at: performance.now() })));
    }),
  );
  return samples;
}

/** The ingests' own timings from PhotoChanger's log (info level), within a window of wall-clock time. */
interface LogBreakdown {
  jobs: number;
  stages: Array<{ stage: string; p50: number }>;
  timings: { queue_wait_ms: number; processing_ms: number; total_ms: number; response_ms: number };
}

async function logBreakdown(file: string, from: number, to: number): Promise<LogBreakdown | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const byRequest = new Map<string, Map<string, number>>();
  const answered: Array<{ queue_wait_ms: number; processing_ms: number; total_ms: number }> = [];
  const responseMs: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: {
      hr?: number;
      time?: string;
      msg?: string;
      correlation_id?: string;
      timings?: { queue_wait_ms: number; processing_ms: number; total_ms: number };
      responseTime?: number;
      req?: { url?: string };
      res?: unknown;
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const t = entry.time ? Date.parse(entry.time) : NaN;
    if (!(t >= from && t <= to) || !entry.correlation_id || !entry.msg) continue;
    let events = byRequest.get(entry.correlation_id);
    if (!events) byRequest.set(entry.correlation_id, (events = new Map()));
    if (!events.has(entry.msg)) events.set(entry.msg, entry.hr ?? t);
    if (entry.msg === 'ingest answered' && entry.timings) answered.push(entry.timings);
    if (entry.msg === 'request completed' && typeof entry.responseTime === 'number')
      responseMs.push(entry.responseTime);
  }
  if (answered.length === 0) return undefined;
  const steps: Array<[string, string, string]> = [
    [
      'request in → Gemini answer (admission read: slot, settings, queue fill; upload to disk with type and header from its first bytes; enqueue, during which an idle worker reads the photo, its header and the key and builds the request (base64, JSON); HTTP; parse with the image kept as bytes)',
      'incoming request',
      'Gemini answer',
    ],
    [
      'Gemini answer → job succeeded (base64 decode from the bytes, sniff, write result, finalize UPDATE; the request removes the payload meanwhile)',
      'Gemini answer',
      'job succeeded',
    ],
    ['job succeeded → ingest answered (the bytes handed over in memory)', 'job succeeded', 'ingest answered'],
    ['ingest answered → request completed (send)', 'ingest answered', 'request completed'],
  ];
  const stages = steps.map(([stage, a, b]) => {
    const deltas: number[] = [];
    for (const events of byRequest.values()) {
      const ta = events.get(a);
      const tb = events.get(b);
      if (ta !== undefined && tb !== undefined) deltas.push(tb - ta);
    }
    return { stage, p50: percentile(deltas, 50) };
  });
  return {
    jobs: answered.length,
    stages,
    timings: {
      queue_wait_ms: percentile(
        answered.map((a) => a.queue_wait_ms),
        50,
      ),
      processing_ms: percentile(
        answered.map((a) => a.processing_ms),
        50,
      ),
      total_ms: percentile(
        answered.map((a) => a.total_ms),
        50,
      ),
      response_ms: percentile(responseMs, 50),
    },
  };
}

/**
 * CPU time (user + system, ms) used so far by a process and its descendants (Linux /proc; the
 * embedded PostgreSQL runs under PhotoChanger's process). NaN where /proc is not there.
 */
async function treeCpuMs(root: number): Promise<{ self: number; descendants: number }> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return { self: NaN, descendants: NaN };
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const text = await fs.readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
    if (f.length < 15) continue;
    stats.set(Number(e), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  const tick = 1000 / 100; // USER_HZ
  let descendants = 0;
  for (const [pid, st] of stats) {
    if (pid === root) continue;
    for (let p = st.ppid, hops = 0; p > 1 && hops < 10; p = stats.get(p)?.ppid ?? 0, hops++) {
      if (p === root) {
        descendants += st.ticks * tick;
        break;
      }
    }
  }
  return { self: (stats.get(root)?.ticks ?? NaN) * tick, descendants };
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');

async function main(): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-overhead-run-'));
  const cleanup = async () => {
    await Promise.all(children.map((c) => stopChild(c).catch(() => undefined)));
    await fs.rm(tmp, { recursive: true, force: true });
  };
  const interrupted = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const watchdog = setTimeout(() => {
    console.error('bench/overhead.ts: over 4 minutes, giving up');
    interrupted();
  }, 235_000);
  watchdog.unref();
  try {
    const photo = await boothPhoto();
    const meta = await sharp(photo).metadata();
    console.log(`photo: ${meta.width}×${meta.height} JPEG, ${photo.length} bytes`);

    const fake = await startChild<{
      photochanger: string;
      proxy: string;
      apiKey: string;
      resultBytes: number;
      result: string;
    }>(['fake']);
    const cpuProf = process.env.BENCH_OVERHEAD_CPU_PROF;
    const proxy = await startChild<{ url: string }>(['proxy', fake.ready.proxy, fake.ready.apiKey], {
      execArgv: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(path.join(cpuProf, 'proxy'))] : [],
    });
    const logFile = path.join(tmp, 'photochanger.log');
    const log = await fs.open(logFile, 'w');
    const pc = await startChild<{ url: string; external: boolean }>(
      ['photochanger', fake.ready.photochanger, fake.ready.apiKey],
      {
        stdout: log.fd,
        execArgv: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProf)] : [],
      },
    );
    await log.close(); // the child holds its own descriptor

    const form = multipart([
      { name: 'password', value: PASSWORD },
      { name: 'fileToUpload', value: photo, filename: 'IMG_0001.JPG', type: 'image/jpeg' },
    ]);
    const oneAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seq: [Target, Target] = [
      { name: 'photochanger', url: new URL('/ingest/slot-001', pc.ready.url), agent: oneAgent() },
      { name: 'proxy', url: new URL('/ingest/slot-001', proxy.ready.url), agent: oneAgent() },
    ];

    // Both answer, and answer the same image.
    for (const t of seq) {
      const r = await post(t, form);
      if (r.status !== 200 || r.bytes !== fake.ready.resultBytes)
        throw new Error(`${t.name}: HTTP ${r.status}, ${r.bytes} bytes (expected ${fake.ready.resultBytes})`);
    }

    // (a) One at a time.
    await oneAtATime(seq, form, WARMUP);
    proxy.proc.send('reset');
    if (process.env.BENCH_OVERHEAD_TRACE === '1') pc.proc.send('trace'); // drops the start-up's statements
    const cpu0 = { pc: await treeCpuMs(pc.proc.pid!), proxy: await treeCpuMs(proxy.proc.pid!) };
    const seqFrom = Date.now();
    const sequential = await oneAtATime(seq, form, SEQUENTIAL);
    const seqTo = Date.now();
    const cpu1 = { pc: await treeCpuMs(pc.proc.pid!), proxy: await treeCpuMs(proxy.proc.pid!) };
    const seqCpu = {
      pcNode: (cpu1.pc.self - cpu0.pc.self) / SEQUENTIAL,
      pcDatabase: (cpu1.pc.descendants - cpu0.pc.descendants) / SEQUENTIAL,
      proxy: (cpu1.proxy.self + cpu1.proxy.descendants - cpu0.proxy.self - cpu0.proxy.descendants) / SEQUENTIAL,
    };
    console.log('CPU ms per request, one at a time', seqCpu);
    if (process.env.BENCH_OVERHEAD_TRACE === '1') pc.proc.send('trace');
    const proxyStages = await new Promise<Record<string, number>>((resolve) => {
      proxy.proc.once('message', (m: { stages: Record<string, number> }) => resolve(m.stages));
      proxy.proc.send('stages');
    });
    const seqPc = summarize(sequential.photochanger!);
    const seqProxy = summarize(sequential.proxy!);
    console.log('one at a time', { photochanger: seqPc, proxy: seqProxy });

    // (b) 8 booths, alternating blocks (each target goes first in turn).
    const manyAgent = () => new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const conc: [Target, Target] = [
      { name: 'photochanger', url: seq[0].url, agent: manyAgent() },
      { name: 'proxy', url: seq[1].url, agent: manyAgent() },
    ];
    for (const t of conc) await booths(t, form, 1.5); // warm-up: 8 connections each
    const concSamples: Record<string, Sample[]> = { photochanger: [], proxy: [] };
    const concWindows: Array<[number, number]> = [];
    const concCpu = { pcNode: 0, pcDatabase: 0, proxy: 0 };
    for (let b = 0; b < BLOCKS; b++) {
      for (const t of b % 2 === 0 ? conc : [conc[1], conc[0]]) {
        const pid = t.name === 'photochanger' ? pc.proc.pid! : proxy.proc.pid!;
        const before = await treeCpuMs(pid);
        const from = Date.now();
        concSamples[t.name]!.push(...(await booths(t, form, BLOCK_S)));
        if (t.name === 'photochanger') concWindows.push([from, Date.now()]);
        await new Promise((r) => setTimeout(r, 300)); // let the last answers' background work settle
        const after = await treeCpuMs(pid);
        if (t.name === 'photochanger') {
          concCpu.pcNode += after.self - before.self;
          concCpu.pcDatabase += after.descendants - before.descendants;
        } else concCpu.proxy += after.self + after.descendants - before.self - before.descendants;
      }
    }
    concCpu.pcNode /= concSamples.photochanger!.length;
    concCpu.pcDatabase /= concSamples.photochanger!.length;
    concCpu.proxy /= concSamples.proxy!.length;
    console.log(`CPU ms per request, ${CONCURRENCY} booths`, concCpu);
    const concPc = summarize(concSamples.photochanger!, BLOCK_S * BLOCKS);
    const concProxy = summarize(concSamples.proxy!, BLOCK_S * BLOCKS);
    console.log(`${CONCURRENCY} booths`, { photochanger: concPc, proxy: concProxy });
    for (const t of [...seq, ...conc]) t.agent.destroy();

    // What the fake received from each: the photo as sent, or re-encoded?
    const stats = await new Promise<Record<string, FakeStats>>((resolve) => {
      fake.proc.once('message', (m: { stats: Record<string, FakeStats> }) => resolve(m.stats));
      fake.proc.send('stats');
    });
    const photoSha = sha(photo);
    const sent = (name: string) => {
      const s = stats[name]!;
      const p = s.photos[0];
      return {
        requestKb: s.bodyBytes / Math.max(1, s.requests) / 1024,
        photoBytes: p?.bytes ?? NaN,
        asUploaded: p?.sha256 === photoSha,
      };
    };
    const pcSent = sent('photochanger');
    const proxySent = sent('proxy');
    console.log('sent to the fake', { photochanger: pcSent, proxy: proxySent });

    await stopChild(pc.proc); // flushes its log (and its CPU profile)
    if (process.env.BENCH_OVERHEAD_KEEP_LOG) await fs.copyFile(logFile, process.env.BENCH_OVERHEAD_KEEP_LOG);
    const seqLog = await logBreakdown(logFile, seqFrom, seqTo);
    const concLog = await logBreakdown(logFile, concWindows[0]?.[0] ?? 0, concWindows.at(-1)?.[1] ?? 0);
    if (seqLog) console.log('PhotoChanger log, one at a time (p50 ms)', seqLog);
    console.log('proxy stages, one at a time (p50 ms)', proxyStages);
    if (concLog) console.log(`PhotoChanger log, ${CONCURRENCY} booths (p50 ms)`, concLog.timings);

    const ratioSeq = seqPc.p50 / seqProxy.p50;
    const ratioConc = concPc.p50 / concProxy.p50;
    const met = (r: number) => (r <= TARGET_RATIO ? 'met' : 'not met');
    const row = (label: string, pcS: Summary, pxS: Summary, withRps: boolean) => {
      const r = pcS.p50 / pxS.p50;
      return `| ${label} | ${fmt(pxS.p50)} | ${fmt(pxS.p95)} | ${fmt(pcS.p50)} | ${fmt(pcS.p95)} | **${fmt(r, 2)}×** (+${fmt(pcS.p50 - pxS.p50)} ms) | ${fmt(pcS.p95 / pxS.p95, 2)}× | ${withRps ? `${fmt(pxS.rps ?? NaN)} / ${fmt(pcS.rps ?? NaN)}` : '—'} | ${pxS.failed + pcS.failed} | ${met(r)} |`;
    };
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const section = [
      '<!-- bench:overhead:start (written by `npm run bench:overhead`; do not edit by hand) -->',
      '## Server overhead against a minimal proxy (`npm run bench:overhead`)',
      '',
      `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Node ${process.version}, ${pc.ready.external ? 'external PostgreSQL' : 'embedded PostgreSQL 18'}, PhotoChanger at log level ${process.env.BENCH_OVERHEAD_LOG_LEVEL ?? 'info'}.`,
      '',
      `A booth ingest through Gemini (slot-001: \`gemini\`/\`edit\`, ${MODEL}, a prompt, nothing else set) against the fake Gemini of test/support/fakes/gemini.ts answering at once, compared with a minimal proxy in the same run: bare Fastify + @fastify/multipart that streams the upload to a file, reads it, base64s it, POSTs generateContent in the driver's wire format, decodes the image and replies with it (no password hashing, no database, no image library). Each target has its own fake; the fake, the proxy, PhotoChanger and the booths (this script, Node's http client, keep-alive) run in separate processes on 127.0.0.1.`,
      '',
      `Photo: ${meta.width}×${meta.height} JPEG of ${(photo.length / 1024).toFixed(0)} KB (the model's 1536 px working size, so the driver sends it as uploaded: ${pcSent.asUploaded ? 'the fake received the very same bytes from PhotoChanger' : `PhotoChanger re-encoded it (${pcSent.photoBytes} bytes reached the fake)`}; ${fmt(pcSent.requestKb, 0)} KB request body from PhotoChanger, ${fmt(proxySent.requestKb, 0)} KB from the proxy). The fake answers ${fake.ready.result}, returned to the booth unchanged by both.`,
      '',
      `(a) one photo at a time: ${SEQUENTIAL} requests per target after ${WARMUP} warm-up, the two alternating request by request. (b) ${CONCURRENCY} booths: ${CONCURRENCY} connections posting back to back, ${BLOCKS} blocks of ${BLOCK_S} s per target, alternating.`,
      '',
      '| case | proxy p50 ms | proxy p95 ms | PhotoChanger p50 ms | PhotoChanger p95 ms | p50 ratio (difference) | p95 ratio | req/s proxy / PhotoChanger | failed | target ≤ 1.2× |',
      '|---|---|---|---|---|---|---|---|---|---|',
      row('(a) one at a time', seqPc, seqProxy, false),
      row(`(b) ${CONCURRENCY} booths`, concPc, concProxy, true),
      '',
      ...(seqLog
        ? [
            `Where PhotoChanger's time goes one at a time (p50 over ${seqLog.jobs} ingests, between its own log lines): ${seqLog.stages.map((s) => `${s.stage}: ${fmt(s.p50)} ms`).join('; ')}. Its \`timings\`: queue wait ${fmt(seqLog.timings.queue_wait_ms, 0)} ms, processing ${fmt(seqLog.timings.processing_ms, 0)} ms; Fastify's response time ${fmt(seqLog.timings.response_ms)} ms. The proxy, for comparison (p50): upload to disk ${fmt(proxyStages.upload ?? NaN)} ms, read + base64 + JSON ${fmt(proxyStages.prepare ?? NaN)} ms, generateContent call + parse ${fmt(proxyStages.call ?? NaN)} ms, decode ${fmt(proxyStages.decode ?? NaN, 2)} ms.`,
            '',
          ]
        : []),
      `CPU per request (user + system, from /proc): one at a time, PhotoChanger ${fmt(seqCpu.pcNode)} ms in its Node process + ${fmt(seqCpu.pcDatabase)} ms in ${pc.ready.external ? 'its (external, not counted) PostgreSQL' : 'the embedded PostgreSQL'}, the proxy ${fmt(seqCpu.proxy)} ms; with ${CONCURRENCY} booths, ${fmt(concCpu.pcNode)} + ${fmt(concCpu.pcDatabase)} ms against ${fmt(concCpu.proxy)} ms. On ${os.cpus().length} cores shared with the fake and the booths, the CPU per request is what bounds case (b).`,
      '',
      `Target: PhotoChanger's p50 at most ${TARGET_RATIO}× the proxy's, one at a time and with ${CONCURRENCY} booths: ${ratioSeq <= TARGET_RATIO && ratioConc <= TARGET_RATIO ? 'met' : `not met (${fmt(ratioSeq, 2)}× and ${fmt(ratioConc, 2)}×)`}.`,
      '<!-- bench:overhead:end -->',
    ].join('\n');
    console.log(`\n${section}\n`);
    if (process.env.BENCH_OVERHEAD_NO_WRITE !== '1') {
      const { writeBenchSection } = await import('./report.js');
      await writeBenchSection('overhead', section);
    }
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

const mode = process.argv[2];
if (mode === 'fake') await fakeChild();
else if (mode === 'proxy') await proxyChild(process.argv[3]!, process.argv[4]!);
else if (mode === 'photochanger') await photochangerChild(process.argv[3]!, process.argv[4]!);
else await main();
