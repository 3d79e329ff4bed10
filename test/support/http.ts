import http from 'node:http';
import net from 'node:net';
import sharp from 'sharp';

/** A small real JPEG (solid colour + noise-free), made at test time. */
export async function jpegBytes(width = 64, height = 48, color = { r: 200, g: 120, b: 40 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export interface BoothPart {
  name: string;
  value: string | Buffer;
  filename?: string;
  contentType?: string;
}

/** A multipart body exactly as DSLR Remote Pro writes one: CRLF line ends, quoted names. */
export function multipartBody(
  parts: BoothPart[],
  boundary = '----DSLRRemoteProBoundary7d9a1f',
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    head += '\r\n';
    chunks.push(
      Buffer.from(head, 'utf8'),
      Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value, 'utf8'),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Whether the server sent "100 Continue" before the final answer. */
  sawContinue: boolean;
  /** Bytes of the body the client had sent when the final answer began. */
  bodyBytesSentBeforeAnswer: number;
}

/**
 * A raw HTTP/1.1 POST over a socket, so a test controls what the booth does byte by byte:
 * `Expect: 100-continue` (the body waits for the 100, or for a final answer), partial bodies,
 * and early disconnects.
 */
export function rawPost(
  url: string,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
  options: { expectContinue?: boolean; truncateAt?: number; continueTimeoutMs?: number; localAddress?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      port: Number(u.port),
      host: u.hostname,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let buffer = Buffer.alloc(0);
    let sawContinue = false;
    let sent = 0;
    let bodyStarted = false;
    let answerSentAt = -1;
    const toSend = options.truncateAt === undefined ? body : body.subarray(0, options.truncateAt);
    const sendBody = () => {
      if (bodyStarted) return;
      bodyStarted = true;
      const chunk = 64 * 1024;
      const pump = () => {
        while (sent < toSend.length && answerSentAt < 0) {
          const piece = toSend.subarray(sent, sent + chunk);
          sent += piece.length;
          if (!socket.write(piece)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (options.truncateAt !== undefined) socket.end();
      };
      pump();
    };
    socket.on('connect', () => {
      const lines = [`POST ${path} HTTP/1.1`, `Host: ${u.host}`, `Content-Length: ${body.length}`, 'Connection: close'];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      if (options.expectContinue) lines.push('Expect: 100-continue');
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (!options.expectContinue) sendBody();
      else setTimeout(sendBody, options.continueTimeoutMs ?? 3000).unref();
    });
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      for (;;) {
        const text = buffer.toString('latin1');
        if (text.startsWith('HTTP/1.1 100')) {
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) return;
          sawContinue = true;
          buffer = buffer.subarray(end + 4);
          sendBody();
          continue;
        }
        if (answerSentAt < 0 && text.startsWith('HTTP/1.1 ')) answerSentAt = sent;
        return;
      }
    });
    socket.on('error', (err) => {
      if (buffer.length > 0) finish();
      else reject(err);
    });
    socket.on('end', finish);
    socket.on('close', finish);
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      const text = buffer.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...headerLines] = text.slice(0, headEnd).split('\r\n');
      const responseHeaders: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        responseHeaders[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let responseBody: Buffer = buffer.subarray(headEnd + 4);
      if (responseHeaders['transfer-encoding'] === 'chunked') responseBody = dechunk(responseBody);
      resolve({
        status: Number(statusLine?.split(' ')[1]),
        headers: responseHeaders,
        body: responseBody,
        sawContinue,
        bodyBytesSentBeforeAnswer: answerSentAt < 0 ? sent : answerSentAt,
      });
    }
  });
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!size) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** POST a photo the way a modern client would (fetch + FormData). */
export async function postIngest(
  baseUrl: string,
  slotId: string,
  fields: { password?: string; file?: Buffer; filename?: string; fileType?: string; extra?: Record<string, string> },
  init: { signal?: AbortSignal } = {},
): Promise<Response> {
  const form = new FormData();
  if (fields.password !== undefined) form.append('password', fields.password);
  for (const [k, v] of Object.entries(fields.extra ?? {})) form.append(k, v);
  if (fields.file)
    form.append(
      'fileToUpload',
      new Blob([new Uint8Array(fields.file)], { type: fields.fileType ?? 'image/jpeg' }),
      fields.filename ?? 'photo.jpg',
    );
  return fetch(`${baseUrl}/ingest/${slotId}`, { method: 'POST', body: form, signal: init.signal });
}

/** A response's JSON body, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function jsonOf(res: Response): Promise<any> {
  return res.json();
}

/** A login from a given source address (127.0.0.x stands for different clients). */
export function loginFromAddress(
  baseUrl: string,
  from: string,
  username: string,
  password: string,
): Promise<{
  status: number;
  body: { error?: { code: string; message: string; details?: Record<string, unknown> } };
  retryAfter?: string;
  ms: number;
}> {
  const u = new URL(baseUrl);
  const data = JSON.stringify({ username, password });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: '/api/login',
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text),
            retryAfter: res.headers['retry-after'] as string | undefined,
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
