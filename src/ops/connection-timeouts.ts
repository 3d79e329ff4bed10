import type http from 'node:http';
import { ERROR_CODES, errorBody } from '../errors.js';

export interface ConnectionTimes {
  /** A new connection must have sent a request's headers within this (silent or trickling). */
  silentMs: number;
  /** Idle keep-alive after an answer on any path but a booth's. */
  keepAliveMs: number;
  /** Idle keep-alive after a booth's accepted upload: booths reuse their connection between shots. */
  boothKeepAliveMs: number;
  /** A request in progress may be silent this long (the server thinking counts: T_sync ≤ 60 s). */
  busyIdleMs: number;
  /** A request body (other than the exempt uploads) must have arrived within this. */
  bodyMs: number;
  /** Requests whose bodies run under their own, finer bounds (the ingest, admin uploads). */
  ownBodyBounds: (url: string) => boolean;
  /** Requests of booths (their keep-alive is long when the answer is not a refusal). */
  isBooth: (url: string) => boolean;
}

/**
 * The time limits of every connection (docs/security.md "Connections"), on top of Node's own
 * `headersTimeout` and `requestTimeout` (checked every `connectionsCheckingInterval`):
 *  - a socket that has not sent a request is closed after `silentMs`;
 *  - while a request is in progress, it may be idle `busyIdleMs` (a booth waits for its answer);
 *  - after an answer it stays open `keepAliveMs`, or `boothKeepAliveMs` after a booth's upload
 *    that was not refused (4xx): a booth reuses its connection a minute later, a stranger does not
 *    get to hold one;
 *  - a request body must have arrived within `bodyMs` (408 `request_timeout`, connection closed),
 *    except on the routes with their own transfer bounds.
 * Node applies `server.keepAliveTimeout` when an answer finishes (its listener runs before ours),
 * and `server.timeout` from the next request on; these listeners override both per connection.
 */
export function boundConnectionTimes(server: http.Server, times: ConnectionTimes): void {
  server.on('connection', (socket) => socket.setTimeout(times.silentMs));
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    socket.setTimeout(times.busyIdleMs);
    const url = req.url ?? '';
    let bodyTimer: NodeJS.Timeout | undefined;
    if (!req.complete && !times.ownBodyBounds(url)) {
      bodyTimer = setTimeout(() => {
        if (req.complete || socket.destroyed) return;
        if (!res.headersSent) {
          const body = JSON.stringify(errorBody('request_timeout', ERROR_CODES.request_timeout.message, { seconds: times.bodyMs / 1000 }));
          socket.end(
            `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
          );
        }
        socket.destroySoon();
        setTimeout(() => socket.destroy(), 1000).unref();
      }, times.bodyMs);
      bodyTimer.unref();
      req.once('end', () => clearTimeout(bodyTimer));
    }
    res.once('close', () => clearTimeout(bodyTimer));
    res.once('finish', () => {
      if (socket.destroyed) return;
      const booth = times.isBooth(url) && (res.statusCode < 400 || res.statusCode >= 500);
      socket.setTimeout(booth ? times.boothKeepAliveMs : times.keepAliveMs);
    });
  });
}
