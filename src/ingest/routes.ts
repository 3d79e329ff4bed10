import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorSchema } from '../errors.js';
import { IngestAttempt, IngestPolicy, type IngestDeps } from './attempt.js';
import { lingerAfterRefusal } from './lingering-close.js';

/** Where booths post: ours, and the one of the Python system PhotoChanger replaces. */
export const INGEST_PATHS = ['/ingest/:slotId', '/api/ingest/:slotId'] as const;

const INGEST_DESCRIPTION = `DSLR Remote Pro / Breeze "web based post-processing": a multipart/form-data upload with the photo
(\`fileToUpload\`, or \`image\` / \`file\`) and the ingest password, as the \`password\` field (before, between or
after the files) or the \`password\` query parameter (Breeze Booth sends no password field). Other text fields and
query parameters are kept as job metadata. Answers within T_sync_response with the processed image (200, the image
bytes) or a JSON error, always a complete HTTP answer. Every answer carries \`Cache-Control: no-store\`.`;

/** POST /ingest/:slotId — the booth's synchronous contract (docs/api.md). */
export const ingestRoutes: FastifyPluginAsyncTypebox<{ deps: IngestDeps }> = async (app, { deps }) => {
  const { config } = deps;
  const policy = new IngestPolicy(deps);

  // Whatever the booth sends, the route decides (a non-multipart body is a 400 invalid_request,
  // not Fastify's 415), and no body is read before the route has checked the slot.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // Every answer of the ingest, including errors raised before the handler, is not cacheable.
  // A refusal in the middle of a body is answered completely before the connection closes: the
  // booth may still be sending (src/ingest/lingering-close.ts).
  app.addHook('onSend', async (request, reply) => {
    void reply.header('Cache-Control', 'no-store');
    lingerAfterRefusal(request, reply, config.uploadMinBytesPerSecond);
  });

  // The previous system's path answers exactly the same (booths moved from it keep their URL).
  for (const url of INGEST_PATHS)
    app.post<{ Params: { slotId: string }; Querystring: Record<string, string | string[] | undefined> }>(
      url,
      {
        schema: {
          summary:
            url === '/ingest/:slotId'
              ? 'Process a booth photo (DSLR Remote Pro HTTP POST)'
              : 'The same as POST /ingest/{slotId} (the path of the system PhotoChanger replaces)',
          description: INGEST_DESCRIPTION,
          tags: ['ingest'],
          consumes: ['multipart/form-data'],
          params: Type.Object({ slotId: Type.String({ maxLength: 64 }) }),
          querystring: Type.Object(
            {
              password: Type.Optional(
                Type.String({
                  description:
                    'The ingest password, for booths that cannot send a form field (Breeze Booth); the form field wins when both are sent. Never logged.',
                }),
              ),
            },
            {
              additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]),
              description:
                'Other query parameters (Breeze URL tokens such as `style` or survey answers) are kept with the job fields.',
            },
          ),
          response: {
            200: {
              description: 'The processed image (Content-Type = its MIME); header X-Job-Id',
              content: { 'image/*': { schema: { type: 'string', format: 'binary' } } },
            },
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
            408: ErrorSchema,
            413: ErrorSchema,
            415: ErrorSchema,
            429: ErrorSchema,
            500: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
            504: ErrorSchema,
            507: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        void reply.header('Cache-Control', 'no-store');
        // admit → receive → submit → answer, around one owner of what the request holds.
        const attempt = new IngestAttempt(policy, request, reply);
        try {
          const admitted = await attempt.admit();
          const received = await attempt.receive(admitted);
          return await attempt.answer(await attempt.submit(admitted, received));
        } catch (err) {
          throw attempt.refused(err);
        } finally {
          await attempt.dispose();
        }
      },
    );
};
