import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { requirePermission } from './auth/guard.js';
import { authRoutes } from './auth/routes.js';
import { AppError, errorBody } from './errors.js';
import { capConnectionsPerAddress } from './ops/connection-caps.js';
import {
  boundConnectionTimes,
  LONG_KEEP_ALIVE_SECONDS,
  requestPath,
  writeRawError,
} from './ops/connection-timeouts.js';
import { AddressList } from './net/addresses.js';
import { INGEST_PATHS, ingestRoutes } from './ingest/routes.js';
import type { Logger } from './logger.js';
import { mediaPurgeRoutes } from './media/purge-routes.js';
import { publicResultRoutes } from './media/public-results-routes.js';
import { temporaryMediaRoutes } from './media/temporary-media-routes.js';
import { turbotextWebhookRoutes } from './providers/turbotext/webhook-routes.js';
import { healthRoutes } from './ops/health-routes.js';
import { providerCatalogRoutes } from './providers/catalog-routes.js';
import { parseUntrustedJson } from './json-safety.js';
import type { AppDeps } from './deps.js';
import { registerSecurityHeaders } from './security-headers.js';
import { settingsRoutes } from './settings/routes.js';
import { jobRoutes } from './jobs/routes.js';
import { slotRoutes } from './slots/routes.js';
import { slotTemplateRoutes } from './slots/templates.js';
import { slotTestRunRoutes } from './slots/test-run.js';
import { statsRoutes } from './stats/routes.js';
import { adminUiRoutes } from './guest/admin-ui-routes.js';
import { guestPageRoutes } from './guest/guest-page.js';
import { shareGalleryRoutes } from './guest/share-gallery.js';
import { galleryRoutes } from './gallery/routes.js';

export type { AppDeps } from './deps.js';

export type App = FastifyInstance<http.Server, http.IncomingMessage, http.ServerResponse, Logger, TypeBoxTypeProvider>;

const LONG_KEEP_ALIVE_MS = LONG_KEEP_ALIVE_SECONDS * 1000;
/** A request in progress may be silent this long: longer than the longest wait for an answer (T_sync ≤ 60 s). */
const BUSY_IDLE_MS = 90_000;
/** Admin uploads that stream under the upload deadline instead of the request-body timeout. */
const ADMIN_UPLOAD = /^\/api\/slots\/[^/]+\/(test-run|templates)$/;

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Ingest uploads answer `Expect: 100-continue` themselves, after the slot is known to exist (so an
 * unknown slot is refused before the body is sent). Every other route gets the usual immediate 100.
 */
function isIngestPath(path: string): boolean {
  return /^\/(api\/)?ingest\/[^/]+$/.test(path);
}

/** The process's soft limit of open files (Linux), if it can be read. */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The configured connection limit, kept 256 descriptors below the process's file limit. */
export function connectionLimit(configured: number, fileLimit = openFileLimit()): number {
  return fileLimit === undefined ? configured : Math.max(16, Math.min(configured, fileLimit - 256));
}

/** Paths of health probes: a load balancer or monitor asks every few seconds. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Fastify's request log lines, with the health probes' at debug instead of info: a monitor polling
 * /healthz every few seconds would otherwise bury the booths' lines. Failures stay at error.
 */
class ProbeQuietLogController extends LogController {
  override incomingRequest(...args: Parameters<LogController['incomingRequest']>): void {
    const [request] = args;
    if (PROBE_PATHS.has(request.routeOptions.url ?? '')) request.log.debug({ req: request }, 'incoming request');
    else super.incomingRequest(...args);
  }

