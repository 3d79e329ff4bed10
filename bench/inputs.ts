/**
 * `npm run bench:inputs` (also run by `npm run bench`): what a 24-megapixel DSLR photo costs on the
 * way to the AI — bytes on the wire per provider and model/output size, and the preparation time —
 * through the real drivers against the fake provider servers on 127.0.0.1. Baseline in the same
 * run: the photo prepared the way the drivers did before (3072 px, any output size).
 * Writes its section of docs/benchmarks.md (between the bench:inputs markers).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../src/clock.js';
import { createLogger } from '../src/logger.js';
import { createGeminiProvider } from '../src/providers/gemini/driver.js';
import { prepareInputImage } from '../src/media/imaging.js';
import { staticKeySource } from '../src/providers/keys.js';
import { createOpenAIProvider } from '../src/providers/openai/driver.js';
import type { ProviderDriver, ProviderRequest } from '../src/providers/types.js';
import { startGeminiFake } from '../test/support/fakes/gemini.js';
import { startOpenAIFake } from '../test/support/fakes/openai.js';
import { writeBenchSection } from './report.js';
import { texturedJpeg } from './support.js';

/** A 24-megapixel DSLR photo (6000×4000) with texture. */
const dslrPhoto = () => texturedJpeg(6000, 4000, { period: 977, quality: 92 });

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-inputs-'));
  const photoBytes = await dslrPhoto();
  const photoPath = path.join(dir, 'photo.jpg');
  await fs.writeFile(photoPath, photoBytes);
  const [gemini, openai] = await Promise.all([startGeminiFake(), startOpenAIFake()]);
  const log = createLogger('silent');
  const drivers: Record<string, ProviderDriver> = {
    gemini: createGeminiProvider({
      baseUrl: gemini.baseUrl,
      keys: staticKeySource({ gemini: gemini.apiKey }),
      maxConcurrency: 1,
    }),
    openai: createOpenAIProvider({
      baseUrl: openai.baseUrl,
      keys: staticKeySource({ openai: openai.apiKey }),
      maxConcurrency: 1,
    }),
  };
  const run = async (provider: 'gemini' | 'openai', settings: Record<string, unknown>) => {
    const fake = provider === 'gemini' ? gemini : openai;
    fake.requests.length = 0;
    const started = performance.now();
    const request: ProviderRequest = {
      jobId: 'bench',
      slotId: 'slot-001',
      operation: 'edit',
      settings: { prompt: 'Turn the guest into a watercolour', ...settings },
      photo: { path: photoPath, mime: 'image/jpeg', size: photoBytes.length },
      templates: [],
      signal: new AbortController().signal,
      deadline: new Date(Date.now() + 60_000),
      clock: systemClock,
      log,
      recordCall: () => undefined,
    };
    await drivers[provider]!.process(request);
    const total = performance.now() - started;
    return { bytes: fake.requests[0]!.body.length, ms: total };
  };
  const cases: Array<[string, 'gemini' | 'openai', Record<string, unknown>]> = [
    ['Gemini Nano Banana 2 Lite, 1K (default)', 'gemini', { model: 'gemini-3.1-flash-lite-image' }],
    ['Gemini Nano Banana 2.1, 1K', 'gemini', { model: 'gemini-nano-banana-2.1', image_size: '1K' }],
    ['Gemini Nano Banana 2.1, 2K', 'gemini', { model: 'gemini-nano-banana-2.1', image_size: '2K' }],
    ['Gemini Nano Banana 2.1, 4K', 'gemini', { model: 'gemini-nano-banana-2.1', image_size: '4K' }],
    ['OpenAI GPT Image 2', 'openai', { model: 'gpt-image-2', size: 'auto', quality: 'low', output_format: 'jpeg' }],
  ];
  const rows: string[] = [];
  for (const [name, provider, settings] of cases) {
    await run(provider, settings); // warm-up
    const r = await run(provider, settings);
    rows.push(`| ${name} | ${(r.bytes / 1024).toFixed(0)} | ${r.ms.toFixed(0)} |`);
  }
  const t0 = performance.now();
  const before = await prepareInputImage(
    { path: photoPath, mime: 'image/jpeg' },
    { accepted: ['image/jpeg'], maxSide: 3072, maxBytes: 14 * 1024 * 1024 },
  );
  const beforeMs = performance.now() - t0;
  const beforeWire = Math.ceil((before.bytes.length * 4) / 3);
  await Promise.all([gemini.close(), openai.close()]);
  await fs.rm(dir, { recursive: true, force: true });

  const section = [
    '<!-- bench:inputs:start (written by `npm run bench:inputs`; do not edit by hand) -->',
    '## What a 24 MP photo costs on the way to the AI (`npm run bench:inputs`)',
    '',
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}. A 6000×4000 JPEG of ${(photoBytes.length / 1024 / 1024).toFixed(1)} MB through the real drivers to the fake providers on 127.0.0.1; bytes are the request body the provider received (Gemini: JSON with base64; OpenAI: multipart). Time covers preparing the photo (decode, scale, JPEG) and the call.`,
    '',
    '| provider, model, output | request KB | prepare + call ms |',
    '|---|---|---|',
    ...rows,
    `| baseline: the photo prepared as before (3072 px for every output), base64 | ${(beforeWire / 1024).toFixed(0)} | ${beforeMs.toFixed(0)} (prepare only) |`,
    '',
    "Target: at most 450 KB to Gemini for 1K output. The photo is scaled to the model's working size for the requested output (1536 px for 1K, 2048 for 2K, 3072 for 4K), overridable per slot (`input_max_side`), and prepared once per job (retries resend the same body).",
    '<!-- bench:inputs:end -->',
  ].join('\n');
  await writeBenchSection('inputs', section);
}

await main();
