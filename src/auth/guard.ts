import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Permission, Principal } from './permissions.js';
import type { TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requirePermission on protected routes. */
    principal?: Principal;
  }
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  return undefined;
}

/**
 * onRequest hook of a protected route (before the body is read): 401 `unauthorized` without a valid unexpired token, 403
 * `forbidden` without the permission (`null`: any valid token). The token comes only from the
 * Authorization header: never from a URL, where it would be logged and kept in histories.
 */
export function requirePermission(tokens: TokenService, permission: Permission | null) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request);
    const principal = token === undefined ? undefined : tokens.verify(token);
    if (!principal) throw new AppError('unauthorized');
    if (permission !== null && !principal.permissions.includes(permission)) {
      throw new AppError('forbidden', `This account lacks the ${permission} permission`, { required: permission });
    }
    request.principal = principal;
  };
}

/** The OpenAPI security requirement of a protected route. */
export const BEARER_SECURITY = [{ bearer: [] as string[] }];
