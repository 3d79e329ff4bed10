import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';

/** The logging surface the code uses: satisfied by pino loggers and Fastify's request loggers. */
export type Logger = FastifyBaseLogger;

/**
 * JSON logs. Secrets never reach a line: known secret keys are redacted wherever they appear,
 * query strings are dropped from request lines, and providers mask keys and base64 payloads
 * before logging (maskSecrets in src/providers/http.ts).
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers["x-goog-api-key"]',
  'secret',
  '*.secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level,
      base: { service: 'photochanger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // Request lines carry the path without its query string: whatever a client put there
      // (a token, a password by mistake) never reaches a log.
      serializers: {
        req: (req: {
          method?: string;
          url?: string;
          host?: string;
          hostname?: string;
          ip?: string;
          socket?: { remotePort?: number };
        }) => ({
          method: req.method,
          url: typeof req.url === 'string' ? req.url.split('?')[0] : req.url,
          host: req.host ?? req.hostname,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
