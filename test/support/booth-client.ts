import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A booth as the field has them: it writes its whole request whatever the server answers in the
 * meantime (many booth HTTP clients read only after they have sent everything), then reads until
 * the server closes. Over a raw socket, so a test controls the wire byte by byte: HTTP/1.0 or 1.1,
 * Content-Length or chunked, a pace, a pause, a source address on 127.0.0.0/8.
 */
export interface BoothRequest {
  url: string;
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  httpVersion?: '1.0' | '1.1';
  chunked?: boolean;
  localAddress?: string;
  /** Bytes per write, and the pause between writes (a slow booth line). */
  chunkBytes?: number;
  pauseMs?: number;
  /** Stop writing after this many body bytes and wait for `resume()` (a stalled upload). */
  holdAt?: number;
}

export interface BoothAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The answer had all the bytes its Content-Length announced (or its chunked end). */
  complete: boolean;
  /** Body bytes written before the answer's first byte arrived. */
  sentBeforeAnswer: number;
  /** Body bytes written in all (all of them, unless the server reset the connection). */
  sent: number;
  /** A socket error the booth saw (ECONNRESET, EPIPE): the server dropped it while it was sending. */
  socketError: string | undefined;
}

export interface BoothUpload {
  answer: Promise<BoothAnswer>;
  /** Body bytes written so far. */
  sent(): number;
  /** Goes on after holdAt. */
  resume(): void;
  /** Resolves once holdAt is reached. */
  held: Promise<void>;
  destroy(): void;
}

export function boothUpload(request: BoothRequest): BoothUpload {
  const u = new URL(request.url);
  // Half-open: a FIN from the server does not stop this booth's writing (it reads only at the end).
  const socket = net.connect({
    port: Number(u.port),
    host: u.hostname,
    allowHalfOpen: true,
    ...(request.localAddress ? { localAddress: request.localAddress } : {}),
  });
  let received = Buffer.alloc(0);
  let sent = 0;
  let sentBeforeAnswer = -1;
  let socketError: string | undefined;
  let resumeHold: () => void = () => undefined;
  const resumed = new Promise<void>((resolve) => (resumeHold = resolve));
  let reachedHold: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (reachedHold = resolve));
  const write = (data: Buffer | string) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve();
      if (socket.write(data)) resolve();
      else {
        const go = () => {
          socket.off('close', go);
          socket.off('drain', go);
          resolve();
        };
        socket.once('drain', go);
        socket.once('close', go);
      }
    });
  // Like an HTTP client: once everything is sent and the answer is complete, it closes.
  let sendingDone = false;
  const closeWhenAnswered = () => {
    if (sendingDone && parseAnswer(received, { sent, sentBeforeAnswer, socketError }).complete) socket.end();
  };
  socket.on('data', (d: Buffer) => {
    if (sentBeforeAnswer < 0) sentBeforeAnswer = sent;
    received = Buffer.concat([received, d]);
    closeWhenAnswered();
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socketError ??= err.code ?? err.message;
    });
    socket.on('close', () => resolve());
  });
  const sending = (async () => {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }).catch(() => undefined);
    const version = request.httpVersion ?? '1.1';
    const lines = [`POST ${request.path} HTTP/${version}`, `Host: ${u.host}`];
    if (request.chunked) lines.push('Transfer-Encoding: chunked');
    else lines.push(`Content-Length: ${request.body.length}`);
    if (version === '1.1') lines.push('Connection: close');
    for (const [k, v] of Object.entries(request.headers)) lines.push(`${k}: ${v}`);
    await write(`${lines.join('\r\n')}\r\n\r\n`);
    const step = request.chunkBytes ?? 64 * 1024;
    while (sent < request.body.length && !socket.destroyed) {
      if (request.holdAt !== undefined && sent >= request.holdAt) {
        reachedHold();
        await resumed;
        request.holdAt = undefined;
      }
      const end = Math.min(request.body.length, sent + step, request.holdAt ?? Infinity);
      const piece = request.body.subarray(sent, Math.max(end, sent + 1));
      await write(
        request.chunked
          ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
          : piece,
      );
      sent += piece.length;
      if (request.pauseMs) await sleep(request.pauseMs);
    }
    reachedHold();
    if (request.chunked) await write('0\r\n\r\n');
    sendingDone = true;
    closeWhenAnswered();
  })();
  const answer = (async () => {
    await sending;
    await closed;
    return parseAnswer(received, {
      sent,
      sentBeforeAnswer: sentBeforeAnswer < 0 ? sent : sentBeforeAnswer,
      socketError,
    });
  })();
  return { answer, sent: () => sent, resume: () => resumeHold(), held, destroy: () => socket.destroy() };
}

function parseAnswer(data: Buffer, extra: Pick<BoothAnswer, 'sent' | 'sentBeforeAnswer' | 'socketError'>): BoothAnswer {
  let buffer = data;
  // Interim answers (100 Continue) come before the final one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(buffer.toString('latin1', 0, 16))) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) break;
    buffer = buffer.subarray(end + 4);
  }
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), complete: false, ...extra };
  const [statusLine, ...headerLines] = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = buffer.subarray(headEnd + 4);
  let complete: boolean;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let offset = 0;
    complete = false;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', offset);
      if (lineEnd < 0) break;
      const size = parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        complete = true;
        break;
      }
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    complete = headers['content-length'] !== undefined && Number(headers['content-length']) === body.length;
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body, complete, ...extra };
}
