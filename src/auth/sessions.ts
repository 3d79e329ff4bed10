/**
 * Who is calling an admin route: a bearer token (API clients) or the admin web UI's session
 * cookie. Sessions are rows (the SHA-256 of a random token; the token lives only in an
 * `HttpOnly; SameSite=Strict` cookie, `Secure` over HTTPS), slide their expiry while used (12 h, or
 * 30 days with "remember me"), and end at logout, at a password reset and with the account. Writes
 * made with the cookie need the session's CSRF token in `X-CSRF-Token`; a session reads its
 * account's permissions at each request. Bearer tokens are checked against the account too:
 * removed, or issued before its last password or permission change, they stop at once, and never
 * grant a permission the account no longer holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { PERMISSIONS, type Permission, type Principal } from './permissions.js';
import {
  deleteSession,
  endAllCredentials,
  findLiveSession,
  insertSessionDroppingExpired,
  permissionsForToken,
  slideSession,
} from './statements.js';
import type { TokenService } from './tokens.js';

export const SESSION_COOKIE = 'pc_session';
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
export const SESSION_REMEMBER_MS = 30 * 24 * 60 * 60 * 1000;
/** The expiry slides at most once a minute (one UPDATE per minute of use, not per request). */
const SLIDE_EVERY_MS = 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export interface Caller {
  principal: Principal;
  via: 'bearer' | 'session';
  csrfToken?: string;
  /** A session kept for 30 days of disuse ("remember me"). */
  remember?: boolean;
}

export class Authenticator {
  constructor(private readonly deps: { db: Db; clock: Clock; tokens: TokenService }) {}

  get tokens(): TokenService {
    return this.deps.tokens;
  }

  /** A new session for a logged-in account: the cookie's token, its row id (for the bearer token of the same login) and the CSRF token. */
  async createSession(
    username: string,
    remember: boolean,
  ): Promise<{ token: string; id: string; csrfToken: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = this.deps.clock.now();
    const expiresAt = new Date(now.getTime() + (remember ? SESSION_REMEMBER_MS : SESSION_IDLE_MS));
    await insertSessionDroppingExpired(this.deps.db, {
      id: hashOf(token),
      username,
      csrfToken,
      remember,
      now,
      expiresAt,
    });
    return { token, id: hashOf(token), csrfToken, expiresAt };
  }

  async endSession(token: string): Promise<void> {
    await this.endSessionById(hashOf(token));
  }

  /** Ends a session by its row id (a bearer token's `sid`): the cookie and the token of that login stop. */
  async endSessionById(id: string): Promise<void> {
    await deleteSession(this.deps.db, id);
  }

  /** Ends every session of an account and every bearer token issued so far (password reset). */
  async revokeAll(username: string): Promise<void> {
    await endAllCredentials(this.deps.db, username, this.deps.clock.now());
  }

  /** The caller of a request, or undefined. */
  async identify(request: FastifyRequest): Promise<Caller | undefined> {
    if (typeof request.headers.authorization === 'string') {
      const token = bearerToken(request);
      const claims = token === undefined ? undefined : this.deps.tokens.verifyClaims(token);
      if (!claims) return undefined;
      // The account must still exist and not have changed its password or permissions since the
      // token was issued; and a token never grants more than the account holds now (a token signed
      // while its account was being demoted, in the same millisecond, keeps no lost permission).
      // A token of a login ends with that login's session (logout; an expired session).
      const held = await permissionsForToken(this.deps.db, {
        username: claims.sub,
        issuedAt: new Date(claims.issuedAtMs),
        sessionId: claims.sessionId,
        now: this.deps.clock.now(),
      });
      if (!held) return undefined;
      return {
        principal: { username: claims.sub, permissions: claims.perms.filter((p) => held.includes(p)) },
        via: 'bearer',
      };
    }
    const token = sessionToken(request);
    if (!token) return undefined;
    const now = this.deps.clock.now();
    const s = await findLiveSession(this.deps.db, hashOf(token), now);
    if (!s) return undefined;
    if (now.getTime() - new Date(s.last_seen_at).getTime() > SLIDE_EVERY_MS) {
      const expiresAt = new Date(now.getTime() + (s.remember ? SESSION_REMEMBER_MS : SESSION_IDLE_MS));
      await slideSession(this.deps.db, hashOf(token), now, expiresAt);
    }
    const permissions = s.permissions.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p));
    return {
      principal: { username: s.username, permissions },
      via: 'session',
      csrfToken: s.csrf_token,
      remember: s.remember,
    };
  }

  /** Whether a cookie-authenticated request that changes something carries the session's CSRF token. */
  static csrfOk(request: FastifyRequest, caller: Caller): boolean {
    if (caller.via !== 'session' || SAFE_METHODS.has(request.method)) return true;
    const given = request.headers['x-csrf-token'];
    return typeof given === 'string' && given.length > 0 && given === caller.csrfToken;
  }
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

export function sessionToken(request: FastifyRequest): string | undefined {
  const raw = request.headers.cookie;
  if (typeof raw !== 'string') return undefined;
  const value = parseCookie(raw)[SESSION_COOKIE];
  return value && /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
}

/** Sets (or, with `token` undefined, clears) the session cookie. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string | undefined,
  options: { remember?: boolean; expiresAt?: Date; now?: Date } = {},
): void {
  const secure = request.protocol === 'https';
  const cookie = stringifySetCookie(SESSION_COOKIE, token ?? '', {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    // "Remember me": kept by the browser for the session's life; otherwise gone with the browser.
    // As a Max-Age (seconds from now), not a date: a browser whose clock differs from the server's
    // (an operator's phone, a booth laptop) keeps it just as long.
    ...(token === undefined
      ? { maxAge: 0 }
      : options.remember && options.expiresAt && options.now
        ? { maxAge: Math.max(1, Math.round((options.expiresAt.getTime() - options.now.getTime()) / 1000)) }
        : {}),
  });
  void reply.header('Set-Cookie', cookie);
}
