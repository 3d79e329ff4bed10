import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildApp, type App } from './app.js';
import { bootstrapAdmin } from './auth/accounts.js';
import { loadOrCreateSecret, TokenService } from './auth/tokens.js';
import { systemClock, type Clock } from './clock.js';
import { decodeSecretKey, type Config } from './config.js';
import { connectDatabase, migrateToLatest, type DatabaseHandle } from './db/database.js';
import { DATABASE_URL_FILE, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { CHANNELS, NotificationHub } from './db/notifications.js';
import type { Logger } from './logger.js';
import { removeLeftoverPayloads, runMediaCleanup, startCleanupTask, type CleanupReport } from './media/cleanup.js';
import { Metrics } from './ops/metrics.js';
import { MediaStore } from './media/storage.js';
import {
  purgeExpiredTemporaryMedia,
  createTemporaryMediaPublisher,
  type TemporaryMediaDeps,
} from './media/temporary-links.js';
import { createGeminiProvider } from './providers/gemini/driver.js';
import type { ProviderKeySource } from './providers/keys.js';
import { createLocalProvider } from './providers/local/driver.js';
import { createOpenAIProvider } from './providers/openai/driver.js';
import { createTurbotextProvider } from './providers/turbotext/driver.js';
import { TurbotextWebhookInbox } from './providers/turbotext/webhooks.js';
import { decodeBudget, MIB } from './media/decode-budget.js';
import { PublicAddress, type InterfaceLister } from './ops/public-address.js';
import { THUMBNAIL_QUIET_MS, Thumbnails } from './gallery/thumbnails.js';
import { ModelCatalog } from './providers/models.js';
import { ProviderRegistry } from './providers/registry.js';
import { migrateShutDownModels } from './slots/models.js';
import { RejectionCounter } from './stats/rejections.js';
import { BoothRequestLog } from './stats/booth-requests.js';
import { LoginGuard } from './auth/login-guard.js';
import { Authenticator } from './auth/sessions.js';
import type { ProviderDriver } from './providers/types.js';
import { JobCompletion } from './queue/completion.js';
import { QueueMaintenance } from './queue/maintenance.js';
import { WorkerPool } from './queue/workers.js';
import { countUnfinishedJobs } from './queue/statements.js';
import { IngestPasswordVerifier, setIngestPassword } from './settings/ingest-password.js';
import { StoredProviderKeys } from './settings/provider-keys.js';
import { SecretBox } from './settings/secrets.js';
import { SETTING_KEYS, SettingsStore, savedPublicAddress } from './settings/store.js';

export interface StartOptions {
  clock?: Clock;
  /** Replace the provider set (tests, benchmarks). Default: every built-in driver. */
  providers?: ProviderDriver[];
  /** Built admin UI directory (default: dist/web). */
  webRoot?: string;
  /** Print first-start credentials and the start banner here (default: stdout). Never the logger. */
  announce?: (text: string) => void;
  /** The machine's network interfaces (tests pass their own; default: os.networkInterfaces). */
  networkInterfaces?: InterfaceLister;
}

/** The first start's credentials, all in one block (each also in DATA_DIR/initial-credentials.txt). */
export function firstStartBlock(parts: readonly string[], dataDir: string): string {
  return [
    '',
    '==================== PhotoChanger first start ====================',
    ...parts,
    `${parts.length === 1 ? 'It is' : 'Both are'} also in ${path.join(dataDir, 'initial-credentials.txt')} (mode 0600): delete it once noted.`,
    '=================================================================',
    '',
  ].join('\n');
}

/** Where this installation keeps its data: what to back up (docs/operations.md, npm run backup). */
function dataLines(places: { dataDir: string; databaseDir: string | undefined; mediaRoot: string }): string[] {
  const lines = [`  Data: ${places.dataDir}  (back it up with: npm run backup)`];
  if (places.databaseDir && path.dirname(places.databaseDir) !== places.dataDir)
    lines.push(`  Its database is kept in ${places.databaseDir} (the embedded PostgreSQL's user must reach it).`);
  if (!places.mediaRoot.startsWith(places.dataDir + path.sep)) lines.push(`  Photos: ${places.mediaRoot}`);
  return lines;
}

/** How often the public address saved in Settings is read again (a change made on another instance). */
const PUBLIC_ADDRESS_REFRESH_MS = 10_000;

/**
 * What the operator reads at every start: where booths and guests reach the server (one line per
 * LAN address), or why they cannot.
 */
export function startBanner(
  config: Pick<Config, 'host'>,
  address: PublicAddress,
  places?: { dataDir: string; databaseDir: string | undefined; mediaRoot: string },
): string {
  const bases = address.baseUrls();
  const lines = ['PhotoChanger is ready.'];
  if (places) lines.push(...dataLines(places));
  if (bases.length === 0) {
    lines.push(
      `  It listens on ${config.host} only: booths and phones on other machines cannot reach it.`,
      "  Behind a reverse proxy that is right (set the proxy's address in Settings → Public address, or",
      '  PHOTOCHANGER_PUBLIC_BASE_URL); otherwise unset PHOTOCHANGER_HOST (default: all interfaces).',
      '  Until a public address is set, guest QR codes are left off the prints (each job says so).',
    );
    return lines.join('\n');
  }
  lines.push('  Booth (DSLR Remote Pro → web based post-processing, HTTP POST), slots 001–015:');
  for (const b of bases) lines.push(`    ${b}/ingest/slot-001`);
  lines.push(`  Admin: ${bases[0]}/admin/    Guests' links and QR codes: ${address.base().url}/r/…`);
  if (!address.configured()) {
    lines.push(
      '  No public address is set (Admin → Settings → Public address, or PHOTOCHANGER_PUBLIC_BASE_URL): guest links and',
      '  QR codes use this network address, which phones on mobile data cannot open.',
    );
  }
  return lines.join('\n');
}

export interface RunningServer {
  app: App;
  url: string;
  tokens: TokenService;
  providerKeys: StoredProviderKeys;
  config: Config;
  database: DatabaseHandle;
  workers: WorkerPool;
  maintenance: QueueMaintenance;
  rejections: RejectionCounter;
  /** Graceful stop: refuse new ingests, let waiting requests finish, then release everything. */
  stop(): Promise<void>;
  /** Immediate stop: abort provider calls, close sockets. */
  forceStop(): Promise<void>;
}

/**
 * Builds the real dependencies from the configuration and starts serving:
 * database (external or embedded) → migrations → first-start bootstrap → providers → workers →
 * HTTP. `main.ts` calls this; tests, the benchmark and the fault suite start the same server.
 */
export async function startServer(config: Config, log: Logger, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  decodeBudget.configure({ perImageBytes: config.decodeMaxMib * MIB, totalBytes: config.decodeBudgetMib * MIB });
  await fs.mkdir(config.dataDir, { recursive: true });
  const media = new MediaStore(config.mediaRoot);
  await media.ensureLayout();

  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'pgdata'),
      database: 'photochanger',
      log,
    });
    url = embedded.url;
    // The admin CLI finds the running database here (and only while it runs).
    await fs.writeFile(path.join(config.dataDir, DATABASE_URL_FILE), `${url}\n`, { mode: 0o600 });
  }
  const database = connectDatabase(url, { statementTimeoutMs: config.queueStatementTimeoutMs, log });
  const cleanupOnFailure: Array<() => Promise<void>> = [async () => database.close(), async () => embedded?.stop()];
  try {
    await migrateToLatest(database.db, log);
    const settings = new SettingsStore(database.db, config, clock);
    const tokens = new TokenService(await loadOrCreateSecret(config.jwtSecret, config.dataDir, 'jwt-secret'), clock);
    const announce = options.announce ?? ((t: string) => process.stdout.write(`${t}\n`));
    // The first start's credentials are kept and printed as one block right before the start banner,
    // never between the log lines of the start.
    const credentials: string[] = [];
    await bootstrapAdmin(database.db, clock, {
      given: config.bootstrapAdmin,
      dataDir: config.dataDir,
      announce: (text) => credentials.push(text),
      warn: (m) => log.warn(m),
    });
    await bootstrapIngestPassword(settings, config, (text) => credentials.push(text));

    // The public address: the environment, else Settings (read now and every PUBLIC_ADDRESS_REFRESH_MS:
    // a change saved on another instance reaches this one), else the LAN address.
    const publicAddress = new PublicAddress(config, options.networkInterfaces);
    const refreshPublicAddress = () => publicAddress.refresh(() => savedPublicAddress(settings));
    await refreshPublicAddress();
    const publicAddressTimer = setInterval(
      () => void refreshPublicAddress().catch(() => undefined),
      PUBLIC_ADDRESS_REFRESH_MS,
    );
    publicAddressTimer.unref();
    cleanupOnFailure.unshift(async () => clearInterval(publicAddressTimer));
    const mediaDeps: TemporaryMediaDeps = {
      db: database.db,
      clock,
      mediaRoot: config.mediaRoot,
      publicBaseUrl: () => publicAddress.configured()?.url,
    };
    const webhookInbox = new TurbotextWebhookInbox({ db: database.db, clock });
    const secretKey = decodeSecretKey(await loadOrCreateSecret(config.secretKey, config.dataDir, 'secret-key'));
    if (!secretKey)
      throw new Error(
        `${path.join(config.dataDir, 'secret-key')} does not hold a 32-byte key (64 hex characters or base64)`,
      );
    const keys = new StoredProviderKeys(settings, new SecretBox(secretKey), config);
    const providers = new ProviderRegistry(
      options.providers ??
        builtInProviders(
          config,
          keys,
          mediaDeps,
          webhookInbox,
          async () => (await settings.runtime()).tSyncResponseSeconds,
        ),
    );
    await migrateShutDownModels({ db: database.db, clock, log, providers });
    const models = new ModelCatalog({
      clock,
      keyFingerprint: async (provider) => {
        const key = (await keys.get(provider))?.trim();
        return key ? createHash('sha256').update(key).digest('hex').slice(0, 16) : undefined;
      },
    });
    const hub = new NotificationHub(url, log);
    await hub.start();
    cleanupOnFailure.unshift(() => hub.stop());
    const completion = new JobCompletion(database.db, hub, clock, log);
    const instanceId = randomUUID();
    const maintenance = new QueueMaintenance({ db: database.db, clock, log, instanceId });
    await maintenance.register();
    maintenance.start();
    let metrics: Metrics | undefined = undefined;
    // Background thumbnails wait while booths are being answered (a job running or awaited, or one within the last second).
    const thumbnails: Thumbnails = new Thumbnails({
      db: database.db,
      media,
      log,
      busy: (): boolean =>
        workers.busy > 0 || completion.waiting > 0 || Date.now() - completion.lastActivityAt < THUMBNAIL_QUIET_MS,
    });
    const workers = new WorkerPool({
      thumbnails,
      completion,
      db: database.db,
      hub,
      providers,
      media,
      settings,
      clock,
      log,
      workerCount: config.workerCount,
      instanceId,
      guestBase: () => publicAddress.base(),
      modelGone: (provider, settings, request) => {
        const lister = providers.models(provider);
        return lister && typeof settings.model === 'string'
          ? models.unlisted(lister, settings.model, request)
          : undefined;
      },
      onProviderWork: (provider, outcome, seconds) => metrics?.observeProviderWork(provider, outcome, seconds),
    });
    metrics = new Metrics({
      queueDepth: () => countUnfinishedJobs(database.db),
      media,
      busyWorkers: () => workers.busy,
      workerCount: config.workerCount,
    });
    workers.start();
    const purgeTemporary = async () =>
      (await purgeExpiredTemporaryMedia(mediaDeps)).links + (await webhookInbox.purgeExpired());
    const cleanupDeps = {
      db: database.db,
      clock,
      media,
      log,
      purgeTemporary,
      onReport: (r: CleanupReport) => metrics?.observeCleanup(r),
    };
    await removeLeftoverPayloads(cleanupDeps);
    const cleanup = startCleanupTask(cleanupDeps, config.cleanupIntervalSeconds);

    let shuttingDown = false;
    const rejections = new RejectionCounter({ db: database.db, clock, log });
    const loginGuard = new LoginGuard(clock);
    // An unlock on any instance (API or CLI) reaches every instance.
    hub.subscribe(CHANNELS.accountUnlocked, (username) => void loginGuard.unlock(username));
    rejections.start();
    const boothRequests = new BoothRequestLog({ db: database.db, clock, log });
    boothRequests.start();
    const app = await buildApp({
      config,
      db: database.db,
      log,
      clock,
      providers,
      hub,
      media,
      completion,
      dispatch: workers,
      settings,
      ingestPassword: new IngestPasswordVerifier(),
      instanceId,
      tokens,
      providerKeys: keys,
      models,
      publicAddress,
      thumbnails,
      rejections,
      boothRequests,
      loginGuard,
      auth: new Authenticator({ db: database.db, clock, tokens }),
      metrics,
      purgeMedia: () => runMediaCleanup(cleanupDeps),
      webhookInbox,
      isShuttingDown: () => shuttingDown,
      webRoot: options.webRoot,
    });
    const address = await app.listen({ host: config.host, port: config.port });
    const bound = app.server.address();
    if (bound && typeof bound === 'object') publicAddress.listening(bound.port);
    log.info(
      { url: address, instance_id: instanceId, embedded_database: embedded !== undefined },
      'PhotoChanger is listening',
    );
    const dataPlaces = { dataDir: config.dataDir, databaseDir: embedded?.dataDir, mediaRoot: config.mediaRoot };
    announce(
      [
        ...(credentials.length ? [firstStartBlock(credentials, config.dataDir)] : []),
        startBanner(config, publicAddress, dataPlaces),
      ].join('\n'),
    );

    /** Releases everything, in order; each step is logged (debug) so a stuck shutdown says where. */
    const release = async () => {
      const step = async (name: string, fn: () => unknown) => {
        log.debug({ step: name }, 'shutdown step');
        await fn();
      };
      clearInterval(publicAddressTimer);
      await step('cleanup', () => cleanup.stop());
      await step('rejection counts', () => rejections.stop());
      await step('booth requests', () => boothRequests.stop());
      await step('workers', () => workers.stop());
      await step('thumbnails', () => thumbnails.idle());
      await step('queue maintenance', () => maintenance.stop());
      await step('job completion', () => completion.close());
      await step('notifications', () => hub.stop());
      await step('database pool', () => database.close());
      await step('embedded database', async () => {
        if (!embedded) return;
        await fs.rm(path.join(config.dataDir, DATABASE_URL_FILE), { force: true });
        await embedded.stop();
      });
      log.debug({ step: 'done' }, 'shutdown step');
    };
    return {
      app,
      url: address,
      tokens,
      providerKeys: keys,
      config,
      database,
      workers,
      maintenance,
      rejections,
      stop: async () => {
        shuttingDown = true;
        // app.close() waits for in-flight requests; each ends by its own deadline at the latest.
        // Idle keep-alive sockets would hold it for keepAliveTimeout: close them now and as
        // requests finish.
        const closing = app.close();
        app.server.closeIdleConnections();
        const sweeper = setInterval(() => app.server.closeIdleConnections(), 250);
        try {
          await closing;
        } finally {
          clearInterval(sweeper);
        }
        await release();
      },
      forceStop: async () => {
        shuttingDown = true;
        workers.abortAll();
        app.server.closeAllConnections();
        await app.close();
        await release();
      },
    };
  } catch (err) {
    for (const c of cleanupOnFailure) await c().catch(() => undefined);
    throw err;
  }
}

