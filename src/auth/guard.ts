import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Permission, Principal } from './permissions.js';
import { Authenticator } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requirePermission on protected routes. */
    principal?: Principal;
  }
}

/**
 * onRequest hook of a protected route (before the body is read): 401 `unauthorized` without a
 * valid bearer token or session cookie, 403 `csrf_failed` for a cookie-authenticated write without
 * the session's CSRF token, 403 `forbidden` without the permission (`null`: any valid caller). A
 * token is never taken from a URL, where it would be logged and kept in histories.
 */
export function requirePermission(auth: Authenticator, permission: Permission | null) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const caller = await auth.identify(request);
    if (!caller) throw new AppError('unauthorized');
    if (!Authenticator.csrfOk(request, caller)) throw new AppError('csrf_failed');
    const principal: Principal = caller.principal;
    if (permission !== null && !principal.permissions.includes(permission)) {
      throw new AppError('forbidden', `This account lacks the ${permission} permission`, {
        details: { required: permission },
      });
    }
    request.principal = principal;
  };
}

/** The OpenAPI security requirement of a protected route. */
export const BEARER_SECURITY = [{ bearer: [] as string[] }];
