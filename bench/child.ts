/**
 * A server for the benchmark, in its own process (so the load generator does not share its event
 * loop). `tsx bench/child.ts baseline|photochanger`; prints one JSON line `{"url": …}` when ready.
 *
 * - baseline: a bare Fastify handler that streams the multipart file to disk and sends it back.
 * - photochanger: the real server (startServer) with the built-in providers plus `sink`, a driver
 *   that reads the photo as a stream and answers a tiny JPEG (for the 1 GB memory run).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import fastifyMultipart from '@fastify/multipart';
import Fastify from 'fastify';
import sharp from 'sharp';
import { Type } from 'typebox';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createLocalProvider } from '../src/providers/local/driver.js';
import type { ProviderDriver } from '../src/providers/types.js';
import { startServer } from '../src/server.js';

const mode = process.argv[2];
const dir = await fs.mkdtemp(path.join(os.tmpdir(), `photochanger-bench-${mode}-`));
await fs.chmod(dir, 0o755); // the embedded PostgreSQL's own user must reach var/ when run as root

if (mode === 'baseline') {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  await app.register(fastifyMultipart, { limits: { fileSize: 2 * 1024 ** 3 } });
  let n = 0;
  app.post('/upload', async (request, reply) => {
    const target = path.join(dir, `${process.pid}-${n++}.bin`);
    let mime = 'application/octet-stream';
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        mime = part.mimetype;
        await pipeline(part.file, createWriteStream(target));
      }
    }
    const bytes = await fs.readFile(target);
    await fs.rm(target);
    return reply.header('Content-Type', mime).send(bytes);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(JSON.stringify({ url }));
} else {
  const tinyJpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
    .jpeg()
    .toBuffer();
  const sink: ProviderDriver = {
    id: 'sink',
    title: 'Reads the photo, answers a tiny JPEG (benchmark only)',
    operations: [
      {
        id: 'read',
        title: 'read',
        description: 'streams the whole photo once',
        settingsSchema: Type.Object({}),
        acceptedMimeTypes: ['image/jpeg'],
        maxInputBytes: 2 * 1024 ** 3,
        templateKeys: [],
      },
    ],
    async process(request) {
      let bytes = 0;
      for await (const chunk of createReadStream(request.photo.path)) bytes += (chunk as Buffer).length;
      request.log.info({ bytes }, 'sink read the photo');
      return { bytes: tinyJpeg, mime: 'image/jpeg' };
    },
  };
  const config = loadConfig({
    ...process.env,
    PHOTOCHANGER_PORT: '0',
    PHOTOCHANGER_DATA_DIR: path.join(dir, 'var'),
    PHOTOCHANGER_MEDIA_ROOT: path.join(dir, 'media'),
    PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD: 'bench-password',
    PHOTOCHANGER_LOG_LEVEL: process.env.PHOTOCHANGER_LOG_LEVEL ?? 'warn',
  });
  const server = await startServer(config, createLogger(config.logLevel), {
    providers: [createLocalProvider(), sink],
    announce: () => undefined,
  });
  await server.database.db
    .updateTable('slot')
    .set({ provider: 'sink', operation: 'read' })
    .where('id', '=', 'slot-015')
    .execute();
  console.log(JSON.stringify({ url: server.url, databaseUrl: server.database.url, mediaRoot: config.mediaRoot }));
  process.on(
    'SIGTERM',
    () =>
      void server
        .forceStop()
        .finally(() => fs.rm(dir, { recursive: true, force: true }).finally(() => process.exit(0))),
  );
}
if (mode === 'baseline')
  process.on('SIGTERM', () => void fs.rm(dir, { recursive: true, force: true }).finally(() => process.exit(0)));
