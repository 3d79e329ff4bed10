import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { ERROR_CODES, errorBody, type ErrorCode } from '../errors.js';

/**
 * How long a booth's connection stays open after an accepted upload (booths reuse it for the next
 * shot, often a minute later), and a trusted proxy's (nginx pools its connections 60 s: longer
 * here, so nginx, not the server, ends an idle one).
 */
export const LONG_KEEP_ALIVE_SECONDS = 72;

export interface ConnectionTimes {
  /** A new connection must have sent a request's headers within this (silent or trickling). */
  silentMs: number;
  /** Keep-alive after an answer on any path but a booth's, from any client but a trusted proxy. */
  keepAliveMs: number;
  /** Keep-alive after a booth's upload that was not refused (4xx), and for trusted proxies (nginx pools its connections for 60 s). */
  longKeepAliveMs: number;
  /** A request in progress may be silent this long (the server thinking counts: T_sync ≤ 60 s). */
  busyIdleMs: number;
  /** A request body must have arrived within this; the rest of a body answered early, too. */
  bodyMs: number;
  /** Requests whose bodies run under their own, finer bounds while they are read (the ingest, admin uploads). */
  ownBodyBounds: (path: string) => boolean;
  /** Requests of booths (their keep-alive is long when the answer is not a refusal). */
  isBooth: (path: string) => boolean;
  /** Connections from trusted reverse proxies (their keep-alive is long: they reuse it for many clients). */
  isProxy: (address: string | undefined) => boolean;
}

/**
 * A complete error answer written on the socket itself (no response object, or it cannot be used),
 * then the connection closed. Status and reason phrase are the code's (src/errors.ts).
 */
export function writeRawError(socket: net.Socket, code: ErrorCode, message: string = ERROR_CODES[code].message): void {
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The response a socket is writing now (Node's own field): under pipelining, maybe another request's. */
function answerOn(socket: net.Socket): unknown {
  return (socket as unknown as { _httpMessage?: unknown })._httpMessage;
}

/** The path of a request target, also of an absolute-form one (`POST http://host/ingest/…`). */
export function requestPath(url: string | undefined): string {
  return (url ?? '').replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').split('?')[0] || '/';
}

/**
 * The time limits of every connection (docs/security.md "Connections"), on top of Node's own
 * `headersTimeout` and `requestTimeout` (checked every `connectionsCheckingInterval`):
 *  - a socket that has not sent a request is closed after `silentMs`;
 *  - while a request is in progress, it may be idle `busyIdleMs` (a booth waits for its answer);
 *  - after an answer it stays open `keepAliveMs` — `longKeepAliveMs` after a booth's upload that was
 *    not refused, and for a trusted proxy — a fixed time, not an idle one: bytes that start no
 *    request (empty lines) do not extend it;
 *  - a request body must have arrived within `bodyMs` (408 `request_timeout`, connection closed),
 *    except while the routes with their own transfer bounds read theirs; what is left of a body
 *    answered early (a refusal before the body was read) must also arrive within `bodyMs`.
 * Node emits `checkContinue` instead of `request` for `Expect: 100-continue`: both are tracked.
 */
export function boundConnectionTimes(server: Server, times: ConnectionTimes): void {
  // Each connection's pending timers, cleared when it closes: a timer must not keep a closed
  // request (and the body bytes it had buffered) alive for its whole delay.
  const idleAfterAnswer = new WeakMap<net.Socket, NodeJS.Timeout>();
  const bodyTimers = new WeakMap<net.Socket, Set<NodeJS.Timeout>>();
  server.on('connection', (socket: net.Socket) => {
    socket.setTimeout(times.silentMs);
    socket.once('close', () => {
      clearTimeout(idleAfterAnswer.get(socket));
      for (const t of bodyTimers.get(socket) ?? []) clearTimeout(t);
      bodyTimers.delete(socket);
    });
  });
  const track = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    clearTimeout(idleAfterAnswer.get(socket));
    socket.setTimeout(times.busyIdleMs);
    const path = requestPath(req.url);
    // The body's deadline: from the start for a body without its own bounds; from an early answer for every body.
    let bodyTimer: NodeJS.Timeout | undefined;
    const timers = bodyTimers.get(socket) ?? new Set<NodeJS.Timeout>();
    bodyTimers.set(socket, timers);
    const stopBodyTimer = () => {
      if (bodyTimer) timers.delete(bodyTimer);
      clearTimeout(bodyTimer);
    };
    const bodyDeadline = () => {
      if (req.complete || socket.destroyed || bodyTimer) return;
      bodyTimer = setTimeout(() => {
        stopBodyTimer();
        if (req.complete || socket.destroyed) return;
        // An answer of this request may still be written (pipelining: not over another one's).
        const current = answerOn(socket);
        if (!res.headersSent && (current === res || current === undefined || current === null))
          writeRawError(socket, 'request_timeout');
        socket.destroySoon();
        setTimeout(() => socket.destroy(), 1000).unref();
      }, times.bodyMs);
      bodyTimer.unref();
      timers.add(bodyTimer);
    };
    if (!times.ownBodyBounds(path)) bodyDeadline();
    req.once('end', stopBodyTimer);
    res.once('finish', () => {
      if (socket.destroyed) return;
      bodyDeadline();
      // Node has handed the socket to a pipelined request's answer: its own limits apply.
      const current = answerOn(socket);
      if (current && current !== res) return;
      const long =
        times.isProxy(socket.remoteAddress) || (times.isBooth(path) && (res.statusCode < 400 || res.statusCode >= 500));
      const keepAlive = long ? times.longKeepAliveMs : times.keepAliveMs;
      socket.setTimeout(keepAlive);
      const timer = setTimeout(() => socket.destroy(), keepAlive + 1000);
      timer.unref();
      idleAfterAnswer.set(socket, timer);
    });
  };
  server.prependListener('request', track);
  server.prependListener('checkContinue', track);
}
