import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { LiteralUnion } from '../schemas.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { LoginGuard } from './login-guard.js';
import type { TokenService } from './tokens.js';
import { errorResponses, invalidFields } from '../errors.js';
import { AppError } from '../errors.js';
import { notifyAccountUnlocked } from './statements.js';
import {
  type AccountSummary,
  audit,
  authenticate,
  createAccount,
  credentialErrors,
  findAccount,
  listAccounts,
  loginThrottled,
  passwordMatches,
  removeAccount,
  resetPassword,
  setPermissions,
  USERNAME_PATTERN,
} from './accounts.js';
import { clientKey } from './attempts.js';
import { Authenticator, bearerToken, sessionToken, setSessionCookie } from './sessions.js';
import { BEARER_SECURITY, requirePermission } from './guard.js';
import { PERMISSIONS } from './permissions.js';

const PrincipalSchema = Type.Object({ username: Type.String(), permissions: Type.Array(LiteralUnion(PERMISSIONS)) });
const PermissionList = Type.Array(LiteralUnion(PERMISSIONS), {
  uniqueItems: true,
  maxItems: PERMISSIONS.length,
  description: `Any of ${PERMISSIONS.join(', ')}. accounts:write manages accounts (this API).`,
});
const AccountSchema = Type.Object({
  username: Type.String(),
  permissions: Type.Array(LiteralUnion(PERMISSIONS)),
  created_at: Type.String(),
});
const UsernameParams = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, pattern: USERNAME_PATTERN }),
});
/** Sent to the caller after a password change: the new credentials of its session or token. */
const Credentials = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in_sec: Type.Integer(),
  csrf_token: Type.Optional(
    Type.String({ description: "The new session's CSRF token (the web UI keeps its session across the change)" }),
  ),
  user: PrincipalSchema,
});

/** POST /api/login (token for a user name and password), GET /api/me (who the token is). */
/** The login's body at most (docs/security.md). */
const LOGIN_BODY_LIMIT_BYTES = 4 * 1024;

/** What these routes use of the server's dependencies (src/deps.ts has them all). */
export interface AuthRouteDeps {
  auth: Authenticator;
  clock: Clock;
  db: Db;
  loginGuard: LoginGuard;
  tokens: TokenService;
}

