/**
 * The shared event gallery, /g/:token: the thumbnails of the slots an administrator shared (and
 * nothing else — no other slot's results, no booth fields, no job details), a page per photo with
 * download, RU/EN, server-rendered without scripts. A revoked or expired link is a kind 410 page,
 * an unknown one a 404 page. Every route is rate limited per client address.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Thumbnails } from '../gallery/thumbnails.js';
import { clientKey } from '../auth/attempts.js';
import { AppError } from '../errors.js';
import { findGalleryResult, findShareByToken, listGallery, type ShareRow } from '../gallery/statements.js';
import { GALLERY_CACHE, notModified, sendGalleryResult } from '../gallery/routes.js';
import { jobIdOfShareRef, shareRef } from '../gallery/share-refs.js';
import { thumbnailOrGone } from '../gallery/thumbnails.js';
import { shareState } from '../gallery/shares.js';
import { DownloadQuery } from '../media/send-file.js';
import { resultFileName } from '../media/storage.js';
import { durationInWords, escapeHtml, guestLanguage, guestPage, type Lang } from './layout.js';

/**
 * Requests a minute from one client address (an IPv6 client by its /64), pages, thumbnails and
 * photos counted together: one page view is 61 requests (60 thumbnails), and guests on a venue's
 * Wi-Fi share one address, so this is about 50 page views a minute for the whole venue. Thumbnails
 * are files on disk (made one at a time when missing, src/gallery/thumbnails.ts), pages one keyset
 * query: cheap enough at this rate.
 */
export const SHARE_REQUESTS_PER_MINUTE = 3000;
/** Pages (a token look-up, a keyset query, HTML) are also counted apart: 300 a minute per address. */
export const SHARE_PAGES_PER_MINUTE = 300;
const PAGE = 60;
const TOKEN = /^[A-Za-z0-9_-]{24}$/;

const TEXT = {
  ru: {
    gallery: 'Фотографии',
    photo: 'Фото',
    download: 'Скачать',
    back: 'Все фото',
    older: 'Ещё фото →',
    newest: '← К новым',
    empty: 'Здесь пока нет фотографий. Загляните чуть позже.',
    until: (left: string) => `Галерея открыта ещё ${left}.`,
    goneTitle: 'Галерея закрыта',
    goneBody: 'Срок действия этой ссылки истёк или её отозвали.',
    unknownTitle: 'Галерея не найдена',
    unknownBody: 'Проверьте ссылку или QR-код.',
    photoGone: 'Этого фото здесь нет.',
  },
  en: {
    gallery: 'Photos',
    photo: 'Photo',
    download: 'Download',
    back: 'All photos',
    older: 'More photos →',
    newest: '← Newest',
    empty: 'No photos here yet. Please look again a little later.',
    until: (left: string) => `The gallery stays open for another ${left}.`,
    goneTitle: 'This gallery is closed',
    goneBody: 'The link has expired or was revoked.',
    unknownTitle: 'Gallery not found',
    unknownBody: 'Please check the link or the QR code.',
    photoGone: 'This photo is not here.',
  },
} as const;

type Opened = { state: 'open'; share: ShareRow } | { state: 'gone' } | { state: 'unknown' };

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface ShareGalleryRouteDeps {
  clock: Clock;
  db: Db;
  thumbnails: Thumbnails;
}

