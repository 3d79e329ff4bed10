import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../../errors.js';
import { containsNul, jsonDepth, parseUntrustedJson } from '../../json-safety.js';
import type { TurbotextWebhookInbox } from './webhooks.js';

/** Turbotext's result JSON is a few levels deep. */
const MAX_DEPTH = 16;

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
        out[k] = parseUntrustedJson(t, JSON.parse, MAX_DEPTH);
        continue;
      } catch {
        /* keep the text */
      }
    }
    out[k] = v;
  }
  return out;
}

/** A delivery's body: JSON, or a form whose fields may hold JSON; depth-limited, no NUL. */
function parseDelivery(text: string, form: boolean): unknown {
  if (text.trim() === '') return null;
  if (!form && jsonDepth(text, MAX_DEPTH) <= MAX_DEPTH) {
    try {
      return parseUntrustedJson(text, JSON.parse, MAX_DEPTH);
    } catch (err) {
      if ((err as AppError).message?.includes('NUL')) throw err;
    }
  }
  if (!form && jsonDepth(text, MAX_DEPTH) > MAX_DEPTH)
    throw new AppError('invalid_request', `The delivery is nested deeper than ${MAX_DEPTH} levels`);
  const parsed = parseForm(text);
  if (containsNul(parsed)) throw new AppError('invalid_request', 'The delivery must not contain NUL characters');
  return parsed;
}

/**
 * `POST /webhooks/turbotext/:token`: Turbotext's final JSON for a job in webhook mode. Always 200
 * for a well-formed body (Turbotext needs it); unknown, late and duplicate deliveries are ignored.
 * The body is kept as text until the token is known to be live: an unknown token costs no parsing.
 * Encapsulated: the lenient body parsers below apply to this route only.
 */
export const turbotextWebhookRoutes: FastifyPluginAsyncTypebox<TurbotextWebhookRoutesOptions> = async (
  app,
  options,
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 * 1024 },
    (_req, body, done) => {
      done(null, { form: true, text: String(body) });
    },
  );
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    done(null, { form: false, text: String(body) });
  });

  app.post<{ Params: { token: string } }>(
    '/webhooks/turbotext/:token',
    {
      schema: {
        hide: true,
        params: { type: 'object', properties: { token: { type: 'string', maxLength: 128 } }, required: ['token'] },
      },
      // The token is looked up before any byte of the body is read: a stranger's delivery to an
      // unknown token is answered (200, as Turbotext expects) and its body never read.
      onRequest: async (request, reply) => {
        const token = (request.params as { token?: string }).token ?? '';
        if (token.length <= 128 && (await options.inbox.isLive(token))) return;
        request.log.info({ outcome: 'ignored' }, 'Turbotext webhook delivery');
        return reply.code(200).header('Connection', 'close').send({ ok: true });
      },
    },
    async (request, reply) => {
      if (!(await options.inbox.isLive(request.params.token))) {
        request.log.info({ outcome: 'ignored' }, 'Turbotext webhook delivery');
        return reply.code(200).send({ ok: true });
      }
      const raw = (request.body ?? { form: false, text: '' }) as { form: boolean; text: string };
      const outcome = await options.inbox.deliver(request.params.token, parseDelivery(raw.text, raw.form));
      request.log.info({ outcome }, 'Turbotext webhook delivery');
      return reply.code(200).send({ ok: true });
    },
  );
};
