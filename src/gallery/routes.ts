/**
 * The admin gallery: recent results as thumbnails (newest first, keyset pages, by slot, time and
 * outcome), one result's image and details, a streamed ZIP export, and share links that show
 * chosen slots to guests (src/guest/share-gallery.ts) until they expire or are revoked.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { PublicAddress } from '../ops/public-address.js';
import type { SettingsStore } from '../settings/store.js';
import type { Thumbnails } from './thumbnails.js';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import { AppError, errorResponses } from '../errors.js';
import { Nullable, SLOT_ID_PATTERN } from '../schemas.js';
import { shortJobId } from '../media/guest-qr.js';
import { DownloadQuery, sendMediaFile } from '../media/send-file.js';
import { isUuid, resultFileName } from '../media/storage.js';
import { collectExport, MAX_EXPORT_ENTRIES, zipResults } from './export.js';
import {
  findGalleryResult,
  findShare,
  insertShare,
  listGallery,
  listShares,
  revokeShare,
  type GalleryRow,
  type ShareRow,
} from './statements.js';
import { newShare, shareState } from './shares.js';
import { thumbnailOrGone } from './thumbnails.js';
/** The public address guests reach, and where it comes from (src/ops/public-address.ts, read through deps). */
type PublicBase = ReturnType<PublicAddress['base']>;

const SLOT_ID = Type.String({ pattern: SLOT_ID_PATTERN });

export const GalleryItemSchema = Type.Object({
  id: Type.String(),
  slot_id: Type.String(),
  outcome: Type.String({ description: 'succeeded, or the failure reason' }),
  provider: Type.String({ description: "The slot's provider when the job was submitted" }),
  answered_by: Nullable(Type.String({ description: 'The provider whose image it is (differs after a failover)' })),
  operation: Type.String(),
  finalized_at: Type.String(),
  duration_ms: Type.Integer({ description: 'From the upload to the answer' }),
  thumb_url: Nullable(Type.String()),
  image_url: Nullable(Type.String()),
  download_url: Nullable(Type.String()),
  guest_url: Nullable(Type.String()),
  file_name: Nullable(Type.String()),
  size: Nullable(Type.Integer()),
  expires_at: Nullable(Type.String()),
  failure_message: Nullable(Type.String()),
  fields: Type.Record(Type.String(), Type.String(), {
    description: 'Text fields the booth sent (DSLR Remote Pro name, user_id…)',
  }),
});

/** A gallery item as the API shows it (no file paths). */
export function galleryItem(r: GalleryRow) {
  const ok = r.result_path !== null && r.failure_reason === null;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.metadata ?? {})) if (typeof v === 'string') fields[k] = v;
  return {
    id: r.id,
    slot_id: r.slot_id,
    outcome: r.failure_reason ?? 'succeeded',
    provider: r.provider,
    answered_by: r.answered_by,
    operation: r.operation,
    finalized_at: r.finalized_at.toISOString(),
    duration_ms: Math.max(0, r.finalized_at.getTime() - r.received_at.getTime()),
    thumb_url: ok ? `/api/gallery/${r.id}/thumb` : null,
    image_url: ok ? `/api/gallery/${r.id}/image` : null,
    download_url: ok ? `/api/gallery/${r.id}/image?download=1` : null,
    guest_url: ok ? `/r/${shortJobId(r.id)}` : null,
    file_name: ok ? resultFileName(r) : null,
    size: ok ? Number(r.result_size) : null,
    expires_at: ok ? r.result_expires_at!.toISOString() : null,
    failure_message: typeof r.failure_detail?.message === 'string' ? r.failure_detail.message : null,
    fields,
  };
}

/**
 * How long a browser may keep a gallery image: the admin gallery's never (a shared browser keeps
 * nothing after logout or a revoked permission); a shared gallery's only while the link is open
 * (revalidated at each use, so a revoked link shows nothing on reload).
 */
export const GALLERY_CACHE = { admin: 'private, no-store', shared: 'private, no-cache' } as const;

/**
 * Sets the answer's ETag and tells whether the browser already holds this version (If-None-Match):
 * then the caller answers 304 without the bytes, after its own access checks.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  void reply.header('ETag', etag);
  const given = request.headers['if-none-match'];
  return typeof given === 'string' && given.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** A gallery result's file (the admin gallery and a shared one), under its download name. */
export function sendGalleryResult(
  reply: FastifyReply,
  row: GalleryRow,
  download: boolean,
  cache: string,
): Promise<FastifyReply> {
  return sendMediaFile(
    reply,
    { path: row.result_path!, mime: row.result_mime ?? 'application/octet-stream', name: resultFileName(row) },
    { download, cache },
  );
}

/** `<finalized_at ISO>~<id>`: the position after which the next page starts. */
export function galleryCursor(r: { finalized_at: Date; id: string }): string {
  return `${r.finalized_at.toISOString()}~${r.id}`;
}

export function parseGalleryCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = cursor.split('~');
  const date = new Date(at ?? '');
  if (!id || !isUuid(id) || Number.isNaN(date.getTime()))
    throw new AppError('invalid_request', 'The cursor is not one this server gave');
  return { at: date, id };
}

const ShareSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  slot_ids: Type.Array(Type.String()),
  path: Type.String({ description: '/g/<token>: the public gallery' }),
  url: Nullable(
    Type.String({ description: 'The absolute link on the public address (null when this server knows none)' }),
  ),
  public_base_source: Type.Union([Type.Literal('configured'), Type.Literal('lan'), Type.Literal('none')], {
    description:
      "Where `url`'s address comes from: PHOTOCHANGER_PUBLIC_BASE_URL, or this machine's LAN address (guests off the venue's network cannot open it)",
  }),
  qr_url: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  created_by: Nullable(Type.String()),
  since: Type.String({ description: 'Photos taken from this moment are shown' }),
  created_at: Type.String(),
  expires_at: Type.String(),
  revoked_at: Nullable(Type.String()),
});

function shareView(s: ShareRow, base: PublicBase, now: Date) {
  return {
    id: s.id,
    title: s.title,
    slot_ids: s.slot_ids,
    path: `/g/${s.token}`,
    url: base.url ? `${base.url}/g/${s.token}` : null,
    public_base_source: base.source,
    qr_url: `/api/gallery/shares/${s.id}/qr.svg`,
    state: shareState(s, now),
    created_by: s.created_by,
    since: s.since.toISOString(),
    created_at: s.created_at.toISOString(),
    expires_at: s.expires_at.toISOString(),
    revoked_at: s.revoked_at?.toISOString() ?? null,
  };
}

/** A result the gallery still shows, or 404 job_not_found. */
async function liveResult(deps: Pick<GalleryRouteDeps, 'db' | 'clock'>, id: string): Promise<GalleryRow> {
  const row = isUuid(id) ? await findGalleryResult(deps.db, id, deps.clock.now()) : undefined;
  if (!row) throw new AppError('job_not_found', 'No live result for this id');
  return row;
}

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface GalleryRouteDeps {
  auth: Authenticator;
  clock: Clock;
  db: Db;
  publicAddress: PublicAddress;
  settings: SettingsStore;
  thumbnails: Thumbnails;
}

