import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.js';
import { errorResponses } from '../errors.js';
import { authenticate } from './accounts.js';
import { BEARER_SECURITY, requirePermission } from './guard.js';
import { PERMISSIONS } from './permissions.js';

const PrincipalSchema = Type.Object({ username: Type.String(), permissions: Type.Array(Type.Union(PERMISSIONS.map((p) => Type.Literal(p)))) });

/** POST /api/login (token for a user name and password), GET /api/me (who the token is). */
export const authRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/login',
    {
      schema: {
        summary: 'Log in: an HS256 access token valid for one hour',
        description: 'After 10 consecutive failures the account is locked for 15 minutes (429 login_locked with details.locked_until), also across restarts.',
        tags: ['auth'],
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('bearer'), expires_in_sec: Type.Integer(), user: PrincipalSchema }),
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request) => {
      const { username, password } = request.body as { username: string; password: string };
      const principal = await authenticate(deps.db, deps.clock, username, password);
      request.log.info({ username }, 'administrator logged in');
      return { ...deps.tokens.sign(principal), user: principal };
    },
  );

  app.get(
    '/api/me',
    {
      onRequest: requirePermission(deps.tokens, null),
      schema: { summary: 'The account of the access token', tags: ['auth'], security: BEARER_SECURITY, response: { 200: PrincipalSchema, ...errorResponses(401) } },
    },
    async (request) => request.principal!,
  );
};
