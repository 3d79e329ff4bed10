/**
 * What an operator reads when the server cannot start: the real reason and what to do, never
 * `undefined` or a bare stack trace (the stack is printed only with PHOTOCHANGER_LOG_LEVEL=debug).
 */
import type { Config } from './config.js';
import { EmbeddedDatabaseError } from './db/embedded.js';

export function fatalStartMessage(err: unknown, config?: Pick<Config, 'port' | 'host' | 'logLevel'>): string {
  const message =
    err instanceof Error ? err.message : err === undefined ? 'an unknown error (nothing was reported)' : String(err);
  let hint: string | undefined;
  if (err instanceof EmbeddedDatabaseError) hint = err.hint;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    hint = `Port ${config?.port ?? ''} is taken by another program: stop it, or set PHOTOCHANGER_PORT to a free port.`;
  else if (code === 'EACCES' && /listen/.test(message))
    hint = 'Ports below 1024 need root: use PHOTOCHANGER_PORT=8000 (and a reverse proxy for port 80/443).';
  else if (code === 'EADDRNOTAVAIL')
    hint = `PHOTOCHANGER_HOST=${config?.host ?? ''} is not an address of this machine: use 0.0.0.0 (all interfaces) or one of its addresses.`;
  else if (code === 'ENOSPC') hint = 'The disk is full: free space and start again.';
  else if (code === 'ECONNREFUSED' || /password authentication failed|does not exist/.test(message)) {
    hint ??=
      'Check PHOTOCHANGER_DATABASE_URL (host, port, user, password, database), or unset it to use the embedded PostgreSQL.';
  }
  const lines = [`PhotoChanger could not start: ${message}`];
  if (hint) lines.push(`What to do: ${hint}`);
  if (config?.logLevel === 'debug' || config?.logLevel === 'trace') lines.push(String((err as Error)?.stack ?? ''));
  return lines.join('\n');
}