/** Every provider this server ships: the offline one and the three AI services. */
export function builtInProviders(
  config: Config,
  keys: ProviderKeySource,
  mediaDeps: TemporaryMediaDeps,
  webhooks: TurbotextWebhookInbox,
  tSyncResponseSeconds: () => Promise<number>,
): ProviderDriver[] {
  const p = config.providers;
  return [
    createLocalProvider(),
    createGeminiProvider({ baseUrl: p.gemini.baseUrl, keys, maxConcurrency: p.gemini.maxConcurrency }),
    createOpenAIProvider({ baseUrl: p.openai.baseUrl, keys, maxConcurrency: p.openai.maxConcurrency }),
    createTurbotextProvider({
      baseUrl: p.turbotext.baseUrl,
      keys,
      maxConcurrency: p.turbotext.maxConcurrency,
      publisher: createTemporaryMediaPublisher(mediaDeps, tSyncResponseSeconds),
      webhooks,
    }),
  ];
}

/**
 * The ingest password on a fresh install: from PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD, or
 * generated, printed once and written to DATA_DIR/initial-credentials.txt (0600). Never logged.
 */
export async function bootstrapIngestPassword(
  settings: SettingsStore,
  config: Config,
  announce: (text: string) => void,
): Promise<void> {
  if (await settings.get(SETTING_KEYS.ingestPassword)) return;
  const given = config.bootstrapIngestPassword;
  const password = given ?? randomBytes(12).toString('base64url');
  await setIngestPassword(settings, password, 'bootstrap');
  if (given) return;
  const file = path.join(config.dataDir, 'initial-credentials.txt');
  await fs.appendFile(file, `ingest password: ${password}\n`, { mode: 0o600 });
  // One part of the first-start block (firstStartBlock), printed with the others.
  announce(
    [`Ingest password (DSLR Remote Pro "password" field): ${password}`, '  Change it in the admin UI: Settings.'].join(
      '\n',
    ),
  );
}