  override requestCompleted(...args: Parameters<LogController['requestCompleted']>): void {
    const [error, request, reply] = args;
    if (!error && PROBE_PATHS.has(request.routeOptions.url ?? ''))
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
    else super.requestCompleted(...args);
  }
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new ProbeQuietLogController({ requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => {
      const given = req.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
    },
    // Admin JSON bodies (docs/security.md); the login and the slots set their own, the ingest and
    // uploads stream multipart under their own limits.
    bodyLimit: 64 * 1024,
    trustProxy:
      typeof deps.config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(deps.config.trustProxy)
        : deps.config.trustProxy,
    // Timeouts are set on the server below (serverFactory): Fastify ignores these with one.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: deps.config.keepAliveSeconds * 1000,
    return503OnClosing: true,
    // Router errors (a URL parameter over the length limit, a malformed URL) in the one error shape.
    frameworkErrors: (error, _request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const raw = reply as unknown as FastifyReply;
      void raw
        .code(tooLong ? 414 : 400)
        .header('Cache-Control', 'no-store')
        .send(
          tooLong
            ? errorBody('uri_too_long', 'A part of the URL is longer than allowed')
            : errorBody('invalid_request', 'Malformed URL'),
        );
    },
    // Malformed HTTP (or a body cut short) never reaches a route: answer in the one error shape.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return void socket.destroy();
      const code = (err as { code?: string }).code;
      // Node's headersTimeout / requestTimeout: the request did not arrive in time (a trickle).
      if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
        writeRawError(socket as net.Socket, 'request_timeout', 'The request did not arrive in time');
      else writeRawError(socket as net.Socket, 'invalid_request', `Malformed HTTP request: ${code ?? 'unreadable'}`);
    },
    serverFactory: (handler) => {
      const proxies = Array.isArray(deps.config.trustProxy) ? new AddressList(deps.config.trustProxy) : undefined;
      // With a serverFactory Fastify does not apply its own timeout options: set them here.
      // Node checks headersTimeout and requestTimeout every connectionsCheckingInterval.
      const server = http.createServer({ connectionsCheckingInterval: 1000 }, handler);
      server.keepAliveTimeout = deps.config.keepAliveSeconds * 1000;
      // A socket silent this long is dropped: a stalled upload must not hold a connection and a
      // payload file forever. Per connection, boundConnectionTimes sets finer limits.
      server.timeout = BUSY_IDLE_MS;
      boundConnectionTimes(server, {
        silentMs: deps.config.silentConnectionSeconds * 1000,
        keepAliveMs: deps.config.keepAliveSeconds * 1000,
        longKeepAliveMs: LONG_KEEP_ALIVE_MS,
        busyIdleMs: BUSY_IDLE_MS,
        bodyMs: deps.config.requestBodyTimeoutSeconds * 1000,
        ownBodyBounds: (path) => isIngestPath(path) || ADMIN_UPLOAD.test(path),
        isBooth: isIngestPath,
        isProxy: (address) => proxies?.has(address) === true,
      });
      // Connections beyond this are closed at once: headroom stays below the file limit for the
      // uploads being written, the database and the logs.
      server.maxConnections = connectionLimit(deps.config.maxConnections);
      // And per client address, so one address's idle sockets cannot take them all.
      capConnectionsPerAddress(server, deps.config.maxConnectionsPerAddress, proxies);
      // Slowloris on the headers: a request's headers must arrive within the silent-connection limit.
      server.headersTimeout = deps.config.silentConnectionSeconds * 1000;
      // Backstop for any request body (the ingest enforces its own, finer bounds).
      server.requestTimeout = (deps.config.uploadTimeoutSeconds + 30) * 1000;
      server.on('checkContinue', (req, res) => {
        if (!isIngestPath(requestPath(req.url))) res.writeContinue();
        handler(req, res);
      });
      return server;
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Correlation-Id', request.id);
  });

