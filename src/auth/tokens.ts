import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createSigner, createVerifier } from 'fast-jwt';
import type { Clock } from '../clock.js';
import { PERMISSIONS, type Permission, type Principal } from './permissions.js';

/** Admin access tokens live one hour (docs/security.md, sessions). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

interface Claims {
  sub: string;
  perms: string[];
  iat: number;
  exp: number;
  /** Issue time in milliseconds: compared with the account's last password change. */
  iat_ms: number;
  /** The login's session (its row id): the token ends with it (logout). Absent: a token of no session. */
  sid?: string;
}

/**
 * HS256 access tokens. The token carries the account's permissions at login; the request's check
 * (src/auth/sessions.ts) refuses it after a password or permission change and never lets it grant
 * more than the account holds now. Time comes from the
 * injected clock, so expiry is testable without waiting.
 */
export class TokenService {
  private readonly signer: (payload: Claims) => string;

  constructor(
    private readonly secret: string,
    private readonly clock: Clock,
    readonly ttlSeconds = ACCESS_TOKEN_TTL_SECONDS,
  ) {
    this.signer = createSigner({ key: secret, algorithm: 'HS256', noTimestamp: true });
  }

  /** A token for this principal; with `sessionId`, it stops working when that session ends. */
  sign(
    principal: Principal,
    sessionId?: string,
  ): { access_token: string; token_type: 'bearer'; expires_in_sec: number } {
    const now = this.clock.now().getTime();
    const iat = Math.floor(now / 1000);
    const claims: Claims = {
      sub: principal.username,
      perms: [...principal.permissions],
      iat,
      exp: iat + this.ttlSeconds,
      iat_ms: now,
      ...(sessionId ? { sid: sessionId } : {}),
    };
    const token = this.signer(claims);
    return { access_token: token, token_type: 'bearer', expires_in_sec: this.ttlSeconds };
  }

  /** The claims of a valid unexpired token (permissions filtered to known ones), or undefined. */
  verifyClaims(
    token: string,
  ): { sub: string; perms: Permission[]; issuedAtMs: number; sessionId: string | undefined } | undefined {
    const principal = this.verify(token);
    if (!principal) return undefined;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Partial<Claims>;
    const issuedAtMs = typeof claims.iat_ms === 'number' ? claims.iat_ms : (claims.iat ?? 0) * 1000;
    return {
      sub: principal.username,
      perms: principal.permissions,
      issuedAtMs,
      sessionId: typeof claims.sid === 'string' ? claims.sid : undefined,
    };
  }

  /** The principal of a valid unexpired token, or undefined (never throws). */
  verify(token: string): Principal | undefined {
    try {
      const verifier = createVerifier({
        key: this.secret,
        algorithms: ['HS256'],
        clockTimestamp: this.clock.now().getTime(),
        requiredClaims: ['sub', 'exp'],
      });
      const claims = verifier(token) as Partial<Claims>;
      if (typeof claims.sub !== 'string' || !Array.isArray(claims.perms)) return undefined;
      const permissions = claims.perms.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p));
      return { username: claims.sub, permissions };
    } catch {
      return undefined;
    }
  }
}

/**
 * A secret from the environment, or (on a local install where it is unset) one generated once and
 * kept in DATA_DIR/<fileName> with mode 0600, so tokens and encrypted keys survive a restart.
 */
export async function loadOrCreateSecret(
  configured: string | undefined,
  dataDir: string,
  fileName: string,
  generate: () => string = () => randomBytes(32).toString('hex'),
): Promise<string> {
  if (configured !== undefined) return configured;
  const file = path.join(dataDir, fileName);
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = generate();
  try {
    await fs.writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await fs.readFile(file, 'utf8')).trim();
    throw err;
  }
}
