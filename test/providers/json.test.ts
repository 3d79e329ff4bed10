import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64Bytes, decodeBase64Strict, parseJsonWithInlineData } from '../../src/providers/http.js';

const imageBytes = randomBytes(300_001); // 400 004 characters of base64, with one '=' of padding
const image = imageBytes.toString('base64');

/** What JSON.parse makes of the text, or undefined where it throws. */
function jsonParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The parsed value with each `data` string decoded (as the Gemini driver reads it). */
function decodedView(text: string): unknown {
  const parsed = parseJsonWithInlineData(Buffer.from(text, 'utf8'));
  if (!parsed) return undefined;
  const walk = (v: unknown, key?: string): unknown => {
    if (key === 'data' && typeof v === 'string') return parsed.decodeData(v)?.toString('hex') ?? 'undecodable';
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(parsed.value);
}

/** parseJsonWithInlineData must read every answer as JSON.parse + decodeBase64Strict would. */
function same(text: string): void {
  const parsed = jsonParse(text);
  const expected =
    parsed === undefined
      ? undefined
      : JSON.parse(JSON.stringify(parsed), (k, v: unknown) =>
          k === 'data' && typeof v === 'string' ? (decodeBase64Strict(v)?.toString('hex') ?? 'undecodable') : v,
        );
  expect(decodedView(text)).toEqual(expected);
}

describe('parseJsonWithInlineData', () => {
  it('a Gemini answer: the same object as JSON.parse, the image decoded from its bytes', () => {
    const text = JSON.stringify({
      candidates: [
        {
          content: {
            parts: [{ text: 'Вот "ваше" фото \\ ✓' }, { inlineData: { mimeType: 'image/png', data: image } }],
          },
          finishReason: 'STOP',
        },
      ],
      usageMetadata: { promptTokenCount: 1290 },
      responseId: 'abc',
    });
    same(text);
    const parsed = parseJsonWithInlineData(Buffer.from(text))!;
    const part = (parsed.value as { candidates: { content: { parts: { inlineData?: { data: string } }[] } }[] })
      .candidates[0]!.content.parts[1]!;
    expect(parsed.decodeData(part.inlineData!.data)!.equals(imageBytes)).toBe(true);
  });

  it('pretty-printed, two images, snake_case, and other large strings left as strings', () => {
    same(
      JSON.stringify({ parts: [{ inline_data: { data: image } }, { inlineData: { data: image.slice(4) } }] }, null, 2),
    );
    same(JSON.stringify({ text: 'a'.repeat(70_000), note: image, data: image }));
    same(`{"data"  :\n  "${image}"}`);
  });

  it('image data that is not one clean line of base64 is decided as before', () => {
    same(JSON.stringify({ data: `${image.slice(0, 76)}\n${image.slice(76)}` })); // line breaks: accepted by the string path
    same(JSON.stringify({ data: `${image.slice(0, 70_000)}*${image.slice(70_001)}` })); // garbage
    same(JSON.stringify({ data: `${image}A` })); // length not a multiple of four
    same(JSON.stringify({ data: 'é'.repeat(70_000) }));
    same(`{"data": "${image.slice(0, 70_000)}\\/${image.slice(70_000)}"}`); // an escape: parsed as a string
    // A raw line break inside the string: not JSON, so not an image either (JSON.parse refuses it).
    const raw = parseJsonWithInlineData(Buffer.from(`{"data": "${image.slice(0, 76)}\n${image.slice(76)}"}`));
    expect(raw!.decodeData((raw!.value as { data: string }).data)).toBeUndefined();
  });

  it('not JSON: undefined, whatever the size', () => {
    expect(parseJsonWithInlineData(Buffer.from(`{"data": "${image}"`))).toBeUndefined(); // truncated
    expect(parseJsonWithInlineData(Buffer.from(`{"data": "${image}`))).toBeUndefined(); // unterminated
    expect(parseJsonWithInlineData(Buffer.from(`{"data": "${image}",}`))).toBeUndefined();
    expect(parseJsonWithInlineData(Buffer.from('<html>502 Bad Gateway</html>'))).toBeUndefined();
    expect(parseJsonWithInlineData(Buffer.from(''))).toBeUndefined();
  });
});

describe('decodeBase64Bytes', () => {
  it('decodes what Buffer encodes, for every padding', () => {
    for (const n of [1, 2, 3, 4, 5, 6, 1000, 1001, 1002]) {
      const bytes = randomBytes(n);
      expect(decodeBase64Bytes(Buffer.from(bytes.toString('base64')))?.equals(bytes)).toBe(true);
    }
  });

  it('refuses anything but the standard alphabet in one padded line', () => {
    for (const bad of ['', 'QQ', 'QQ=', 'Q===', 'QU*D', 'QUJD\n', 'QUJD RA==', '-_-_', 'QQ==QUJD']) {
      expect(decodeBase64Bytes(Buffer.from(bad))).toBeUndefined();
    }
  });
});

describe('sendRequest and a job whose row is being inserted (ProviderRequest.ready)', () => {
  it('sends nothing before `ready`, then sends; a refused job (aborted) sends nothing at all', async () => {
    const { default: http } = await import('node:http');
    const { sendRequest } = await import('../../src/providers/http.js');
    const { systemClock } = await import('../../src/clock.js');
    let received = 0;
    const server = http.createServer((_req, res) => {
      received++;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      let admit!: () => void;
      const ready = new Promise<void>((r) => (admit = r));
      const controller = new AbortController();
      const request = { signal: controller.signal, deadline: new Date(Date.now() + 5000), clock: systemClock, ready };
      const sent = sendRequest(fetch, url, { method: 'POST', body: 'x' }, request, 'Test');
      await new Promise((r) => setTimeout(r, 50));
      expect(received).toBe(0);
      admit();
      expect((await sent).response.status).toBe(200);
      expect(received).toBe(1);

      const refused = new AbortController();
      const refusal = Promise.reject(new Error('queue_busy'));
      refusal.catch(() => refused.abort(new Error('not enqueued')));
      await expect(
        sendRequest(fetch, url, {}, { ...request, signal: refused.signal, ready: refusal }, 'Test'),
      ).rejects.toThrow('not enqueued');
      expect(received).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
