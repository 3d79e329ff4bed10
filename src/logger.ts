import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';

/** The logging surface the code uses: satisfied by pino loggers and Fastify's request loggers. */
export type Logger = FastifyBaseLogger;

/**
 * JSON logs. Secrets never reach a line: known secret keys are redacted wherever they appear,
 * and providers mask base64 payloads before logging (see providers/redact.ts).
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
    },
    destination,
  );
}
