import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';

/** Where `npm run build:web` puts the admin UI (dist/web at the project root). */
export const WEB_DIST = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  ...(import.meta.url.includes('/dist/src/') ? ['..'] : []),
  'dist',
  'web',
);

/**
 * The admin web UI at /admin/ (a single-page app: unknown /admin/* paths get index.html), and
 * `/` and `/admin` redirecting to it. Hashed assets are cached for a year, index.html never. Without a build
 * the server still runs and /admin/ says how to build the UI.
 */
export const adminUiRoutes: FastifyPluginAsyncTypebox<{ root?: string }> = async (app, options) => {
  const root = options.root ?? WEB_DIST;
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/'));
  // Typed without the slash, the address still opens the UI (not a JSON 404).
  app.get('/admin', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/'));
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    app.get('/admin/*', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The admin UI is not built. Run `npm run build:web` (npm start does it when it is missing).'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/admin/',
    index: ['index.html'],
    wildcard: false,
    setHeaders: (reply, file) => {
      void reply.header(
        'Cache-Control',
        file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  const index = fs.readFileSync(path.join(root, 'index.html'));
  app.get('/admin/*', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(index),
  );
};