  // JSON bodies: Fastify's parser (prototype poisoning refused) behind a depth and NUL check.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      const text = String(body);
      // Fastify's default parser answers through its callback synchronously.
      const parse = (t: string): unknown => {
        let result: { err: Error | null; value: unknown } | undefined;
        defaultJson(request, t, (err, value) => (result = { err, value }));
        if (!result) throw new Error('the JSON parser did not answer');
        if (result.err) throw result.err;
        return result.value;
      };
      done(null, text.trim() === '' ? undefined : parseUntrustedJson(text, parse));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Every booth answer is measured (duration by slot and status, answers by error code).
  app.addHook('onResponse', async (request, reply) => {
    if (!deps.metrics || !(INGEST_PATHS as readonly (string | undefined)[]).includes(request.routeOptions.url)) return;
    const slotId = (request.params as { slotId?: string }).slotId ?? ''; // a hook: no route's schema types it
    deps.metrics.observeIngest(slotId, reply.statusCode, errorCodes.get(reply), reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) =>
    sendError(error, request.id, reply, request.log),
  );
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });

  await app.register(fastifyMultipart, {
    // Route handlers pass their own per-request limits to request.parts().
    limits: { fieldNameSize: 200, fieldSize: 64 * 1024, fields: 200, headerPairs: 200, parts: 300 },
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PhotoChanger API',
        version: '0.1.0',
        description:
          'Booth ingest, public results and the admin API. Every error has the shape {"error":{"code","message","details"}}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await registerSecurityHeaders(app);
  // Swagger UI's page has inline scripts: it sends its own CSP with their hashes (staticCSP).
  // The API reference is for administrators (any account): the page, its assets and /docs/json.
  // Swagger UI's own policy allows framing by 'self': replaced, not appended (the first of two wins).
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiHooks: { onRequest: requirePermission(deps.auth, null) },
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/frame-ancestors [^;]*/, "frame-ancestors 'none'"),
  });

  await app.register(healthRoutes, { deps });
  await app.register(ingestRoutes, { deps });
  await app.register(publicResultRoutes, { deps });
  await app.register(temporaryMediaRoutes, { db: deps.db, clock: deps.clock });
  if (deps.webhookInbox) await app.register(turbotextWebhookRoutes, { inbox: deps.webhookInbox });
  await app.register(authRoutes, { deps });
  await app.register(providerCatalogRoutes, { deps });
  await app.register(slotRoutes, { deps });
  await app.register(slotTemplateRoutes, { deps });
  await app.register(slotTestRunRoutes, { deps });
  await app.register(settingsRoutes, { deps });
  await app.register(mediaPurgeRoutes, { deps });
  await app.register(statsRoutes, { deps });
  await app.register(jobRoutes, { deps });
  await app.register(guestPageRoutes, { deps });
  await app.register(galleryRoutes, { deps });
  await app.register(shareGalleryRoutes, { deps });
  await app.register(adminUiRoutes, { root: deps.webRoot });

  return app;
}

/** The error code each error answer carried (for metrics). */
const errorCodes = new WeakMap<FastifyReply, string>();

/** The one place an error becomes an HTTP answer. */
/** 5xx answers that shed load a client caused, not a fault of the server. */
const SHEDDING_CODES: ReadonlySet<string> = new Set(['uploads_busy']);

export function sendError(
  error: FastifyError | AppError | Error,
  correlationId: string,
  reply: FastifyReply,
  log: Logger,
): FastifyReply {
  if (reply.sent) return reply;
  if (error instanceof AppError) {
    errorCodes.set(reply, error.code);
    if (error.headers) void reply.headers(error.headers);
    // A server's trouble is a warning; shedding a stranger's flood (uploads_busy) is not, and one
    // line per refused request would turn a flood into a log flood (the refusals are counted).
    if (error.status >= 500 && !SHEDDING_CODES.has(error.code))
      log.warn(
        { code: error.code, err: error.cause instanceof Error ? { message: error.cause.message } : undefined },
        error.message,
      );
    else if (error.status >= 500) log.debug({ code: error.code }, error.message);
    return reply.code(error.status).send(errorBody(error.code, error.message, error.details));
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    return reply.code(400).send(
      errorBody('invalid_request', fe.message, {
        validation: fe.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      }),
    );
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return reply.code(415).send(errorBody('unsupported_media_type', fe.message));
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('payload_too_large', fe.message));
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply
      .code(fe.statusCode)
      .send(errorBody(fe.statusCode === 404 ? 'not_found' : 'invalid_request', fe.message));
  }
  log.error({ err: error, correlation_id: correlationId }, 'unexpected error');
  return reply
    .code(500)
    .send(errorBody('internal_error', 'Unexpected server error', { correlation_id: correlationId }));
}
