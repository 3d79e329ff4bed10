import sharp from 'sharp';
/**
 * The machinery every fake provider server shares: a plain node:http server on 127.0.0.1 that
 * records each request (headers, raw body, parsed JSON / form / multipart parts in order), plays a
 * queue of behaviours (each request consumes one; the last one repeats), and notices when a client
 * hangs up before the answer (`aborted: true`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedPart {
  name: string;
  filename?: string;
  contentType?: string;
  size: number;
  /** Text fields. */
  value?: string;
  /** File parts. */
  data?: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json?: unknown;
  form?: Record<string, string>;
  /** Multipart parts in wire order. */
  parts?: RecordedPart[];
  /** True when the client closed the connection before the answer was complete. */
  aborted: boolean;
  receivedAt: number;
  answeredAt?: number;
  /** What the fake answered (status) or did ('dropped', 'aborted'). */
  outcome?: number | 'dropped' | 'aborted';
}

export interface FakeContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  record: RecordedRequest;
  /** Resolves after `ms`, or early (with false) when the client hung up. */
  wait(ms: number): Promise<boolean>;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  text(status: number, body: string | Buffer, contentType: string, headers?: Record<string, string>): void;
  /** Destroys the socket without an answer (a dropped connection). */
  drop(): void;
}

export type Handler = (ctx: FakeContext) => Promise<void> | void;

export interface FakeServer {
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function parseBody(req: http.IncomingMessage, body: Buffer, record: RecordedRequest): Promise<void> {
  const type = String(req.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    try {
      record.json = JSON.parse(body.toString('utf8'));
    } catch {
      record.json = undefined;
    }
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    record.form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  } else if (type.startsWith('multipart/form-data')) {
    // undici's Request parses multipart bodies; FormData keeps wire order.
    const form = await new Request('http://fake.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    }).formData();
    const parts: RecordedPart[] = [];
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') parts.push({ name, value, size: Buffer.byteLength(value) });
      else {
        const data = Buffer.from(await value.arrayBuffer());
        parts.push({ name, filename: value.name, contentType: value.type, size: data.length, data });
      }
    }
    record.parts = parts;
  }
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = req.url ?? '/';
        const record: RecordedRequest = {
          method: req.method ?? 'GET',
          url,
          path: url.split('?')[0] ?? url,
          headers: req.headers,
          body,
          aborted: false,
          receivedAt: Date.now(),
        };
        requests.push(record);
        let closedEarly = false;
        res.on('close', () => {
          if (!res.writableFinished) {
            closedEarly = true;
            record.aborted = true;
            record.outcome ??= 'aborted';
          }
        });
        const ctx: FakeContext = {
          req,
          res,
          record,
          wait: (ms) =>
            new Promise((resolve) => {
              if (closedEarly) return resolve(false);
              const timer = setTimeout(() => resolve(true), ms);
              res.once('close', () => {
                clearTimeout(timer);
                resolve(!closedEarly);
              });
            }),
          json: (status, value, headers = {}) => {
            if (closedEarly) return;
            const text = JSON.stringify(value);
            record.outcome = status;
            record.answeredAt = Date.now();
            res.writeHead(status, {
              'content-type': 'application/json; charset=utf-8',
              'content-length': Buffer.byteLength(text),
              ...headers,
            });
            res.end(text);
          },
          text: (status, value, contentType, headers = {}) => {
            if (closedEarly) return;
            record.outcome = status;
            record.answeredAt = Date.now();
            res.writeHead(status, {
              'content-type': contentType,
              'content-length': Buffer.byteLength(value),
              ...headers,
            });
            res.end(value);
          },
          drop: () => {
            record.outcome = 'dropped';
            req.socket.destroy();
          },
        };
        try {
          await parseBody(req, body, record);
          await handler(ctx);
        } catch (err) {
          if (!res.headersSent && !closedEarly)
            ctx.json(500, { error: { message: `fake failed: ${(err as Error).message}` } });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A queue of behaviours: each request takes the next one; the last one repeats forever. */
export class BehaviourQueue<B> {
  private queue: B[];
  constructor(initial: B) {
    this.queue = [initial];
  }
  set(behaviour: B | readonly B[]): void {
    const list = Array.isArray(behaviour) ? [...(behaviour as readonly B[])] : [behaviour as B];
    if (list.length === 0) throw new Error('empty behaviour list');
    this.queue = list;
  }
  next(): B {
    const b = this.queue[0] as B;
    if (this.queue.length > 1) this.queue.shift();
    return b;
  }
}

/**
 * What the fakes answer by default: real images a provider could send (1024×768, four colour
 * blocks: not blank, and large enough for any requested size up to 4K to pass the plausibility
 * check of src/providers/plausibility.ts).
 */
const resultImage = () =>
  sharp({ create: { width: 1024, height: 768, channels: 3, background: '#d04020' } }).composite([
    { input: { create: { width: 512, height: 384, channels: 3, background: '#2060c0' } }, left: 512, top: 0 },
    { input: { create: { width: 512, height: 384, channels: 3, background: '#30a050' } }, left: 0, top: 384 },
  ]);
export const RESULT_PNG = await resultImage().png({ palette: true }).toBuffer();
export const RESULT_JPEG = await resultImage().jpeg({ quality: 80 }).toBuffer();

/** Smallest valid images: 1×1 PNG and JPEG (inputs, and the drafts and broken answers a provider may send). */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
export const TINY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
