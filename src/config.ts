/**
 * Every PHOTOCHANGER_* variable: its type, default, validation and documentation, in one table.
 * `loadConfig()` reads the environment (and `.env`, loaded by main.ts), validates every value and
 * returns one typed object or throws a ConfigError listing every bad value at once.
 * docs/configuration.md is generated from this table (`npm run docs`).
 */
import path from 'node:path';
import { isLoopbackHost, parseBaseUrl, parseAddressEntries } from './net/addresses.js';

export const GIB = 1024 * 1024 * 1024;
/** The hard cap of the booth contract (docs/api.md): no upload is ever accepted above 2 GiB. */
export const HARD_MAX_UPLOAD_BYTES = 2 * GIB;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  mediaRoot: string;
  databaseUrl: string | undefined;
  queueStatementTimeoutMs: number;
  queueMaxInFlightJobs: number;
  /** Photos one client address may have in progress at once in this process (its share of the in-flight cap). */
  queueSharePerAddress: number;
  tSyncResponseSeconds: number;
  maxUploadBytes: number;
  /** Ingest bodies received at once by this process (beyond: 429 before the body is read). */
  maxConcurrentUploads: number;
  uploadTimeoutSeconds: number;
  uploadMinBytesPerSecond: number;
  uploadRateGraceSeconds: number;
  /** Photo bytes received before their password, on disk at once (strangers' uploads; beyond: 503). */
  unverifiedUploadBudgetBytes: number;
  /** Uploads without a verified password received at once from one client address (beyond: 429). */
  unverifiedUploadsPerAddress: number;
  /** Open HTTP connections this process accepts (kept below its file limit). */
  maxConnections: number;
  /** Open HTTP connections from one client address (an IPv6 /64 is one); trusted proxies excepted. */
  maxConnectionsPerAddress: number;
  /** A new connection must send its request headers within this many seconds. */
  silentConnectionSeconds: number;
  /** Idle keep-alive after any answer but a booth's accepted upload. */
  keepAliveSeconds: number;
  /** A request body (except the ingest and admin uploads) must arrive within this many seconds. */
  requestBodyTimeoutSeconds: number;
  /** Memory one image may take decoded, and all decodes at once (MiB). */
  decodeMaxMib: number;
  decodeBudgetMib: number;
  /** Wrong ingest passwords from one address before it is made to wait. */
  ingestFreeFailures: number;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For is believed (client addresses for throttling and logs). */
  trustProxy: boolean | number | string[];
  resultTtlSeconds: number;
  cleanupIntervalSeconds: number;
  /** A Prometheus scrape token for GET /metrics (`Authorization: Bearer …`); undefined: none. */
  metricsToken: string | undefined;
  /** Client addresses that may read GET /metrics without a token or account. */
  metricsAllow: string[];
  /** Seconds between keep-alive comments on a live job stream (each also checks the session). */
  streamHeartbeatSeconds: number;
  jwtSecret: string | undefined;
  secretKey: string | undefined;
  bootstrapIngestPassword: string | undefined;
  bootstrapAdmin: string | undefined;
  publicBaseUrl: string | undefined;
  logLevel: string;
  workerCount: number;
  providers: {
    gemini: ProviderEndpointConfig;
    openai: ProviderEndpointConfig;
    turbotext: ProviderEndpointConfig;
  };
}