export const shareGalleryRoutes: FastifyPluginAsyncTypebox<{ deps: ShareGalleryRouteDeps }> = async (app, { deps }) => {
  await app.register(rateLimit, {
    // One counter for every route below (none sets its own: a route's own limit would count apart).
    max: SHARE_REQUESTS_PER_MINUTE,
    timeWindow: 60_000,
    cache: 10_000,
    keyGenerator: (request) => clientKey(request.ip),
    errorResponseBuilder: (_request, context) => tooManyRequests(context.max, context.ttl),
  });
  // Counted after the shared budget (a stacked route limit would be skipped by the plugin).
  const pageLimit = app.createRateLimit({
    max: SHARE_PAGES_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `page|${clientKey(request.ip)}`,
  });
  const pagesPerAddress = async (request: FastifyRequest) => {
    const counted = await pageLimit(request);
    if (!counted.isAllowed && counted.isExceeded) throw tooManyRequests(counted.max, counted.ttl);
  };

  async function open(token: string): Promise<Opened> {
    if (!TOKEN.test(token)) return { state: 'unknown' };
    const share = await findShareByToken(deps.db, token);
    if (!share) return { state: 'unknown' };
    if (shareState(share, deps.clock.now()) !== 'active') return { state: 'gone' };
    return { state: 'open', share };
  }

  /** The 404/410 page of a link that does not open. */
  function closed(reply: FastifyReply, lang: Lang, opened: Opened, other: string) {
    const t = TEXT[lang];
    void reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store');
    return opened.state === 'gone'
      ? reply
          .code(410)
          .send(guestPage(lang, t.goneTitle, `<h1>${t.goneTitle}</h1><p class="muted">${t.goneBody}</p>`, other))
      : reply
          .code(404)
          .send(
            guestPage(lang, t.unknownTitle, `<h1>${t.unknownTitle}</h1><p class="muted">${t.unknownBody}</p>`, other),
          );
  }

  const Token = Type.String({ maxLength: 64 });
  const Lang = Type.Optional(Type.Union([Type.Literal('ru'), Type.Literal('en')]));

  app.get(
    '/g/:token',
    {
      onRequest: pagesPerAddress,
      schema: {
        summary: 'Shared gallery (HTML): thumbnails of the shared slots, newest first; 410 once revoked or expired',
        tags: ['public'],
        params: Type.Object({ token: Token }),
        querystring: Type.Object({ lang: Lang, cursor: Type.Optional(Type.String({ maxLength: 80 })) }),
      },
    },
    async (request, reply) => {
      const lang = guestLanguage(request);
      const t = TEXT[lang];
      const { token } = request.params;
      const here = `/g/${encodeURIComponent(token)}`;
      const other = `${here}?lang=${lang === 'ru' ? 'en' : 'ru'}`;
      const opened = await open(token);
      if (opened.state !== 'open') return closed(reply, lang, opened, other);
      const { share } = opened;
      const now = deps.clock.now();
      const before = parseShareCursor(share, request.query.cursor);
      const rows = await listGallery(deps.db, {
        slotIds: share.slot_ids,
        from: share.since,
        outcome: 'succeeded',
        before,
        limit: PAGE,
        now,
      });
      const title = share.title || t.gallery;
      const tiles = rows
        .map(
          (r) =>
            `<a href="${here}/p/${shareRef(share.ref_key, r.id)}?lang=${lang}"><img src="${here}/t/${shareRef(share.ref_key, r.id)}" alt="${t.photo} ${escapeHtml(r.finalized_at.toISOString().slice(11, 16))}" loading="lazy" width="160" height="160"></a>`,
        )
        .join('\n');
      const last = rows[rows.length - 1];
      const next =
        last && rows.length === PAGE
          ? `<a href="${here}?lang=${lang}&amp;cursor=${encodeURIComponent(`${last.finalized_at.toISOString()}~${shareRef(share.ref_key, last.id)}`)}">${t.older}</a>`
          : '';
      const first = before ? `<a href="${here}?lang=${lang}">${t.newest}</a>` : '';
      const left = durationInWords(share.expires_at.getTime() - now.getTime(), lang);
      return reply
        .type('text/html; charset=utf-8')
        .header('Cache-Control', 'no-store')
        .header('Content-Language', lang)
        .send(
          guestPage(
            lang,
            title,
            `<h1>${escapeHtml(title)}</h1>
${rows.length ? `<div class="grid">${tiles}</div>` : `<p class="muted">${t.empty}</p>`}
<div class="pager">${first}${next}</div>
<p class="muted">${t.until(left)}</p>`,
            other,
          ),
        );
    },
  );

  const PhotoParams = Type.Object({ token: Token, ref: Type.String({ maxLength: 64 }) });

  /** A result of this share, or undefined (another slot's, older than the share, expired, unknown). */
  async function photoOf(share: ShareRow, ref: string) {
    const id = jobIdOfShareRef(share.ref_key, ref);
    const row = id ? await findGalleryResult(deps.db, id, deps.clock.now(), share.slot_ids) : undefined;
    return row && row.finalized_at >= share.since ? row : undefined;
  }

  /** `<time>~<photo name>`: where the next page starts, in the share's own names (no job ids). */
  function parseShareCursor(share: ShareRow, cursor: string | undefined): { at: Date; id: string } | undefined {
    const [at, ref] = (cursor ?? '').split('~');
    const id = ref ? jobIdOfShareRef(share.ref_key, ref) : undefined;
    const date = new Date(at ?? '');
    return id && !Number.isNaN(date.getTime()) ? { at: date, id } : undefined;
  }

  app.get(
    '/g/:token/p/:ref',
    {
      onRequest: pagesPerAddress,
      schema: {
        summary: 'A photo of a shared gallery (HTML) with download',
        tags: ['public'],
        params: PhotoParams,
        querystring: Type.Object({ lang: Lang }),
      },
    },
    async (request, reply) => {
      const lang = guestLanguage(request);
      const t = TEXT[lang];
      const { token, ref } = request.params;
      const here = `/g/${encodeURIComponent(token)}`;
      const other = `${here}/p/${encodeURIComponent(ref)}?lang=${lang === 'ru' ? 'en' : 'ru'}`;
      const opened = await open(token);
      if (opened.state !== 'open') return closed(reply, lang, opened, other);
      const row = await photoOf(opened.share, ref);
      void reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Content-Language', lang);
      if (!row)
        return reply
          .code(404)
          .send(
            guestPage(
              lang,
              t.photo,
              `<h1>${t.photoGone}</h1><p><a class="button" href="${here}?lang=${lang}">${t.back}</a></p>`,
              other,
            ),
          );
      const name = resultFileName(row);
      const image = `${here}/i/${shareRef(opened.share.ref_key, row.id)}`;
      return reply.send(
        guestPage(
          lang,
          t.photo,
          `<img class="photo" src="${image}" alt="${t.photo}">
<div class="actions"><a class="button" href="${image}?download=1" download="${escapeHtml(name)}">${t.download}</a>
<a class="button secondary" href="${here}?lang=${lang}">${t.back}</a></div>`,
          other,
        ),
      );
    },
  );

  /** A photo of an open share, or 410 (the gallery is closed) / 404 (no such photo in it). */
  const sharedPhoto = async (token: string, ref: string) => {
    const opened = await open(token);
    if (opened.state === 'gone') throw new AppError('result_expired', 'This gallery is closed');
    const row = opened.state === 'open' ? await photoOf(opened.share, ref) : undefined;
    if (!row) throw new AppError('not_found');
    return row;
  };

  app.get(
    '/g/:token/t/:ref',
    { schema: { summary: 'A thumbnail of a shared gallery', tags: ['public'], params: PhotoParams } },
    async (request, reply) => {
      const row = await sharedPhoto(request.params.token, request.params.ref);
      // A result never changes under its id: the browser's copy is confirmed while the link is open.
      if (notModified(request, reply, `"t-${row.id}"`))
        return reply.header('Cache-Control', GALLERY_CACHE.shared).code(304).send();
      return reply
        .type('image/webp')
        .header('Cache-Control', GALLERY_CACHE.shared)
        .send(await thumbnailOrGone(deps, row));
    },
  );

  app.get(
    '/g/:token/i/:ref',
    {
      schema: {
        summary: 'A photo of a shared gallery; ?download=1 saves it',
        tags: ['public'],
        params: PhotoParams,
        querystring: DownloadQuery,
      },
    },
    async (request, reply) => {
      const row = await sharedPhoto(request.params.token, request.params.ref);
      if (notModified(request, reply, `"i-${row.id}"`))
        return reply.header('Cache-Control', GALLERY_CACHE.shared).code(304).send();
      return sendGalleryResult(reply, row, request.query.download !== undefined, GALLERY_CACHE.shared);
    },
  );
};

/** 429 with Retry-After, in the one error shape. */
function tooManyRequests(max: number, ttlMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError('too_many_requests', `At most ${max} requests a minute; retry in ${seconds} s`, {
    headers: { 'Retry-After': String(seconds) },
  });
}
