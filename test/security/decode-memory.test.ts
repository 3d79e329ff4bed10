import { getEventListeners } from 'node:events';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeBudget, decodedBytes, MIB } from '../../src/media/decode-budget.js';
import { HEAD_BYTES } from '../../src/media/upload.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/** RSS of this process (the server runs in it) in MiB. */
const rssMib = () => process.memoryUsage().rss / MIB;

describe('finding 6: decode memory is budgeted from the header, before decoding', () => {
  let server: TestServer;
  let bomb: Buffer;
  beforeAll(async () => {
    // Twelve uploads at once from the test's one address: its share of the queue is the whole cap here.
    server = await startTestServer({
      env: { PHOTOCHANGER_QUEUE_MAX_IN_FLIGHT_JOBS: '16', PHOTOCHANGER_QUEUE_SHARE_PER_ADDRESS: '16' },
    });
    // 10000×10000, 16-bit RGBA: 800 MB decoded, about 1 MB as an interlaced PNG of one colour.
    bomb = await sharp({
      create: { width: 10_000, height: 10_000, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 1 } },
    })
      .png({ progressive: true, compressionLevel: 9 })
      .toColourspace('rgb16')
      .toBuffer();
    const meta = await sharp(bomb).metadata();
    expect(decodedBytes(meta)).toBe(800_000_000);
  });
  afterAll(async () => server?.close());

  it('twelve such uploads at once: each refused with 413 in the canonical shape, nothing kept, RSS stays low', async () => {
    // The booth's password is known first (its first shot): twelve unverified passwords at once from
    // one address would be throttled as guesses (429, docs/security.md), which is not what this tests.
    expect(
      (await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes(64, 48) }))
        .status,
    ).toBe(200);
    const before = rssMib();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMib())), 20);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: bomb, fileType: 'image/png' }),
      ),
    );
    clearInterval(sampler);
    for (const a of answers) {
      expect(a.status).toBe(413);
      expect((await jsonOf(a)).error).toMatchObject({
        code: 'payload_too_large',
        details: { decoded_bytes: 800_000_000, limit_decoded_bytes: 256 * MIB },
      });
    }
    expect((await listFiles(`${server.mediaRoot}/payloads`)).filter((f) => !f.endsWith('/'))).toEqual([]);
    expect(peak - before).toBeLessThan(400);
    expect(peak).toBeLessThan(1536);
    // A normal photo still goes through.
    expect(
      (await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes(640, 480) }))
        .status,
    ).toBe(200);
  });

  it('a header longer than the bytes kept on the way in is read from the file: a huge JPEG behind 200 KB of APP segments is refused too', async () => {
    // SOI, four 50 KB APP15 segments, then the rest of a small JPEG whose frame header says 30000×30000.
    const small = await jpegBytes(64, 48);
    // Marker, then a length that counts itself and the 49 998 bytes that follow.
    const app = (n: number) => Buffer.concat([Buffer.from([0xff, 0xef, 0xc3, 0x50]), Buffer.alloc(50_000 - 2, n)]);
    const sof = small.indexOf(Buffer.from([0xff, 0xc0]));
    const patched = Buffer.from(small);
    patched.writeUInt16BE(30_000, sof + 5);
    patched.writeUInt16BE(30_000, sof + 7);
    const jpeg = Buffer.concat([patched.subarray(0, 2), app(1), app(2), app(3), app(4), patched.subarray(2)]);
    expect(jpeg.indexOf(Buffer.from([0xff, 0xc0]))).toBeGreaterThan(HEAD_BYTES);
    expect(decodedBytes(await sharp(jpeg, { limitInputPixels: false }).metadata())).toBe(30_000 * 30_000 * 3);
    const answer = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: jpeg });
    expect(answer.status).toBe(413);
    expect((await jsonOf(answer)).error).toMatchObject({
      code: 'payload_too_large',
      details: { decoded_bytes: 30_000 * 30_000 * 3 },
    });
  });

  it('decodes at once share the total budget: a decode waits for room', async () => {
    const budget = new DecodeBudget(100, 150);
    const order: string[] = [];
    let release!: () => void;
    const first = budget.run(100, () => new Promise<void>((r) => ((release = r), order.push('first started'))));
    const second = budget.run(80, async () => void order.push('second started'));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['first started']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first started', 'second started']);
    expect(() => budget.check(120)).toThrow(/limit is/);
  });

  it("a waiting decode ends with its job's signal, and keeps one abort listener however often it is woken", async () => {
    const budget = new DecodeBudget(100, 100);
    const controller = new AbortController();
    let release!: () => void;
    const holder = budget.run(50, () => new Promise<void>((r) => (release = r)));
    const waiter = budget.run(60, async () => 'ran', controller.signal);
    // Short decodes that fit beside the holder come and go; each end wakes the waiter, which waits again.
    for (let i = 0; i < 15; i++) await budget.run(50, async () => undefined);
    await new Promise((r) => setTimeout(r, 5));
    expect(getEventListeners(controller.signal, 'abort').length).toBe(1);
    controller.abort(new Error('deadline'));
    await expect(waiter).rejects.toThrow('deadline');
    release();
    await holder;
    expect(budget.inUse).toBe(0);
  });
});
