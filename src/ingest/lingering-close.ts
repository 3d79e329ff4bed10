import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * How long a refused booth may go on sending after its answer, and how long it may pause (as
 * nginx's lingering_time and lingering_timeout). Bounded, so a stranger cannot hold a connection
 * with it: the bytes are read and dropped, never stored.
 */
export const LINGER = { totalMs: 30_000, idleMs: 5_000, graceMs: 2_000, maxSockets: 64 } as const;

/** Sockets lingering now (beyond LINGER.maxSockets a refused connection is closed at once, as before). */
let lingering = 0;

/**
 * A refusal decided in the middle of a body (401 on a password before the photo, 413 at the size
 * limit, 408, 429, 503) closes the connection (`Connection: close`). Node would destroy the socket
 * as soon as the answer is written; a booth still sending then gets a TCP reset, and a client that
 * reads only after it has sent everything (Breeze Booth reportedly hangs forever; many HTTP
 * libraries report "connection reset" and drop the answer they had received) never sees it.
 *
 * Instead, after the complete answer the socket is half-closed (FIN: the answer is final) and what
 * the client still sends is read and discarded until it stops, pauses for LINGER.idleMs, sends
 * slower than `minBytesPerSecond` after LINGER.graceMs (a booth still sending its photo is far
 * faster; a trickler is not worth holding), or LINGER.totalMs have passed; then it is closed.
 * Called from the ingest's onSend hook.
 */
export function lingerAfterRefusal(request: FastifyRequest, reply: FastifyReply, minBytesPerSecond = 0): void {
  const req = request.raw;
  const socket = req.socket as (typeof req.socket & { destroySoon?: () => void }) | null;
  if (!socket || socket.destroyed || req.complete) return;
  // Any answer before the whole body was read ends the connection (the rest is never parsed as a
  // next request), whether or not its error asked for it.
  void reply.header('Connection', 'close');
  if (lingering >= LINGER.maxSockets) return;
  // Node calls destroySoon once the answer is written (the response's last one on this connection).
  socket.destroySoon = () => {
    if (socket.destroyed) return;
    let idle: NodeJS.Timeout | undefined;
    lingering += 1;
    let counted = true;
    const close = () => {
      clearTimeout(idle);
      clearTimeout(total);
      if (counted) lingering -= 1;
      counted = false;
      socket.destroy();
    };
    const total = setTimeout(close, LINGER.totalMs);
    total.unref();
    const restartIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(close, LINGER.idleMs);
      idle.unref();
    };
    restartIdle();
    const started = performance.now();
    const startBytes = socket.bytesRead;
    const onData = () => {
      restartIdle();
      const elapsed = performance.now() - started;
      if (
        minBytesPerSecond > 0 &&
        elapsed > LINGER.graceMs &&
        (socket.bytesRead - startBytes) / (elapsed / 1000) < minBytesPerSecond
      )
        close();
    };
    // The rest of the body no longer reaches the HTTP parser (whose request may be gone, and would
    // pause the socket again): it is read here and dropped.
    socket.removeAllListeners('data');
    socket.on('data', onData);
    // The client has sent everything (or gave up): nothing is left unread, so closing sends no reset.
    socket.once('end', close);
    socket.once('close', close);
    socket.resume();
    // The HTTP parser reads from the socket's handle itself and stops it while its request is not
    // read ("consumed" mode); taken back from it, the handle may be left stopped with the stream's
    // state saying it reads. Start it as Node's net.Socket does (tryReadStart).
    const handle = (socket as unknown as { _handle?: { reading?: boolean; readStart?: () => number } | null })._handle;
    if (handle && !handle.reading && handle.readStart) {
      handle.reading = true;
      handle.readStart();
    }
    // FIN once the answer is flushed; the socket keeps reading (HTTP server sockets are half-open).
    socket.end();
  };
}
