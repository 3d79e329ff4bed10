/**
 * POST /api/slots/:id/test-run: a photo from the admin UI through the slot exactly like a booth's
 * (same queue, deadline and provider), with the editor's unsaved settings if it sends them.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Authenticator } from '../auth/sessions.js';
import { BEARER_SECURITY, requirePermission } from '../auth/guard.js';
import type { MediaStore } from '../media/storage.js';
import type { SettingsStore } from '../settings/store.js';
import { AppError, errorResponses, slotNotFound } from '../errors.js';
import { PHOTO_MIME_TYPES } from '../media/imaging.js';
import { photoLimitBytes, photoOf, receiveUpload } from '../media/upload.js';
import { queueStatement } from '../queue/statements.js';
import type { LocalJob } from '../queue/local-job.js';
import { releaseJobFiles, submitJob, waitForOutcome, type JobServiceDeps, type ReleaseDeps } from '../queue/submit.js';
import { draftSlot, type SlotSaveDeps } from './save.js';
import { SlotId, TestRunSchema } from './schemas.js';
import { findSlot } from './statements.js';

const NO_TIMINGS = { queue_wait_ms: null, processing_ms: null, total_ms: null };

/** What the test run uses of the server's dependencies (src/deps.ts has them all). */
export interface TestRunRouteDeps extends JobServiceDeps, ReleaseDeps, SlotSaveDeps {
  auth: Authenticator;
  settings: SettingsStore;
  media: MediaStore;
}

export const slotTestRunRoutes: FastifyPluginAsyncTypebox<{ deps: TestRunRouteDeps }> = async (app, { deps }) => {
  const { db, clock, providers, media } = deps;
  const canWrite = requirePermission(deps.auth, 'slots:write');

  app.post(
    '/api/slots/:id/test-run',
    {
      onRequest: canWrite,
      schema: {
        summary: 'Send a photo through the slot exactly like a booth would (same queue, deadline and provider)',
        description:
          "multipart/form-data with the photo in `fileToUpload`, and optionally, before it, a text field `draft` with the editor's unsaved `{provider, operation, settings}` " +
          '(validated like PUT; 422 otherwise): the photo goes through those settings without saving them, so the booth keeps getting the saved ones. ' +
          'The job is marked as a test (excluded from statistics). Answers 200 with the outcome, whatever it is; 429/503 when the queue refuses it.',
        tags: ['slots'],
        security: BEARER_SECURITY,
        consumes: ['multipart/form-data'],
        params: SlotId,
        response: { 200: TestRunSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const receivedAt = clock.now();
      const saved = await queueStatement(() => findSlot(db, id));
      if (!saved) throw slotNotFound(id);
      const runtime = await queueStatement(() => deps.settings.runtime());
      const jobId = randomUUID();
      const log = request.log.child({ slot_id: id, job_id: jobId, test_run: true });
      let job: LocalJob | undefined;
      let released: Promise<void> | undefined;
      const release = () => (released ??= releaseJobFiles(deps, jobId, log));
      try {
        // The editor's unsaved settings (field `draft`, before the photo) or, without it, the saved
        // slot. The photo is received within the widest limits, then checked against the operation.
        const upload = await receiveUpload(request, {
          payloadDir: media.payloadDir(jobId),
          fileLimitBytes: deps.config.maxUploadBytes,
          acceptedMimeTypes: PHOTO_MIME_TYPES,
          passwordField: null,
        });
        const draftText = typeof upload.fields.draft === 'string' ? upload.fields.draft : undefined;
        delete upload.fields.draft;
        const resolved = draftText === undefined ? saved : await draftSlot(deps, saved, draftText);
        const operation = providers.operation(resolved.provider, resolved.operation);
        if (!operation)
          throw new AppError(
            'provider_error',
            `Slot ${id} uses ${resolved.provider}/${resolved.operation}, which this server does not provide`,
            { details: { reason: 'provider_unknown' } },
          );
        const photo = photoOf(upload, operation.acceptedMimeTypes);
        const limit = photoLimitBytes(deps.config.maxUploadBytes, resolved, operation);
        if (photo.size > limit)
          throw new AppError('payload_too_large', `The file exceeds the upload limit of ${limit} bytes`, {
            details: { limit_bytes: limit },
          });
        const submitted = await submitJob(deps, {
          jobId,
          slot: resolved,
          photo,
          payload: { release },
          metadata: {
            ...upload.fields,
            test_run_by: request.principal!.username,
            original_filename: photo.originalName,
            ...(draftText === undefined ? {} : { unsaved_settings: true }),
          },
          isTest: true,
          correlationId: request.id,
          receivedAt,
          tSyncResponseSeconds: runtime.tSyncResponseSeconds,
          log,
        }).catch((e: unknown) => {
          if (e instanceof AppError && e.code === 'sync_timeout') return e; // the upload alone used up the window
          throw e;
        });
        const outcome =
          submitted instanceof AppError
            ? { outcome: 'timeout' as const, error: submitted, timings: NO_TIMINGS }
            : await waitForOutcome(deps, (job = submitted), { log });
        log.info({ outcome: outcome.outcome, timings: outcome.timings }, 'test run finished');
        if (outcome.outcome === 'succeeded') {
          return {
            job_id: jobId,
            outcome: outcome.outcome,
            timings: outcome.timings,
            result_url: `/public/results/${jobId}`,
            result_mime: outcome.mime,
          };
        }
        const e = outcome.error;
        return {
          job_id: jobId,
          outcome: outcome.outcome,
          timings: outcome.timings,
          error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
        };
      } finally {
        await release();
        await job?.markAnswered();
      }
    },
  );
};