export const galleryRoutes: FastifyPluginAsyncTypebox<{ deps: GalleryRouteDeps }> = async (app, { deps }) => {
  const canRead = requirePermission(deps.auth, 'stats:read');
  const canShare = requirePermission(deps.auth, 'slots:write');
  const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const range = {
    slot_id: Type.Optional(
      Type.Union([SLOT_ID, Type.Array(SLOT_ID, { maxItems: 100 })], {
        description: 'One slot or several (repeat the parameter); all when absent',
      }),
    ),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  };
  const slotList = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

  app.get(
    '/api/gallery',
    {
      onRequest: canRead,
      schema: {
        summary: 'Recent results, newest first, as thumbnails (keyset pages: pass next_cursor as cursor)',
        tags: ['gallery'],
        security: BEARER_SECURITY,
        querystring: Type.Object({
          ...range,
          outcome: Type.Optional(
            Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('all')], {
              default: 'succeeded',
            }),
          ),
          cursor: Type.Optional(Type.String({ maxLength: 80 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 60 })),
        }),
        response: {
          200: Type.Object({ items: Type.Array(GalleryItemSchema), next_cursor: Nullable(Type.String()) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 60;
      const rows = await listGallery(deps.db, {
        slotIds: slotList(q.slot_id),
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        outcome: q.outcome ?? 'succeeded',
        before: parseGalleryCursor(q.cursor),
        limit,
        now: deps.clock.now(),
      });
      return {
        items: rows.map(galleryItem),
        next_cursor: rows.length === limit ? galleryCursor(rows[rows.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/api/gallery/export.zip',
    {
      onRequest: canRead,
      schema: {
        summary: 'A ZIP of the results of one slot, several or all, in a time range, streamed as it is built',
        description: `Entries are named \`20261127-201305Z_slot-003_1a2b3c4d.jpg\` (they sort by time) and stored as they are on disk. At most ${MAX_EXPORT_ENTRIES} results: 422 beyond (narrow the time range).`,
        tags: ['gallery'],
        security: BEARER_SECURITY,
        querystring: Type.Object(range),
        response: {
          200: {
            description: 'application/zip',
            content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
          },
          ...errorResponses(400, 401, 403, 422),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const now = deps.clock.now();
      const rows = await collectExport(
        deps.db,
        {
          slotIds: slotList(q.slot_id),
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
        },
        now,
      );
      if (!rows)
        throw new AppError(
          'invalid_settings',
          `More than ${MAX_EXPORT_ENTRIES} results: choose a shorter time range or fewer slots`,
          { details: { errors: [{ path: '/from', message: 'Too many results in this range' }] } },
        );
      const slots = slotList(q.slot_id);
      const name = `photochanger_${slots?.length === 1 ? slots[0] : 'all'}_${now.toISOString().slice(0, 10)}.zip`;
      return reply
        .header('Content-Type', 'application/zip')
        .header('Content-Disposition', `attachment; filename="${name}"`)
        .header('Cache-Control', 'no-store')
        .header('X-Export-Entries', String(rows.length))
        .send(zipResults(rows, request.log) as never); // a stream: the declared schema describes the OpenAPI body only
    },
  );

  app.get(
    '/api/gallery/:id/thumb',
    {
      onRequest: canRead,
      schema: {
        summary: "A result's thumbnail (WebP, at most 320 px)",
        tags: ['gallery'],
        security: BEARER_SECURITY,
        params: IdParams,
        response: errorResponses(401, 403, 404, 410),
      },
    },
    async (request, reply) => {
      const row = await liveResult(deps, request.params.id);
      const thumb = await thumbnailOrGone(deps, row);
      return reply
        .header('Cache-Control', GALLERY_CACHE.admin)
        .type('image/webp')
        .send(thumb as never);
    },
  );

  app.get(
    '/api/gallery/:id/image',
    {
      onRequest: canRead,
      schema: {
        summary: "A result's image; ?download=1 saves it under its file name",
        tags: ['gallery'],
        security: BEARER_SECURITY,
        params: IdParams,
        querystring: DownloadQuery,
        response: errorResponses(401, 403, 404, 410),
      },
    },
    async (request, reply) => {
      const row = await liveResult(deps, request.params.id);
      return sendGalleryResult(reply, row, request.query.download !== undefined, GALLERY_CACHE.admin);
    },
  );

  app.get(
    '/api/gallery/shares',
    {
      // The links are credentials for guests: shown to those who may make and revoke them.
      onRequest: canShare,
      schema: {
        summary: 'Share links of the gallery (newest first)',
        tags: ['gallery'],
        security: BEARER_SECURITY,
        response: { 200: Type.Object({ shares: Type.Array(ShareSchema) }), ...errorResponses(401, 403) },
      },
    },
    async () => {
      const now = deps.clock.now();
      const base = deps.publicAddress.base();
      return { shares: (await listShares(deps.db, now)).map((s) => shareView(s, base, now)) };
    },
  );

  app.post(
    '/api/gallery/shares',
    {
      onRequest: canShare,
      schema: {
        summary:
          "A public gallery of chosen slots' results, for guests, until it expires (at most as long as results are kept)",
        tags: ['gallery'],
        security: BEARER_SECURITY,
        body: Type.Object(
          {
            slot_ids: Type.Array(SLOT_ID, { minItems: 1, maxItems: 100, uniqueItems: true }),
            title: Type.Optional(Type.String({ maxLength: 80 })),
            expires_at: Type.Optional(
              Type.String({
                format: 'date-time',
                description: 'Default: when the results kept now would expire (the retention from now)',
              }),
            ),
            since: Type.Optional(
              Type.String({
                format: 'date-time',
                description:
                  "Photos taken from this moment are shown (not a slot's earlier events). Default: 12 hours ago",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: ShareSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const retentionMs = (await deps.settings.runtime()).resultTtlSeconds * 1000;
      const share = await newShare(deps.db, request.body, { now, retentionMs, createdBy: request.principal!.username });
      await insertShare(deps.db, share);
      await audit(deps.db, deps.clock, {
        actor: share.created_by!,
        action: 'gallery.share_created',
        target: share.id,
        fields: share.slot_ids,
      });
      return reply.code(201).send(shareView(share, deps.publicAddress.base(), now));
    },
  );

  app.delete(
    '/api/gallery/shares/:id',
    {
      onRequest: canShare,
      schema: {
        summary: 'Revokes a share link: its gallery answers 410 from now on',
        tags: ['gallery'],
        security: BEARER_SECURITY,
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id) || !(await revokeShare(deps.db, request.params.id, deps.clock.now())))
        throw new AppError('not_found', 'No such share link');
      await audit(deps.db, deps.clock, {
        actor: request.principal!.username,
        action: 'gallery.share_revoked',
        target: request.params.id,
        fields: [],
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/gallery/shares/:id/qr.svg',
    {
      onRequest: canShare,
      schema: {
        summary: 'QR code (SVG) of a share link, to print on a table card',
        tags: ['gallery'],
        security: BEARER_SECURITY,
        params: IdParams,
        response: errorResponses(401, 403, 404, 410, 503),
      },
    },
    async (request, reply) => {
      const share = isUuid(request.params.id) ? await findShare(deps.db, request.params.id) : undefined;
      if (!share) throw new AppError('not_found', 'No such share link');
      if (shareState(share, deps.clock.now()) !== 'active')
        throw new AppError('media_link_expired', 'This share link was revoked or has expired');
      const base = deps.publicAddress.base().url;
      if (!base) throw new AppError('public_url_missing');
      const svg = await QRCode.toString(`${base}/g/${share.token}`, {
        type: 'svg',
        margin: 2,
        errorCorrectionLevel: 'M',
      });
      return reply
        .type('image/svg+xml')
        .header('Cache-Control', 'private, no-store')
        .send(svg as never);
    },
  );
};
