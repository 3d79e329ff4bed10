/**
 * The guest's page of one photo, /r/:ref (the QR code on the print and on the job page lead here):
 * the photo, a download under its file name, the phone's share sheet, how long it stays, RU/EN.
 * An unknown link is a kind 404 page and an expired one a kind 410 page.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { PublicAddress } from '../ops/public-address.js';
import type { SettingsStore } from '../settings/store.js';
import { AppError } from '../errors.js';
import { guestLinkOf, jobIdOfGuestRef } from '../media/guest-qr.js';
import { findPublicResult } from '../media/public-results-routes.js';
import { durationInWords, escapeHtml, guestLanguage, guestPage } from './layout.js';

export { GUEST_PAGE_CSS, GUEST_PAGE_CSS_HASH } from './layout.js';

const TEXT = {
  ru: {
    title: 'Ваше фото',
    download: 'Скачать фото',
    share: 'Поделиться',
    expiresIn: (left: string) => `Фото будет доступно ещё ${left}, потом ссылка перестанет работать.`,
    expiredTitle: 'Срок хранения фото истёк',
    expiredBody: (kept: string) => `Фотографии хранятся ${kept} после съёмки. Эта ссылка больше не действует.`,
    unknownTitle: 'Фото не найдено',
    unknownBody: 'Проверьте ссылку или QR-код.',
  },
  en: {
    title: 'Your photo',
    download: 'Download the photo',
    share: 'Share',
    expiresIn: (left: string) => `The photo stays here for another ${left}; then the link stops working.`,
    expiredTitle: 'This photo has expired',
    expiredBody: (kept: string) => `Photos are kept for ${kept} after the shot. This link no longer works.`,
    unknownTitle: 'Photo not found',
    unknownBody: 'Please check the link or the QR code.',
  },
} as const;

/**
 * The share button's behaviour (the CSP allows scripts from this origin only, so it is a file):
 * the photo itself through the Web Share API where the phone can share files, else the link;
 * the button stays hidden where there is no share sheet.
 */
export const GUEST_SCRIPT = `(() => {
  const button = document.getElementById('share');
  if (!button || !navigator.share) return;
  button.hidden = false;
  const url = button.dataset.page;
  // Fetched before the tap: a share sheet must open within the tap (browsers refuse it once the
  // tap's moment has passed, e.g. after a slow download).
  let file;
  fetch(button.dataset.image).then(async (response) => {
    const type = response.headers.get('content-type') || '';
    if (!response.ok || !type.startsWith('image/')) return;
    const candidate = new File([await response.blob()], button.dataset.name, { type });
    if (navigator.canShare && navigator.canShare({ files: [candidate] })) file = candidate;
  }).catch(() => {});
  button.addEventListener('click', () => {
    const shared = file ? navigator.share({ files: [file], title: document.title }) : navigator.share({ url, title: document.title });
    shared.catch(() => {});
  });
})();
`;

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface GuestPageRouteDeps {
  clock: Clock;
  db: Db;
  publicAddress: PublicAddress;
  settings: SettingsStore;
}

export const guestPageRoutes: FastifyPluginAsyncTypebox<{ deps: GuestPageRouteDeps }> = async (app, { deps }) => {
  const Params = Type.Object({ ref: Type.String({ maxLength: 64 }) });

  app.get(
    '/r/:ref',
    {
      schema: {
        summary: 'Guest page of a result (HTML): image, download, share, time until it expires; 404/410 pages',
        description: 'The id is the job id, or its 22-character form printed in QR codes.',
        tags: ['public'],
        params: Params,
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('ru'), Type.Literal('en')])) }),
      },
    },
    async (request, reply) => {
      const ref = request.params.ref;
      const lang = guestLanguage(request);
      const t = TEXT[lang];
      const other = `/r/${encodeURIComponent(ref)}?lang=${lang === 'ru' ? 'en' : 'ru'}`;
      void reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Content-Language', lang);
      const jobId = jobIdOfGuestRef(ref);
      const now = deps.clock.now();
      const result = jobId ? await findPublicResult(deps.db, jobId, now) : ({ state: 'unknown' } as const);
      if (result.state === 'unknown')
        return reply
          .code(404)
          .send(
            guestPage(lang, t.unknownTitle, `<h1>${t.unknownTitle}</h1><p class="muted">${t.unknownBody}</p>`, other),
          );
      if (result.state === 'expired') {
        const kept = durationInWords((await deps.settings.runtime()).resultTtlSeconds * 1000, lang);
        return reply
          .code(410)
          .send(
            guestPage(
              lang,
              t.expiredTitle,
              `<h1>${t.expiredTitle}</h1><p class="muted">${t.expiredBody(kept)}</p>`,
              other,
            ),
          );
      }
      const left = durationInWords(Math.max(0, result.expiresAt.getTime() - now.getTime()), lang);
      const src = `/public/results/${jobId}`;
      const base = deps.publicAddress.base().url;
      const pageUrl = base ? guestLinkOf(base, jobId!) : `/r/${encodeURIComponent(ref)}`;
      return reply.send(
        guestPage(
          lang,
          t.title,
          `<h1>${t.title}</h1>
<img class="photo" src="${src}" alt="${t.title}">
<div class="actions">
<a class="button" href="${src}?download=1" download="${escapeHtml(result.fileName)}">${t.download}</a>
<button type="button" class="button secondary" id="share" hidden data-image="${src}" data-name="${escapeHtml(result.fileName)}" data-page="${escapeHtml(pageUrl)}">${t.share}</button>
</div>
<p class="muted"><time datetime="${result.expiresAt.toISOString()}">${t.expiresIn(left)}</time></p>`,
          other,
          '/public/guest.js',
        ),
      );
    },
  );

  app.get(
    '/public/guest.js',
    { schema: { summary: "The guest page's share button (JavaScript)", tags: ['public'] } },
    async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=3600').send(GUEST_SCRIPT),
  );

  app.get(
    '/r/:ref/qr.svg',
    { schema: { summary: 'QR code (SVG) of the guest page link', tags: ['public'], params: Params } },
    async (request, reply) => {
      const jobId = jobIdOfGuestRef(request.params.ref);
      const result = jobId ? await findPublicResult(deps.db, jobId, deps.clock.now()) : undefined;
      if (!result || result.state === 'unknown') throw new AppError('job_not_found', 'No result for this id');
      if (result.state === 'expired')
        throw new AppError('result_expired', undefined, { details: { expired_at: result.expiresAt.toISOString() } });
      // Built on the public address only: a request's Host header is the client's to choose.
      const base = deps.publicAddress.base().url;
      if (!base) throw new AppError('public_url_missing');
      const svg = await QRCode.toString(guestLinkOf(base, jobId!), {
        type: 'svg',
        margin: 1,
        errorCorrectionLevel: 'M',
      });
      return reply.type('image/svg+xml').header('Cache-Control', 'private, max-age=3600').send(svg);
    },
  );
};
