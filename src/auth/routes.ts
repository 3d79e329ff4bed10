import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { LiteralUnion } from '../schemas.js';
import type { AppDeps } from '../deps.js';
import { errorResponses } from '../errors.js';
import { sql } from 'kysely';
import { AppError } from '../errors.js';
import { CHANNELS } from '../db/notifications.js';
import { audit, authenticate, listAccounts, loginThrottled } from './accounts.js';
import { clientKey } from './attempts.js';
import { Authenticator, sessionToken, setSessionCookie } from './sessions.js';
import { BEARER_SECURITY, requirePermission } from './guard.js';
import { PERMISSIONS } from './permissions.js';

const PrincipalSchema = Type.Object({ username: Type.String(), permissions: Type.Array(LiteralUnion(PERMISSIONS)) });

/** POST /api/login (token for a user name and password), GET /api/me (who the token is). */
export const authRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/login',
    {
      schema: {
        summary: 'Log in: an HS256 access token valid for one hour',
        description:
          'Wrong passwords are throttled per client address and name (5 free, then 2 s doubling up to 15 min) and per address (20 free): 429 login_locked with Retry-After and details.locked_until. ' +
          'Names that exist and names that do not get the same answers in the same time. An administrator lifts it with POST /api/accounts/{username}/unlock.',
        tags: ['auth'],
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            remember: Type.Optional(Type.Boolean({ description: 'Keep the web UI session for 30 days of disuse instead of 12 hours (and across browser restarts)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            access_token: Type.String({ description: 'For API clients (Authorization: Bearer); the web UI uses the session cookie set alongside' }),
            token_type: Type.Literal('bearer'),
            expires_in_sec: Type.Integer(),
            csrf_token: Type.String({ description: 'Send as X-CSRF-Token with every write made with the session cookie' }),
            user: PrincipalSchema,
          }),
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      const { username, password, remember } = request.body;
      const client = clientKey(request.ip);
      const wait = deps.loginGuard.waitMs(client, username);
      if (wait > 0) throw loginThrottled(wait, deps.clock.now());
      // Counted as a failure until it succeeds: attempts sent in parallel are bounded too.
      deps.loginGuard.fail(client, username);
      const principal = await authenticate(deps.db, deps.clock, username, password);
      deps.loginGuard.succeed(client, username);
      const session = await deps.auth.createSession(principal.username, remember === true);
      setSessionCookie(request, reply, session.token, { remember: remember === true, expiresAt: session.expiresAt });
      request.log.info({ username, remember: remember === true }, 'administrator logged in');
      return { ...deps.tokens.sign(principal), csrf_token: session.csrfToken, user: principal };
    },
  );

  app.post(
    '/api/logout',
    {
      schema: {
        summary: 'End the web UI session (its cookie is cleared; the session stops working at once)',
        tags: ['auth'],
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const token = sessionToken(request);
      if (token) {
        // A cross-site page cannot log an administrator out either: the CSRF token is required.
        const caller = await deps.auth.identify(request);
        if (caller && !Authenticator.csrfOk(request, caller)) throw new AppError('csrf_failed');
        await deps.auth.endSession(token);
      }
      setSessionCookie(request, reply, undefined);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/me',
    {
      onRequest: requirePermission(deps.auth, null),
      schema: {
        summary: 'The account of the caller (bearer token or session cookie); for a session, its CSRF token',
        tags: ['auth'],
        security: BEARER_SECURITY,
        response: { 200: Type.Object({ ...PrincipalSchema.properties, csrf_token: Type.Optional(Type.String()) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const caller = await deps.auth.identify(request);
      return { ...request.principal!, ...(caller?.csrfToken ? { csrf_token: caller.csrfToken } : {}) };
    },
  );

  app.get(
    '/api/accounts',
    {
      onRequest: requirePermission(deps.auth, 'settings:read'),
      schema: {
        summary: 'Administrator accounts (names and permissions; never a password)',
        tags: ['auth'],
        security: BEARER_SECURITY,
        response: { 200: Type.Object({ accounts: Type.Array(Type.Object({ username: Type.String(), permissions: Type.Array(Type.String()), created_at: Type.String() })) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({
      accounts: (await listAccounts(deps.db)).map((a) => ({ username: a.username, permissions: a.permissions, created_at: a.created_at.toISOString() })),
    }),
  );

  app.post(
    '/api/accounts/:username/unlock',
    {
      onRequest: requirePermission(deps.auth, 'settings:write'),
      schema: {
        summary: "Lift the login throttling of an account (every address, every instance)",
        tags: ['auth'],
        security: BEARER_SECURITY,
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' }) }),
        response: { 200: Type.Object({ username: Type.String(), unlocked: Type.Boolean() }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { username } = request.params;
      const exists = (await listAccounts(deps.db)).some((a) => a.username === username);
      if (!exists) throw new AppError('not_found', `No administrator named ${username}`, { details: { username } });
      const forgotten = deps.loginGuard.unlock(username);
      await sql`SELECT pg_notify(${CHANNELS.accountUnlocked}, ${username})`.execute(deps.db);
      await audit(deps.db, deps.clock, { actor: request.principal!.username, action: 'account.unlock', target: username });
      return { username, unlocked: forgotten > 0 };
    },
  );
};
