import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import type { AppDeps } from '../app.js';
import { findPublicResult } from '../media/public-results-routes.js';
import { isUuid } from '../media/storage.js';

type Lang = 'ru' | 'en';

const TEXT = {
  ru: {
    title: 'Ваше фото',
    download: 'Скачать фото',
    expiresIn: (h: number, m: number) => `Фото доступно ещё ${h} ч ${m} мин`,
    expiredTitle: 'Срок хранения фото истёк',
    expiredBody: 'Фотографии хранятся 72 часа после съёмки. Эта ссылка больше не действует.',
    unknownTitle: 'Фото не найдено',
    unknownBody: 'Проверьте ссылку или QR-код.',
    other: 'English',
  },
  en: {
    title: 'Your photo',
    download: 'Download the photo',
    expiresIn: (h: number, m: number) => `Available for another ${h} h ${m} min`,
    expiredTitle: 'This photo has expired',
    expiredBody: 'Photos are kept for 72 hours after the shot. This link no longer works.',
    unknownTitle: 'Photo not found',
    unknownBody: 'Please check the link or the QR code.',
    other: 'Русский',
  },
} as const;

/** ?lang= wins, then the browser's Accept-Language; Russian unless English is preferred. */
export function guestLanguage(request: FastifyRequest): Lang {
  const q = (request.query as { lang?: string }).lang;
  if (q === 'ru' || q === 'en') return q;
  const accepted = String(request.headers['accept-language'] ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const qv = params.find((p) => p.trim().startsWith('q='));
      return { tag: tag ?? '', q: qv ? Number(qv.trim().slice(2)) : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const a of accepted) {
    if (a.tag.startsWith('ru')) return 'ru';
    if (a.tag.startsWith('en')) return 'en';
  }
  return 'ru';
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The guest page's styles, inline (one request on a phone); allowed by the CSP through their hash. */
export const GUEST_PAGE_CSS = `
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center; background: #111; color: #f4f4f4; }
  main { width: 100%; max-width: 720px; padding: 16px; box-sizing: border-box; text-align: center; }
  h1 { font-size: 1.4rem; margin: 12px 0 16px; }
  img { max-width: 100%; height: auto; border-radius: 8px; box-shadow: 0 4px 24px #0008; }
  .button { display: inline-block; margin: 20px 0 8px; padding: 14px 28px; border-radius: 999px; background: #ffd54a; color: #111; font-weight: 600; text-decoration: none; font-size: 1.1rem; }
  .button:focus-visible, a:focus-visible { outline: 3px solid #7cc4ff; outline-offset: 3px; }
  .muted { color: #bbb; }
  nav { margin-top: 24px; }
  nav a { color: #9cd1ff; }
`;
/** The CSP source that allows exactly GUEST_PAGE_CSS (src/security-headers.ts). */
export const GUEST_PAGE_CSS_HASH = `'sha256-${createHash('sha256').update(GUEST_PAGE_CSS).digest('base64')}'`;

function page(lang: Lang, title: string, body: string, otherHref: string): string {
  const t = TEXT[lang];
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escape(title)}</title>
<style>${GUEST_PAGE_CSS}</style>
</head>
<body>
<main>
${body}
<nav><a href="${escape(otherHref)}" hreflang="${lang === 'ru' ? 'en' : 'ru'}">${t.other}</a></nav>
</main>
</body>
</html>`;
}

/** GET /r/:jobId — the guest's page for a result: the image, a download button, time left; 410 when expired. */
export const guestPageRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/r/:jobId',
    {
      schema: {
        summary: 'Guest page of a result (HTML): image, download, time until it expires; 410 page after expiry',
        tags: ['public'],
        params: Type.Object({ jobId: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('ru'), Type.Literal('en')])) }),
      },
    },
    async (request, reply) => {
      const jobId = (request.params as { jobId: string }).jobId;
      const lang = guestLanguage(request);
      const t = TEXT[lang];
      const other = `/r/${encodeURIComponent(jobId)}?lang=${lang === 'ru' ? 'en' : 'ru'}`;
      void reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Content-Language', lang);
      const result = await findPublicResult(deps.db, jobId, deps.clock.now());
      if (result.state === 'unknown') return reply.code(404).send(page(lang, t.unknownTitle, `<h1>${t.unknownTitle}</h1><p class="muted">${t.unknownBody}</p>`, other));
      if (result.state === 'expired') return reply.code(410).send(page(lang, t.expiredTitle, `<h1>${t.expiredTitle}</h1><p class="muted">${t.expiredBody}</p>`, other));
      const left = Math.max(0, result.expiresAt.getTime() - deps.clock.now().getTime());
      const h = Math.floor(left / 3_600_000);
      const m = Math.floor((left % 3_600_000) / 60_000);
      const src = `/public/results/${jobId}`;
      const ext = result.path.split('.').pop() ?? 'jpg';
      return reply.send(
        page(
          lang,
          t.title,
          `<h1>${t.title}</h1>
<img src="${src}" alt="${t.title}">
<div><a class="button" href="${src}" download="photo-${jobId.slice(0, 8)}.${escape(ext)}">${t.download}</a></div>
<p class="muted"><time datetime="${result.expiresAt.toISOString()}">${t.expiresIn(h, m)}</time></p>`,
          other,
        ),
      );
    },
  );

  app.get(
    '/r/:jobId/qr.svg',
    {
      schema: { summary: 'QR code (SVG) of the guest page link', tags: ['public'], params: Type.Object({ jobId: Type.String({ maxLength: 64 }) }) },
    },
    async (request, reply) => {
      const jobId = (request.params as { jobId: string }).jobId;
      if (!isUuid(jobId)) return reply.code(404).type('application/json').send({ error: { code: 'job_not_found', message: 'No result for this id' } });
      // Built on the public address only: a request's Host header is the client's to choose.
      const base = deps.publicAddress.base().url;
      if (!base) throw new AppError('public_url_missing');
      const svg = await QRCode.toString(`${base}/r/${jobId}`, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      return reply.type('image/svg+xml').header('Cache-Control', 'private, max-age=3600').send(svg);
    },
  );
};
