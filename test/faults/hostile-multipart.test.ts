import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, postIngest } from '../support/http.js';
import { listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** Sends raw bytes, reads until the server closes (or 3 s pass), returns the status (0: none). */
function exchange(url: string, bytes: Buffer, endAfterWrite = false): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let data = '';
    const done = () => {
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.setTimeout(3000, done);
    socket.on('connect', () => {
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    socket.on('data', (d) => {
      data += d.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

function request(head: string, body: Buffer | string = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return Buffer.concat([Buffer.from(head.replace('{LEN}', String(b.length)), 'latin1'), b]);
}

describe('hostile and malformed multipart input', () => {
  let server: TestServer;
  let photo: Buffer;

  beforeAll(async () => {
    server = await startTestServer();
    photo = await jpegBytes(64, 48);
  });
  afterAll(() => server.close());

  it('answers every one of 36 hostile requests with a 4xx, stays healthy and keeps nothing', async () => {
    const B = 'XyZ';
    const ct = `multipart/form-data; boundary=${B}`;
    const post = (headers: string, body: Buffer | string) =>
      request(
        `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${headers}\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n`,
        body,
      );
    const field = (name: string, value: string) =>
      `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const file = (name: string, filename: string, bytes: Buffer) =>
      Buffer.concat([
        Buffer.from(
          `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`,
        ),
        bytes,
        Buffer.from('\r\n'),
      ]);
    const end = `--${B}--\r\n`;
    const good = (extra = '') =>
      Buffer.concat([
        Buffer.from(field('password', TEST_INGEST_PASSWORD) + extra),
        file('fileToUpload', 'a.jpg', photo),
        Buffer.from(end),
      ]);
    const cases: Array<[string, Buffer]> = [
      ['no boundary', post('multipart/form-data', good())],
      ['boundary mismatch', post('multipart/form-data; boundary=other', good())],
      ['empty body', post(ct, '')],
      ['only the closing boundary', post(ct, end)],
      ['no closing boundary', post(ct, good().subarray(0, good().length - end.length))],
      ['garbage', post(ct, Buffer.alloc(5000, 0x41))],
      ['binary noise', post(ct, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)))],
      ['part without headers', post(ct, `--${B}\r\n\r\nhello\r\n${end}`)],
      ['part without a name', post(ct, `--${B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n${end}`)],
      [
        'header line without colon',
        post(ct, `--${B}\r\nContent-Disposition form-data; name="password"\r\n\r\nx\r\n${end}`),
      ],
      ['missing file', post(ct, field('password', TEST_INGEST_PASSWORD) + end)],
      ['missing password', post(ct, Buffer.concat([file('fileToUpload', 'a.jpg', photo), Buffer.from(end)]))],
      [
        'wrong password',
        post(
          ct,
          Buffer.concat([
            Buffer.from(field('password', 'nope')),
            file('fileToUpload', 'a.jpg', photo),
            Buffer.from(end),
          ]),
        ),
      ],
      [
        'empty file',
        post(
          ct,
          Buffer.concat([
            Buffer.from(field('password', TEST_INGEST_PASSWORD)),
            file('fileToUpload', 'a.jpg', Buffer.alloc(0)),
            Buffer.from(end),
          ]),
        ),
      ],
      [
        'text as jpeg',
        post(
          ct,
          Buffer.concat([
            Buffer.from(field('password', TEST_INGEST_PASSWORD)),
            file('fileToUpload', 'a.jpg', Buffer.from('<?php system($_GET[1]); ?>')),
            Buffer.from(end),
          ]),
        ),
      ],
      [
        'path traversal name',
        post(
          ct,
          Buffer.concat([
            Buffer.from(field('password', TEST_INGEST_PASSWORD)),
            file('fileToUpload', '../../../../etc/passwd', Buffer.from('root:x:0:0')),
            Buffer.from(end),
          ]),
        ),
      ],
      [
        'NUL in file name',
        post(
          ct,
          Buffer.concat([
            Buffer.from(field('password', TEST_INGEST_PASSWORD)),
            file('fileToUpload', 'a\u0000.jpg', Buffer.from('x')),
            Buffer.from(end),
          ]),
        ),
      ],
      ['300 fields', post(ct, Array.from({ length: 300 }, (_, i) => field(`f${i}`, 'v')).join('') + end)],
      ['huge field', post(ct, field('note', 'x'.repeat(200 * 1024)) + end)],
      ['huge field name', post(ct, field('n'.repeat(5000), 'v') + end)],
      ['__proto__ field', post(ct, field('__proto__', 'polluted') + field('password', 'nope') + end)],
      [
        '11 files',
        post(
          ct,
          Buffer.concat([
            ...Array.from({ length: 11 }, () => file('f', 'x.txt', Buffer.from('abc'))),
            Buffer.from(end),
          ]),
        ),
      ],
      ['truncated mid-file', post(ct, good()).subarray(0, 400)],
      [
        'content-length larger than body',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: 999999\r\nConnection: close\r\n\r\n`,
          good(),
        ),
      ],
      [
        'negative content-length',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: -5\r\n\r\n`,
          good(),
        ),
      ],
      [
        'two content-lengths',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n`,
          good(),
        ),
      ],
      [
        'content-length and chunked',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n`,
          '0\r\n\r\n',
        ),
      ],
      [
        'bad chunked encoding',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
          'zz\r\nhello\r\n0\r\n\r\n',
        ),
      ],
      [
        'json body',
        request(
          'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n',
          '{"password":"x"}',
        ),
      ],
      [
        'urlencoded body',
        request(
          'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n',
          'password=x&fileToUpload=y',
        ),
      ],
      [
        'no content-type',
        request(
          'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n',
          good(),
        ),
      ],
      [
        'slot path traversal',
        request(
          `POST /ingest/..%2F..%2Fetc HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n`,
          good(),
        ),
      ],
      [
        'overlong slot id',
        request(
          `POST /ingest/${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n`,
          good(),
        ),
      ],
      ['invalid request line', Buffer.from('POST /ingest/slot-001 HTTP/9.9 extra\r\n\r\n')],
      [
        'header injection',
        Buffer.from(`POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\nContent-Length: 0\r\n\r\n`),
      ],
      [
        'oversized headers',
        request(
          `POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\nContent-Type: ${ct}\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n`,
          good(),
        ),
      ],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const outcomes: Record<string, number> = {};
    // Bodies shorter than their Content-Length: the client hangs up after sending them.
    const hangsUp = new Set(['truncated mid-file', 'content-length larger than body']);
    for (const [name, bytes] of cases) outcomes[name] = await exchange(server.url, bytes, hangsUp.has(name));
    for (const [name, status] of Object.entries(outcomes)) {
      expect(status, `${name} answered ${status}`).toBeGreaterThanOrEqual(400);
      expect(status, `${name} answered ${status}`).toBeLessThan(500);
    }
    // Healthy: a real booth request still works, and nothing was left behind.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
      200,
    );
    expect(await listFiles(path.join(server.mediaRoot, 'payloads'))).toEqual([]);
    const unfinished = await server.database.db
      .selectFrom('job')
      .select('id')
      .where('is_finalized', '=', false)
      .execute();
    expect(unfinished).toEqual([]);
    expect(server.logLines.some((l) => l.includes('"level":50') || l.includes('"level":60'))).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