export interface ProviderEndpointConfig {
  apiKey: string | undefined;
  baseUrl: string;
  maxConcurrency: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface VariableSpec {
  name: string;
  default: string | undefined;
  description: string;
  secret?: boolean;
}

/** The documented variables, in the order docs/configuration.md lists them. */
export const CONFIG_VARIABLES: VariableSpec[] = [
  {
    name: 'PHOTOCHANGER_HOST',
    default: '0.0.0.0',
    description:
      'Interface the HTTP server binds to. The default (all interfaces) lets a booth PC and guests on the local network reach it; use 127.0.0.1 behind a reverse proxy on the same machine (deploy/nginx-single.conf).',
  },
  { name: 'PHOTOCHANGER_PORT', default: '8000', description: 'HTTP port (1–65535).' },
  {
    name: 'PHOTOCHANGER_DATA_DIR',
    default: './var',
    description:
      'Data directory: the embedded PostgreSQL cluster (`pgdata/`), generated secrets and first-start credentials.',
  },
  {
    name: 'PHOTOCHANGER_MEDIA_ROOT',
    default: '$PHOTOCHANGER_DATA_DIR/media',
    description:
      'Root of payloads/, results/, thumbs/, templates/ and temporary media (default: media/ inside the data directory, ./var/media unless PHOTOCHANGER_DATA_DIR is set). Shared by all instances.',
  },
  {
    name: 'PHOTOCHANGER_DATABASE_URL',
    default: undefined,
    description:
      'PostgreSQL (14+) connection string. Unset: an embedded PostgreSQL is started under the data directory and stopped on shutdown.',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS',
    default: '5000',
    description:
      'Timeout of every queue statement (and of acquiring a connection). Must be below T_sync_response. A statement over it answers 503 `queue_unavailable`.',
  },
  {
    name: 'PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS',
    default: '12',
    description: 'Unfinished jobs allowed at once across all instances; the next ingest gets 429 `queue_busy`.',
  },
  {
    name: 'PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS',
    default: undefined,
    description:
      'Photos one client address (an IPv6 /64 is one) may have in progress at once — being received or processed — in one process; the next gets 429 `queue_busy` (`details.reason` `address_share`). Default: half of PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS (at least 1), so one holder of the booth password cannot fill the queue. Booths behind one router share it: raise it there, or set PHOTOCHANGER_TRUST_PROXY behind a proxy.',
  },
  {
    name: 'PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS',
    default: '48',
    description:
      'T_sync_response: the hard window in which an ingest is answered (45–60 in production; lower values are accepted with a warning, for tests). The admin settings may override it within 45–60.',
  },
  {
    name: 'PHOTOCHANGER_MAX_UPLOAD_BYTES',
    default: String(HARD_MAX_UPLOAD_BYTES),
    description: 'Largest accepted upload in bytes (at most 2 GiB). A slot or provider may set a lower limit.',
  },
  {
    name: 'PHOTOCHANGER_MAX_CONCURRENT_UPLOADS',
    default: undefined,
    description:
      'Booth uploads received at once by one process; the next one gets 429 `queue_busy` before its body is read. Default: twice PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS. Also, uploads being received count against the in-flight cap, so an upload the queue could not take is refused before it is read.',
  },
  {
    name: 'PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS',
    default: '120',
    description:
      'A booth upload must be complete within this many seconds (408 `upload_timeout`, connection closed, partial file deleted).',
  },
  {
    name: 'PHOTOCHANGER_UPLOAD_MIN_BYTES_PER_SECOND',
    default: '16384',
    description:
      'After the grace period, an upload slower than this on average is cut off (408 `upload_timeout`). 16 KiB/s sends a 5 MB photo in about 5 minutes; any booth line is far faster.',
  },
  {
    name: 'PHOTOCHANGER_UPLOAD_RATE_GRACE_SECONDS',
    default: '10',
    description: 'Seconds before the minimum upload rate applies (a slow start on 4G is not punished).',
  },
  {
    name: 'PHOTOCHANGER_UNVERIFIED_UPLOAD_BUDGET_MIB',
    default: '512',
    description:
      'Photo bytes received before their password (a booth that sends the file first, then `password`) that this process keeps on disk at once, in MiB. Each such upload reserves its declared size (or 16 MiB for a chunked body, grown while there is room) when its photo begins; one that does not fit gets 503 `uploads_busy` with Retry-After before any of it is written. Uploads whose password came first (or in the URL), and uploads from an address that sent the right password in the last 12 h, are not counted.',
  },
  {
    name: 'PHOTOCHANGER_UNVERIFIED_UPLOADS_PER_ADDRESS',
    default: '4',
    description:
      'Uploads without a verified password yet (file before the password) received at once from one client address (an IPv6 /64 is one); the next gets 429 `too_many_requests` with Retry-After.',
  },
  {
    name: 'PHOTOCHANGER_MAX_CONNECTIONS',
    default: '2048',
    description:
      'Open HTTP connections one process accepts; further ones are closed at once. Lowered automatically to keep 256 file descriptors below the process limit (ulimit -n) for uploads, the database and logs.',
  },
  {
    name: 'PHOTOCHANGER_MAX_CONNECTIONS_PER_ADDRESS',
    default: '64',
    description:
      'Open HTTP connections one client address may hold (an IPv6 /64 is one); further ones are closed at once, before a byte is read. Addresses named in PHOTOCHANGER_TRUST_PROXY are not capped (nginx caps its clients with limit_conn). A booth needs one or two; a venue with many booths and guests behind one router shares the cap.',
  },
  {
    name: 'PHOTOCHANGER_SILENT_CONNECTION_SECONDS',
    default: '10',
    description:
      'A new connection must send its request headers within this many seconds (a silent or trickling socket is closed; a header trickle gets 408). A booth sends them at once.',
  },
  {
    name: 'PHOTOCHANGER_KEEP_ALIVE_SECONDS',
    default: '5',
    description:
      'How long a connection may stay idle after an answer (HTTP keep-alive), on every path except a booth upload that was not refused: booths keep theirs 72 s, since they reuse it for the next shot.',
  },
  {
    name: 'PHOTOCHANGER_REQUEST_BODY_TIMEOUT_SECONDS',
    default: '15',
    description:
      'A request body must have arrived within this many seconds (408 `request_timeout`, connection closed). The ingest (its own deadline and minimum rate) and the admin uploads (test run, templates: authenticated before their body is read) are bounded by PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS instead.',
  },
  {
    name: 'PHOTOCHANGER_INGEST_FREE_FAILURES',
    default: '5',
    description:
      'Wrong ingest passwords one client address may send before it must wait (2 s, doubling up to 15 min; 429 `too_many_attempts` with Retry-After). A booth at another address is not affected.',
  },
  {
    name: 'PHOTOCHANGER_DECODE_MAX_MIB',
    default: '256',
    description:
      'Memory one image may take decoded (width × height × channels × bytes per sample, read from its header before decoding). A booth photo over it is refused with 413 `payload_too_large` (a 24 MP JPEG takes 72 MiB).',
  },
  {
    name: 'PHOTOCHANGER_DECODE_BUDGET_MIB',
    default: '768',
    description:
      'Memory all image decodes of one process may take at once; a decode waits for room (within its job deadline).',
  },
  {
    name: 'PHOTOCHANGER_TRUST_PROXY',
    default: undefined,
    description:
      'Reverse proxies whose X-Forwarded-For names the client: `loopback` (nginx on the same machine), a comma-separated list of addresses or CIDRs, or a number of hops. Unset: the connecting address is the client. Password throttling is per client address, so set this behind a proxy (or every booth shares one address).',
  },
  {
    name: 'PHOTOCHANGER_RESULT_TTL_SECONDS',
    default: '259200',
    description: 'How long a result stays downloadable at /public/results/{job_id} (72 h); then 410 Gone.',
  },
  {
    name: 'PHOTOCHANGER_METRICS_TOKEN',
    default: undefined,
    description:
      'A scrape token for GET /metrics (at least 32 characters), sent by Prometheus as `Authorization: Bearer <token>` (`authorization: {credentials: …}` in its scrape config). Without it, /metrics answers the addresses in PHOTOCHANGER_METRICS_ALLOW and administrators with `stats:read`; anyone else gets 401.',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_METRICS_ALLOW',
    default: undefined,
    description:
      'Client addresses that may read GET /metrics without a token: `loopback`, `uniquelocal` (private networks), addresses or CIDRs separated by commas, or `none`. Default `loopback`, but `none` when PHOTOCHANGER_HOST is a loopback address and PHOTOCHANGER_TRUST_PROXY is unset (a proxy on this machine would make every client look local). Behind nginx the client is the address nginx forwards; the shipped `location = /metrics` forwards none, so nginx itself is the client: add its address when it runs on another host.',
  },
  {
    name: 'PHOTOCHANGER_STREAM_HEARTBEAT_SECONDS',
    default: '15',
    description:
      "Seconds between keep-alive comments on the live job stream (GET /api/jobs/stream); each beat also checks the session, so a stream ends within one beat of a logout or password reset. Keep it under the proxy's read timeout.",
  },
  {
    name: 'PHOTOCHANGER_CLEANUP_INTERVAL_SECONDS',
    default: '900',
    description:
      'Period of the photochanger-media-cleanup task that deletes expired payloads, temporary links and results.',
  },
  {
    name: 'PHOTOCHANGER_JWT_SECRET',
    default: undefined,
    description:
      'HS256 secret for admin tokens (at least 32 characters). Unset on a local install: generated once and kept in DATA_DIR/jwt-secret (mode 0600).',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_SECRET_KEY',
    default: undefined,
    description:
      'Key (32 bytes as 64 hex chars or base64) encrypting provider keys at rest with AES-256-GCM. Unset on a local install: generated once and kept in DATA_DIR/secret-key (mode 0600).',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD',
    default: undefined,
    description:
      'Ingest password hashed (argon2id) into the settings when none is stored yet. Absent on a fresh install: one is generated and printed once (and written to DATA_DIR/initial-credentials.txt, mode 0600).',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_BOOTSTRAP_ADMIN',
    default: undefined,
    description:
      '`user:password` of the first administrator (all permissions), created when no administrator exists. Absent on a fresh install: generated and printed once.',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_PUBLIC_BASE_URL',
    default: undefined,
    description:
      "Absolute external URL of this server (e.g. https://booth.example.com), without query or fragment. Booth URLs shown to admins, guest links and QR codes are built on it; unset, they use this machine's first LAN address (never a loopback address or a request's Host header). Required by Turbotext slots (temporary public links must be reachable from the internet).",
  },
  {
    name: 'PHOTOCHANGER_LOG_LEVEL',
    default: 'info',
    description: 'pino log level: fatal, error, warn, info, debug, trace or silent.',
  },
  {
    name: 'PHOTOCHANGER_WORKERS',
    default: '4',
    description: 'Workers per process (four by design, docs/architecture.md; change only with a reason).',
  },
  {
    name: 'PHOTOCHANGER_GEMINI_API_KEY',
    default: undefined,
    description: 'Gemini API key (the key stored in the admin settings wins).',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_GEMINI_BASE_URL',
    default: 'https://generativelanguage.googleapis.com',
    description: 'Gemini API base URL (proxies, regional endpoints, test fakes).',
  },
  {
    name: 'PHOTOCHANGER_GEMINI_MAX_CONCURRENCY',
    default: '3',
    description:
      'Concurrent Gemini calls per process (below the worker count, so a slow provider always leaves a worker to the others).',
  },
  {
    name: 'PHOTOCHANGER_OPENAI_API_KEY',
    default: undefined,
    description: 'OpenAI API key (the key stored in the admin settings wins).',
    secret: true,
  },
  { name: 'PHOTOCHANGER_OPENAI_BASE_URL', default: 'https://api.openai.com', description: 'OpenAI API base URL.' },
  {
    name: 'PHOTOCHANGER_OPENAI_MAX_CONCURRENCY',
    default: '3',
    description: 'Concurrent OpenAI image calls per process.',
  },
  {
    name: 'PHOTOCHANGER_TURBOTEXT_API_KEY',
    default: undefined,
    description: 'Turbotext API key (the key stored in the admin settings wins).',
    secret: true,
  },
  {
    name: 'PHOTOCHANGER_TURBOTEXT_BASE_URL',
    default: 'https://www.turbotext.ru',
    description: 'Turbotext API base URL.',
  },
  {
    name: 'PHOTOCHANGER_TURBOTEXT_MAX_CONCURRENCY',
    default: '2',
    description: 'Concurrent Turbotext jobs per process.',
  },
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoadConfigOptions {
  /** Called for accepted-but-unusual values (e.g. T_sync below 45 s). */
  warn?: (message: string) => void;
  cwd?: string;
}

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const cwd = options.cwd ?? process.cwd();
  const defaults = new Map(CONFIG_VARIABLES.map((v) => [v.name, v.default]));
  const raw = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined || value.trim() === '') return defaults.get(name);
    return value.trim();
  };
  const optional = (name: string): string | undefined => raw(name);
  const number = (name: string, check: (n: number) => string | undefined, integer = true): number => {
    const text = raw(name) ?? '';
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      problems.push(`${name}=${JSON.stringify(text)} is not ${integer ? 'an integer' : 'a number'}`);
      return NaN;
    }
    const problem = check(n);
    if (problem) problems.push(`${name}=${text} ${problem}`);
    return n;
  };
  const between = (min: number, max: number) => (n: number) =>
    n < min || n > max ? `must be between ${min} and ${max}` : undefined;
  const url = (name: string, rules: { publicFacing?: boolean } = {}): string | undefined => {
    const text = optional(name);
    if (text === undefined) return undefined;
    const parsed = parseBaseUrl(text);
    if ('problem' in parsed) {
      problems.push(`${name}=${JSON.stringify(text)} ${parsed.problem}`);
      return undefined;
    }
    if (rules.publicFacing && isLoopbackHost(new URL(parsed.url).hostname)) {
      warnings.push(
        `${name}=${text} is a loopback address: booths on other machines and guests' phones cannot open links on it`,
      );
    }
    return parsed.url;
  };

  const dataDir = path.resolve(cwd, raw('PHOTOCHANGER_DATA_DIR') ?? './var');
  const mediaRootText = env.PHOTOCHANGER_MEDIA_ROOT?.trim();
  const mediaRoot = mediaRootText ? path.resolve(cwd, mediaRootText) : path.join(dataDir, 'media');

  const databaseUrl = optional('PHOTOCHANGER_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('PHOTOCHANGER_DATABASE_URL must start with postgres:// or postgresql://');
  }

  const tSync = number(
    'PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS',
    (n) => (n <= 0 || n > 60 ? 'must be > 0 and at most 60' : undefined),
    false,
  );
  if (tSync > 0 && tSync < 45) {
    warnings.push(
      `PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS=${tSync} is below the production range 45–60; use it for tests only`,
    );
  }
  const statementTimeout = number('PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS', between(50, 60_000));
  if (Number.isFinite(tSync) && Number.isFinite(statementTimeout) && statementTimeout >= tSync * 1000) {
    problems.push(
      `PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS=${statementTimeout} must be below T_sync_response (${tSync * 1000} ms)`,
    );
  }

  const jwtSecret = optional('PHOTOCHANGER_JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32)
    problems.push('PHOTOCHANGER_JWT_SECRET must be at least 32 characters');
  const secretKey = optional('PHOTOCHANGER_SECRET_KEY');
  if (secretKey !== undefined && decodeSecretKey(secretKey) === undefined) {
    problems.push('PHOTOCHANGER_SECRET_KEY must be 32 bytes written as 64 hex characters or base64');
  }
  const bootstrapAdmin = optional('PHOTOCHANGER_BOOTSTRAP_ADMIN');
  if (bootstrapAdmin !== undefined && !/^[^:\s]{1,64}:.{8,}$/.test(bootstrapAdmin)) {
    problems.push('PHOTOCHANGER_BOOTSTRAP_ADMIN must be user:password with a password of at least 8 characters');
  }
  const bootstrapIngestPassword = optional('PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD');
  if (bootstrapIngestPassword !== undefined && bootstrapIngestPassword.length < 8) {
    problems.push('PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD must be at least 8 characters');
  }
  const metricsToken = optional('PHOTOCHANGER_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 32)
    problems.push('PHOTOCHANGER_METRICS_TOKEN must be at least 32 characters');
  // Behind a proxy on this machine that is not named in PHOTOCHANGER_TRUST_PROXY every client
  // looks like loopback: then no address is allowed by default (the token or an account is needed).
  const behindUnnamedProxy =
    isLoopbackHost(raw('PHOTOCHANGER_HOST') ?? '0.0.0.0') && raw('PHOTOCHANGER_TRUST_PROXY') === undefined;
  const metricsAllowText = optional('PHOTOCHANGER_METRICS_ALLOW') ?? (behindUnnamedProxy ? 'none' : 'loopback');
  const metricsAllow = metricsAllowText === 'none' ? [] : parseAddressEntries(metricsAllowText);
  if (!metricsAllow)
    problems.push(
      `PHOTOCHANGER_METRICS_ALLOW=${JSON.stringify(metricsAllowText)} must be loopback, uniquelocal, addresses/CIDRs separated by commas, or none`,
    );
  const logLevel = raw('PHOTOCHANGER_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`PHOTOCHANGER_LOG_LEVEL=${logLevel} must be one of ${LOG_LEVELS.join(', ')}`);

  const provider = (prefix: string): ProviderEndpointConfig => ({
    apiKey: optional(`PHOTOCHANGER_${prefix}_API_KEY`),
    baseUrl: url(`PHOTOCHANGER_${prefix}_BASE_URL`) ?? '',
    maxConcurrency: number(`PHOTOCHANGER_${prefix}_MAX_CONCURRENCY`, between(1, 64)),
  });

  const config: Config = {
    host: raw('PHOTOCHANGER_HOST') ?? '0.0.0.0',
    port: number('PHOTOCHANGER_PORT', between(0, 65535)),
    dataDir,
    mediaRoot,
    databaseUrl,
    queueStatementTimeoutMs: statementTimeout,
    queueMaxInFlightJobs: number('PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS', between(1, 10_000)),
    tSyncResponseSeconds: tSync,
    maxUploadBytes: number('PHOTOCHANGER_MAX_UPLOAD_BYTES', between(1, HARD_MAX_UPLOAD_BYTES)),
    maxConcurrentUploads: NaN,
    queueSharePerAddress: NaN,
    uploadTimeoutSeconds: number('PHOTOCHANGER_UPLOAD_TIMEOUT_SECONDS', between(1, 24 * 3600)),
    uploadMinBytesPerSecond: number('PHOTOCHANGER_UPLOAD_MIN_BYTES_PER_SECOND', between(0, 1024 ** 3)),
    uploadRateGraceSeconds: number('PHOTOCHANGER_UPLOAD_RATE_GRACE_SECONDS', between(0, 3600)),
    unverifiedUploadBudgetBytes:
      number('PHOTOCHANGER_UNVERIFIED_UPLOAD_BUDGET_MIB', between(1, 1024 * 1024)) * 1024 * 1024,
    unverifiedUploadsPerAddress: number('PHOTOCHANGER_UNVERIFIED_UPLOADS_PER_ADDRESS', between(1, 1000)),
    maxConnections: number('PHOTOCHANGER_MAX_CONNECTIONS', between(16, 1_000_000)),
    maxConnectionsPerAddress: number('PHOTOCHANGER_MAX_CONNECTIONS_PER_ADDRESS', between(2, 1_000_000)),
    silentConnectionSeconds: number('PHOTOCHANGER_SILENT_CONNECTION_SECONDS', between(1, 300)),
    keepAliveSeconds: number('PHOTOCHANGER_KEEP_ALIVE_SECONDS', between(1, 300)),
    requestBodyTimeoutSeconds: number('PHOTOCHANGER_REQUEST_BODY_TIMEOUT_SECONDS', between(1, 3600)),
    ingestFreeFailures: number('PHOTOCHANGER_INGEST_FREE_FAILURES', between(1, 1000)),
    trustProxy: parseTrustProxy(optional('PHOTOCHANGER_TRUST_PROXY'), problems),
    decodeMaxMib: number('PHOTOCHANGER_DECODE_MAX_MIB', between(16, 64 * 1024)),
    decodeBudgetMib: number('PHOTOCHANGER_DECODE_BUDGET_MIB', between(16, 256 * 1024)),
    resultTtlSeconds: number('PHOTOCHANGER_RESULT_TTL_SECONDS', between(1, 365 * 24 * 3600)),
    cleanupIntervalSeconds: number('PHOTOCHANGER_CLEANUP_INTERVAL_SECONDS', between(1, 24 * 3600)),
    streamHeartbeatSeconds: number('PHOTOCHANGER_STREAM_HEARTBEAT_SECONDS', between(1, 300)),
    metricsToken,
    metricsAllow: metricsAllow ?? [],
    jwtSecret,
    secretKey,
    bootstrapIngestPassword,
    bootstrapAdmin,
    publicBaseUrl: url('PHOTOCHANGER_PUBLIC_BASE_URL', { publicFacing: true }),
    logLevel,
    workerCount: number('PHOTOCHANGER_WORKERS', between(1, 64)),
    providers: { gemini: provider('GEMINI'), openai: provider('OPENAI'), turbotext: provider('TURBOTEXT') },
  };
  config.queueSharePerAddress =
    raw('PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS') === undefined
      ? Math.max(1, Math.floor(config.queueMaxInFlightJobs / 2))
      : number('PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS', between(1, 10_000));
  config.maxConcurrentUploads =
    raw('PHOTOCHANGER_MAX_CONCURRENT_UPLOADS') === undefined
      ? config.queueMaxInFlightJobs * 2
      : number('PHOTOCHANGER_MAX_CONCURRENT_UPLOADS', between(1, 100_000));
  if (problems.length > 0) throw new ConfigError(problems);
  // Behind nginx on the same machine every connection comes from 127.0.0.1: without trusting the
  // proxy's X-Forwarded-For, one guessing client would lock out every booth, and the session cookie
  // would not know the page is HTTPS.
  if (isLoopbackHost(config.host) && config.trustProxy === false && config.publicBaseUrl !== undefined) {
    warnings.push(
      'PHOTOCHANGER_HOST is a loopback address (a reverse proxy in front?) but PHOTOCHANGER_TRUST_PROXY is unset: every client looks like 127.0.0.1 to the password throttling; behind nginx on this machine set PHOTOCHANGER_TRUST_PROXY=loopback',
    );
  }
  if (typeof config.trustProxy === 'number' && !isLoopbackHost(config.host)) {
    warnings.push(
      `PHOTOCHANGER_TRUST_PROXY=${config.trustProxy} trusts X-Forwarded-For from any address while the server listens on ${config.host}: a client that connects directly can choose its own address; name the proxy (loopback or its address) instead`,
    );
  }
  for (const w of warnings) options.warn?.(w);
  return config;
}

function parseTrustProxy(text: string | undefined, problems: string[]): boolean | number | string[] {
  if (text === undefined || text === 'false') return false;
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const list = parseAddressEntries(text);
  if (!list || list.length === 0) {
    problems.push(
      `PHOTOCHANGER_TRUST_PROXY=${JSON.stringify(text)} must be loopback, addresses/CIDRs separated by commas, or a number of hops`,
    );
    return false;
  }
  return list;
}

/** 32-byte key from hex or base64 text, or undefined when it is neither. */
export function decodeSecretKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b = Buffer.from(text, 'base64');
  return b.length === 32 ? b : undefined;
}