export const authRoutes: FastifyPluginAsyncTypebox<{ deps: AuthRouteDeps }> = async (app, { deps }) => {
  app.post(
    '/api/login',
    {
      // A name and a password: a stranger's body is bounded well below the admin JSON limit.
      bodyLimit: LOGIN_BODY_LIMIT_BYTES,
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
            remember: Type.Optional(
              Type.Boolean({
                description:
                  'Keep the web UI session for 30 days of disuse instead of 12 hours (and across browser restarts)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            access_token: Type.String({
              description: 'For API clients (Authorization: Bearer); the web UI uses the session cookie set alongside',
            }),
            token_type: Type.Literal('bearer'),
            expires_in_sec: Type.Integer(),
            csrf_token: Type.String({
              description: 'Send as X-CSRF-Token with every write made with the session cookie',
            }),
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
      setSessionCookie(request, reply, session.token, {
        remember: remember === true,
        expiresAt: session.expiresAt,
        now: deps.clock.now(),
      });
      request.log.info({ username, remember: remember === true }, 'administrator logged in');
      return { ...deps.tokens.sign(principal, session.id), csrf_token: session.csrfToken, user: principal };
    },
  );

  app.post(
    '/api/logout',
    {
      schema: {
        summary:
          'Log out: the session of the cookie, or of the bearer token, ends at once (the cookie and the access token of that login stop working)',
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
      // An API client logs out with its bearer token: the login's session ends, and the token with it.
      const bearer = bearerToken(request);
      const sessionId = bearer === undefined ? undefined : deps.tokens.verifyClaims(bearer)?.sessionId;
      if (sessionId) await deps.auth.endSessionById(sessionId);
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
        response: {
          200: Type.Object({ ...PrincipalSchema.properties, csrf_token: Type.Optional(Type.String()) }),
          ...errorResponses(401),
        },
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
      onRequest: requirePermission(deps.auth, 'accounts:write'),
      schema: {
        summary: 'Administrator accounts (names and permissions; never a password)',
        tags: ['auth'],
        security: BEARER_SECURITY,
        response: { 200: Type.Object({ accounts: Type.Array(AccountSchema) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({
      accounts: (await listAccounts(deps.db)).map(accountView),
    }),
  );

  app.post(
    '/api/accounts/:username/unlock',
    {
      onRequest: requirePermission(deps.auth, 'settings:write'),
      schema: {
        summary: 'Lift the login throttling of an account (every address, every instance)',
        tags: ['auth'],
        security: BEARER_SECURITY,
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' }) }),
        response: {
          200: Type.Object({ username: Type.String(), unlocked: Type.Boolean() }),
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { username } = request.params;
      if (!(await findAccount(deps.db, username))) throw noAccount(username);
      const forgotten = deps.loginGuard.unlock(username);
      await notifyAccountUnlocked(deps.db, username);
      await audit(deps.db, deps.clock, {
        actor: request.principal!.username,
        action: 'account.unlock',
        target: username,
      });
      return { username, unlocked: forgotten > 0 };
    },
  );

  app.put(
    '/api/me/password',
    {
      onRequest: requirePermission(deps.auth, null),
      schema: {
        summary: 'Change your own password',
        description:
          'Needs the current password (a wrong one is 422 at /current_password, throttled like logins: 429 login_locked). Every other session and every bearer token of the account stop working; ' +
          'a web UI session is replaced by a new one (new cookie and csrf_token), an API client gets a new access_token.',
        tags: ['auth'],
        security: BEARER_SECURITY,
        body: Type.Object(
          {
            current_password: Type.String({ minLength: 1, maxLength: 1024 }),
            new_password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Credentials, ...errorResponses(400, 401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = (await deps.auth.identify(request))!;
      const { username } = caller.principal;
      const client = clientKey(request.ip);
      const wait = deps.loginGuard.waitMs(client, username);
      if (wait > 0) throw loginThrottled(wait, deps.clock.now());
      deps.loginGuard.fail(client, username);
      if (!(await passwordMatches(deps.db, username, request.body.current_password))) {
        throw invalidFields('The current password is wrong', [
          { path: '/current_password', message: 'Wrong password' },
        ]);
      }
      deps.loginGuard.succeed(client, username);
      const problems = credentialErrors(undefined, request.body.new_password).map((e) => ({
        ...e,
        path: '/new_password',
      }));
      if (problems.length) throw invalidFields(problems.map((e) => e.message).join('; '), problems);
      await resetPassword(deps.db, deps.clock, username, request.body.new_password);
      await audit(deps.db, deps.clock, { actor: username, action: 'account.password', target: username });
      request.log.info({ username }, 'administrator changed own password');
      // A new session either way: the web UI's cookie is renewed; an API client's new token is
      // bound to it like a login's, so a logout with that token ends it.
      const session = await deps.auth.createSession(username, caller.remember === true);
      if (caller.via === 'session')
        setSessionCookie(request, reply, session.token, {
          remember: caller.remember === true,
          expiresAt: session.expiresAt,
          now: deps.clock.now(),
        });
      return {
        ...deps.tokens.sign(caller.principal, session.id),
        ...(caller.via === 'session' ? { csrf_token: session.csrfToken } : {}),
        user: caller.principal,
      };
    },
  );

  app.post(
    '/api/accounts',
    {
      onRequest: requirePermission(deps.auth, 'accounts:write'),
      schema: {
        summary: 'Add an administrator account',
        description: `422 invalid_settings with details.errors at /username or /password (letters, digits and . _ @ -; a password of at least 8 characters); 409 conflict when the name exists; 403 forbidden (details.not_held) for a permission the caller does not hold.`,
        tags: ['auth'],
        security: BEARER_SECURITY,
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            permissions: PermissionList,
          },
          { additionalProperties: false },
        ),
        response: { 201: AccountSchema, ...errorResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const { username, password, permissions } = request.body;
      grantable(request.principal!.permissions, permissions);
      try {
        await createAccount(deps.db, deps.clock, username, password, permissions);
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new AppError('conflict', `An administrator named ${username} already exists`, {
            details: { reason: 'account_exists', username },
          });
        throw err;
      }
      await audit(deps.db, deps.clock, {
        actor: request.principal!.username,
        action: 'account.create',
        target: username,
        fields: ['permissions'],
      });
      return reply.code(201).send(accountView((await findAccount(deps.db, username))!));
    },
  );

  app.put(
    '/api/accounts/:username',
    {
      onRequest: requirePermission(deps.auth, 'accounts:write'),
      schema: {
        summary: "Change an account's permissions, or set a new password for it",
        description:
          'Either changes what the account ends: a new password ends its sessions and tokens; new permissions end its bearer tokens (its web sessions see them at once). ' +
          '403 forbidden (details.not_held) when the account holds a permission the caller does not hold, or when adding one; 409 conflict when no account could manage accounts, or none would hold every permission, afterwards.',
        tags: ['auth'],
        security: BEARER_SECURITY,
        params: UsernameParams,
        body: Type.Object(
          {
            permissions: Type.Optional(PermissionList),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: AccountSchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { username } = request.params;
      const { permissions, password } = request.body;
      // Both are checked before either is changed.
      const problems = credentialErrors(undefined, password);
      if (problems.length) throw invalidFields(problems.map((e) => e.message).join('; '), problems);
      const fields: string[] = [];
      const before = await findAccount(deps.db, username);
      if (!before) throw noAccount(username);
      // Only an account holding all of another's permissions may change its password or permissions.
      outranks(request.principal!.permissions, before.permissions, username);
      if (permissions !== undefined) {
        grantable(
          request.principal!.permissions,
          permissions.filter((p) => !before.permissions.includes(p)),
        );
        if (!(await setPermissions(deps.db, deps.clock, username, permissions))) throw noAccount(username);
        fields.push('permissions');
      }
      if (password !== undefined) {
        if (!(await resetPassword(deps.db, deps.clock, username, password))) throw noAccount(username);
        fields.push('password');
      }
      await audit(deps.db, deps.clock, {
        actor: request.principal!.username,
        action: 'account.update',
        target: username,
        fields,
      });
      const account = await findAccount(deps.db, username);
      if (!account) throw noAccount(username);
      return accountView(account);
    },
  );

  app.delete(
    '/api/accounts/:username',
    {
      onRequest: requirePermission(deps.auth, 'accounts:write'),
      schema: {
        summary: 'Remove an administrator account (its sessions and tokens stop working at once)',
        description:
          '403 forbidden (details.not_held) when the account holds a permission the caller does not hold; 409 conflict for your own account, the last account that can manage accounts, and when no account would hold every permission afterwards.',
        tags: ['auth'],
        security: BEARER_SECURITY,
        params: UsernameParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      if (username === request.principal!.username)
        throw new AppError('conflict', 'You cannot remove your own account', {
          details: { reason: 'own_account', username },
        });
      const target = await findAccount(deps.db, username);
      if (!target) throw noAccount(username);
      outranks(request.principal!.permissions, target.permissions, username);
      if (!(await removeAccount(deps.db, username))) throw noAccount(username);
      await audit(deps.db, deps.clock, {
        actor: request.principal!.username,
        action: 'account.remove',
        target: username,
      });
      return reply.code(204).send(null);
    },
  );
};

function accountView(a: AccountSummary) {
  return { username: a.username, permissions: a.permissions, created_at: a.created_at.toISOString() };
}

/** Nobody grants a permission they do not hold themselves (403 forbidden, naming them). */
function grantable(held: readonly string[], granted: readonly string[]): void {
  const notHeld = granted.filter((p) => !held.includes(p));
  if (notHeld.length > 0) {
    throw new AppError('forbidden', `You cannot grant a permission you do not hold: ${notHeld.join(', ')}`, {
      details: { not_held: notHeld },
    });
  }
}

/**
 * Changing another account's password or permissions, or removing it, needs every permission that
 * account holds (403 forbidden, naming the ones missing): accounts:write alone cannot take over
 * an administrator.
 */
function outranks(held: readonly string[], target: readonly string[], username: string): void {
  const notHeld = target.filter((p) => !held.includes(p));
  if (notHeld.length > 0) {
    throw new AppError('forbidden', `${username} holds permissions you do not hold: ${notHeld.join(', ')}`, {
      details: { not_held: notHeld, username },
    });
  }
}

function noAccount(username: string): AppError {
  return new AppError('not_found', `No administrator named ${username}`, { details: { username } });
}
