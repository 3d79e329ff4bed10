/**
 * The HTTP layer's dependencies as one plain object: built by src/server.ts (or by a test, pointed at
 * test resources) and handed by src/app.ts to every route plugin. Each plugin declares the part it
 * uses as its own interface (e.g. `SlotRouteDeps` in src/slots/routes.ts), so a reader sees what a
 * route needs, and no folder imports this file (which imports them all): scripts/check-cycles.mjs.
 */
import type { LoginGuard } from './auth/login-guard.js';
import type { Authenticator } from './auth/sessions.js';
import type { TokenService } from './auth/tokens.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './logger.js';
import type { Thumbnails } from './gallery/thumbnails.js';
import type { NotificationHub } from './db/notifications.js';
import type { CleanupReport } from './media/cleanup.js';
import type { MediaStore } from './media/storage.js';
import type { TurbotextWebhookInbox } from './providers/turbotext/webhooks.js';
import type { Metrics } from './ops/metrics.js';
import type { PublicAddress } from './ops/public-address.js';
import type { RejectionCounter } from './stats/rejections.js';
import type { BoothRequestLog } from './stats/booth-requests.js';
import type { ModelCatalog } from './providers/models.js';
import type { ProviderRegistry } from './providers/registry.js';
import type { JobCompletion } from './queue/completion.js';
import type { JobDispatcher } from './queue/workers.js';
import type { IngestPasswordVerifier } from './settings/ingest-password.js';
import type { StoredProviderKeys } from './settings/provider-keys.js';
import type { SettingsStore } from './settings/store.js';

/** Everything the HTTP layer needs, built by main.ts (or by a test, pointed at test resources). */
export interface AppDeps {
  config: Config;
  db: Db;
  log: Logger;
  clock: Clock;
  providers: ProviderRegistry;
  hub: NotificationHub;
  media: MediaStore;
  completion: JobCompletion;
  /** This process's workers: an idle one takes a new job at once (absent: jobs wait to be claimed). */
  dispatch?: JobDispatcher;
  settings: SettingsStore;
  ingestPassword: IngestPasswordVerifier;
  /** This process's id in the `instance` table; jobs it enqueues belong to it. */
  instanceId: string;
  /** Deliveries of Turbotext webhooks (any instance may receive one). */
  webhookInbox?: TurbotextWebhookInbox;
  /** Admin access tokens (login issues them, protected routes verify them). */
  tokens: TokenService;
  /** Who calls an admin route: a bearer token or the web UI's session cookie. */
  auth: Authenticator;
  /** Throttling of administrator logins per address and name. */
  loginGuard: LoginGuard;
  /** Provider API keys: stored encrypted in the settings, or from the environment. */
  providerKeys: StoredProviderKeys;
  /** The AI models each provider serves (its table and its live list for the configured key). */
  models: ModelCatalog;
  /** The address booths and guests reach this server at (links and QR codes are built on it). */
  publicAddress: PublicAddress;
  /** Gallery thumbnails: made one at a time, shared by the worker and the gallery routes. */
  thumbnails: Thumbnails;
  /** Refused booth requests, counted for the statistics. */
  rejections: RejectionCounter;
  /** Each booth's last requests (the booth check). */
  boothRequests: BoothRequestLog;
  /** One media cleanup pass now (POST /api/media/cache/purge). */
  purgeMedia: () => Promise<CleanupReport>;
  /** Prometheus metrics (GET /metrics); absent in tests that do not need them. */
  metrics?: Metrics;
  /** Built admin UI to serve at /admin/ (default: dist/web). */
  webRoot?: string;
  /** True once shutdown began: ingest answers 503 shutting_down. */
  isShuttingDown?: () => boolean;
}
