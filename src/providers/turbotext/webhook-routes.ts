import type { FastifyPluginAsync } from 'fastify';
import type { TurbotextWebhookInbox } from './webhooks.js';

export interface TurbotextWebhookRoutesOptions {
  inbox: TurbotextWebhookInbox;
}

/** Form bodies: fields whose value is JSON text are parsed (Turbotext's final JSON may come either way). */
function parseForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const t = v.trim();
    if (t.startsWith('{') || t.startsWith('[') || t === 'true' || t === 'false') {
      try {
        out[k] = JSON.parse(t);
        continue;
      } catch {
        /* keep the text */
      }
    }
    out[k] = v;
  }
  return out;
}

/**
 * `POST /webhooks/turbotext/:token`: Turbotext's final JSON for a job in webhook mode. Always 200
 * (Turbotext needs it); unknown, late and duplicate deliveries are ignored. Encapsulated: the
 * lenient body parsers below apply to this route only.
 */
export const turbotextWebhookRoutes: FastifyPluginAsync<TurbotextWebhookRoutesOptions> = async (app, options) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    done(null, parseForm(String(body)));
  });
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    const text = String(body);
    try {
      done(null, text.trim() === '' ? null : (JSON.parse(text) as unknown));
    } catch {
      done(null, parseForm(text));
    }
  });

  app.post<{ Params: { token: string } }>(
    '/webhooks/turbotext/:token',
    { schema: { hide: true, params: { type: 'object', properties: { token: { type: 'string', maxLength: 128 } }, required: ['token'] } } },
    async (request, reply) => {
      const outcome = await options.inbox.deliver(request.params.token, request.body);
      request.log.info({ outcome }, 'Turbotext webhook delivery');
      return reply.code(200).send({ ok: true });
    },
  );
};
