/**
 * A slot's template images: upload (bound to a settings key of the slot's operation), the file or
 * a small preview, and removal (the file goes when nothing else uses it).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import sharp from 'sharp';
import { Type } from 'typebox';
import { audit } from '../auth/accounts.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import type { Authenticator } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { MediaStore } from '../media/storage.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { AppError, errorResponses, slotNotFound } from '../errors.js';
import { sanitizeFileName } from '../media/storage.js';
import { receiveUpload } from '../media/upload.js';
import { MAX_TEMPLATE_BYTES, PREVIEW_SIDE, SlotId, TEMPLATE_MIME_TYPES, TemplateSchema } from './schemas.js';
import { templateView } from './service.js';
import { bindTemplate, deleteTemplate, findSlot, findTemplate, isTemplateFileUsed } from './statements.js';
import { SLOT_ID_PATTERN } from '../schemas.js';

const TemplateParams = Type.Object({
  id: Type.String({ pattern: SLOT_ID_PATTERN }),
  templateId: Type.String({ format: 'uuid' }),
});
/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface TemplateRouteDeps {
  auth: Authenticator;
  db: Db;
  clock: Clock;
  providers: ProviderRegistry;
  media: MediaStore;
}

export const slotTemplateRoutes: FastifyPluginAsyncTypebox<{ deps: TemplateRouteDeps }> = async (app, { deps }) => {
  const { db, clock, providers, media } = deps;
  const canRead = requirePermission(deps.auth, 'slots:read');
  const canWrite = requirePermission(deps.auth, 'slots:write');

  app.post(
    '/api/slots/:id/templates',
    {
      onRequest: canWrite,
      schema: {
        summary: "Upload a template image and bind it to a settings key of the slot's operation",
        description: `multipart/form-data: a text field \`key\` (one of the operation's template_keys in GET /api/providers; optional \`provider\` and \`operation\` fields name the editor's unsaved choice, else the slot's saved one) and one image file (JPEG, PNG or WebP, decided on its bytes; at most ${MAX_TEMPLATE_BYTES} bytes). Replaces the key's previous template. Templates never expire.`,
        tags: ['slots'],
        security: BEARER_SECURITY,
        consumes: ['multipart/form-data'],
        params: SlotId,
        response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const slot = await findSlot(db, id);
      if (!slot) throw slotNotFound(id);
      const templateId = randomUUID();
      const staging = path.join(media.dir('templates'), `.upload-${templateId}`);
      try {
        const upload = await receiveUpload(request, {
          payloadDir: staging,
          fileLimitBytes: MAX_TEMPLATE_BYTES,
          acceptedMimeTypes: TEMPLATE_MIME_TYPES,
          passwordField: null,
        });
        const key = typeof upload.fields.key === 'string' ? upload.fields.key : undefined;
        // The editor's unsaved choice of provider and operation, when it sends one: a template can
        // be uploaded before the slot is saved (the worker only uses the keys of the job's operation).
        const provider = typeof upload.fields.provider === 'string' ? upload.fields.provider : slot.provider;
        const operationId = typeof upload.fields.operation === 'string' ? upload.fields.operation : slot.operation;
        const operation = providers.operation(provider, operationId);
        const keys = operation?.templateKeys.map((k) => k.key) ?? [];
        if (!key || !keys.includes(key)) {
          throw new AppError(
            'invalid_settings',
            keys.length
              ? `The field key must be one of: ${keys.join(', ')}`
              : `${provider}/${operationId} uses no template images`,
            {
              details: {
                errors: [
                  {
                    path: '/key',
                    message: keys.length ? `one of ${keys.join(', ')}` : 'this operation takes no templates',
                  },
                ],
              },
            },
          );
        }
        if (!upload.file) {
          if (upload.rejectedFile && !upload.rejectedFile.empty) {
            throw new AppError('unsupported_media_type', `The template must be ${TEMPLATE_MIME_TYPES.join(', ')}`, {
              details: { detected: upload.rejectedFile.mime ?? null, accepted: TEMPLATE_MIME_TYPES },
            });
          }
          throw new AppError('invalid_request', 'The template image file is missing or empty');
        }
        const meta = await sharp(upload.file.path)
          .metadata()
          .catch(() => {
            throw new AppError('unsupported_media_type', 'The template image cannot be decoded', {
              details: { detected: upload.file!.mime, accepted: TEMPLATE_MIME_TYPES },
            });
          });
        const target = media.templatePath(id, templateId, upload.file.mime);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.rename(upload.file.path, target);
        const sha256 = createHash('sha256')
          .update(await fs.readFile(target))
          .digest('hex');
        const row = {
          id: templateId,
          slotId: id,
          key,
          path: target,
          mime: upload.file.mime,
          size: upload.file.size,
          sha256,
          width: meta.width ?? null,
          height: meta.height ?? null,
          createdAt: clock.now(),
        };
        let replaced: string | undefined;
        try {
          replaced = await bindTemplate(db, row);
        } catch (err) {
          await fs.rm(target, { force: true });
          throw err;
        }
        if (replaced && !(await isTemplateFileUsed(db, replaced)))
          await media.removeFile(replaced).catch(() => undefined);
        await audit(db, clock, {
          actor: request.principal!.username,
          action: 'template.upload',
          target: id,
          fields: [key],
        });
        request.log.info(
          { slot_id: id, key, template_id: templateId, sanitized: sanitizeFileName(upload.file.originalName) },
          'template stored',
        );
        return reply.code(201).send(
          templateView({
            id: templateId,
            slot_id: id,
            setting_key: key,
            path: target,
            mime: row.mime,
            size: row.size,
            width: row.width,
            height: row.height,
            created_at: row.createdAt,
          }),
        );
      } finally {
        await fs.rm(staging, { recursive: true, force: true });
      }
    },
  );

  app.get(
    '/api/slots/:id/templates/:templateId',
    {
      onRequest: canRead,
      schema: {
        summary: 'A template image (or, with ?preview=1, a small JPEG preview)',
        tags: ['slots'],
        security: BEARER_SECURITY,
        params: TemplateParams,
        querystring: Type.Object({ preview: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0')])) }),
        response: {
          200: { description: 'The image', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { id, templateId } = request.params;
      const t = await findTemplate(db, id, templateId);
      if (!t)
        throw new AppError('not_found', 'No such template', { details: { slot_id: id, template_id: templateId } });
      void reply.header('Cache-Control', 'private, no-store');
      if (request.query.preview === '1') {
        const preview = await sharp(t.path)
          .rotate()
          .resize(PREVIEW_SIDE, PREVIEW_SIDE, { fit: 'inside', withoutEnlargement: true })
          .png()
          .toBuffer();
        return reply.type('image/png').send(preview as never); // bytes: the schema describes errors only
      }
      return reply
        .type(t.mime)
        .header('Content-Length', String(t.size))
        .send(createReadStream(t.path) as never);
    },
  );

  app.delete(
    '/api/slots/:id/templates/:templateId',
    {
      onRequest: canWrite,
      schema: {
        summary: 'Unbind a template (its file is deleted when nothing else uses it)',
        tags: ['slots'],
        security: BEARER_SECURITY,
        params: TemplateParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { id, templateId } = request.params;
      const removed = await deleteTemplate(db, id, templateId);
      if (!removed)
        throw new AppError('not_found', 'No such template', { details: { slot_id: id, template_id: templateId } });
      if (!(await isTemplateFileUsed(db, removed))) await media.removeFile(removed).catch(() => undefined);
      await audit(db, clock, { actor: request.principal!.username, action: 'template.delete', target: id });
      return reply.code(204).send(null);
    },
  );
};
