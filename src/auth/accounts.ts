import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { AppError, invalidFields } from '../errors.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { PERMISSIONS, type Permission, type Principal } from './permissions.js';
import {
  countAccountRows,
  deleteAccountAndSessions,
  findAccountRow,
  insertAccount,
  insertAuditEntry,
  listAccountRows,
  lockAccounts,
  readPasswordHash,
  replacePasswordEndingSessions,
  updatePermissions,
} from './statements.js';

export const USERNAME_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';
export const MIN_PASSWORD_LENGTH = 8;

export interface AccountSummary {
  username: string;
  permissions: Permission[];
  locked_until: Date | null;
  created_at: Date;
}

function toPermissions(values: string[]): Permission[] {
  return values.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p));
}

export function parsePermissions(text: string | undefined): Permission[] {
  if (text === undefined || text === 'all') return [...PERMISSIONS];
  const list = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const unknown = list.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`Unknown permission(s): ${unknown.join(', ')}; known: ${PERMISSIONS.join(', ')}`);
  return list as Permission[];
}

/** What is wrong with a new account's name or password, as 422 `errors` (none: both are fine). */
export function credentialErrors(
  username: string | undefined,
  password: string | undefined,
): Array<{ path: string; message: string }> {
  const errors: Array<{ path: string; message: string }> = [];
  if (username !== undefined && !new RegExp(USERNAME_PATTERN).test(username))
    errors.push({ path: '/username', message: 'The user name may contain letters, digits and . _ @ - (at most 64)' });
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH)
    errors.push({ path: '/password', message: `The password must have at least ${MIN_PASSWORD_LENGTH} characters` });
  return errors;
}

function checkNewCredentials(username: string, password: string): void {
  const errors = credentialErrors(username, password);
  if (errors.length) throw invalidFields(errors.map((e) => e.message).join('; '), errors);
}

export async function countAccounts(db: Db): Promise<number> {
  return countAccountRows(db);
}

export async function createAccount(
  db: Db,
  clock: Clock,
  username: string,
  password: string,
  permissions: Permission[],
): Promise<void> {
  checkNewCredentials(username, password);
  await insertAccount(db, { username, passwordHash: await hashPassword(password), permissions, now: clock.now() });
}

/**
 * Sets a new password. Every session of the account ends and every bearer token issued before
 * stops working (src/auth/sessions.ts). Returns false when the account does not exist.
 */
export async function resetPassword(db: Db, clock: Clock, username: string, password: string): Promise<boolean> {
  checkNewCredentials(username, password);
  return replacePasswordEndingSessions(db, username, await hashPassword(password), clock.now());
}

/**
 * Replaces an account's permissions. Bearer tokens carry the permissions they were issued with, so
 * every token issued before stops working (sessions read them from the account at each request).
 * Refused (409) when no account could manage accounts afterwards. False: no such account.
 */
export async function setPermissions(
  db: Db,
  clock: Clock,
  username: string,
  permissions: Permission[],
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const accounts = await lockAccounts(trx);
    const managers = accounts.filter((a) => a.permissions.includes('accounts:write')).map((a) => a.username);
    if (managers.length === 1 && managers[0] === username && !permissions.includes('accounts:write'))
      throw lastManager(username);
    keepsFullAdministrator(
      accounts.map((a) => (a.username === username ? { ...a, permissions } : a)),
      username,
    );
    return updatePermissions(trx, username, permissions, clock.now());
  });
}

/** Removes an account and its sessions. Refused (409) for the last account that manages accounts. False: no such account. */
export async function removeAccount(db: Db, username: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const accounts = await lockAccounts(trx);
    const managers = accounts.filter((a) => a.permissions.includes('accounts:write')).map((a) => a.username);
    if (managers.length === 1 && managers[0] === username) throw lastManager(username);
    keepsFullAdministrator(
      accounts.filter((a) => a.username !== username),
      username,
    );
    return deleteAccountAndSessions(trx, username);
  });
}

/**
 * At least one account always holds every permission (docs/security.md): a change that would
 * leave none is refused (409), so no combination of partial accounts can lock the owner out.
 */
function keepsFullAdministrator(after: readonly { permissions: readonly string[] }[], username: string): void {
  if (after.some((a) => PERMISSIONS.every((p) => a.permissions.includes(p)))) return;
  throw new AppError(
    'conflict',
    `After this change no account would hold every permission; give another account all of them first (${username})`,
    {
      details: { reason: 'last_full_administrator', username },
    },
  );
}

function lastManager(username: string): AppError {
  return new AppError(
    'conflict',
    `${username} is the last account that can manage accounts; give another account accounts:write first`,
    { details: { reason: 'last_account_manager', username } },
  );
}

/** Whether `password` is the account's password (an argon2 check; no throttling here). */
export async function passwordMatches(db: Db, username: string, password: string): Promise<boolean> {
  const account = await readPasswordHash(db, username);
  return account !== undefined && (await verifyPassword(account.password_hash, password));
}

export async function listAccounts(db: Db): Promise<AccountSummary[]> {
  const rows = await listAccountRows(db);
  return rows.map((r) => ({ ...r, permissions: toPermissions(r.permissions) }));
}

/** One account (undefined: no such name). */
export async function findAccount(db: Db, username: string): Promise<AccountSummary | undefined> {
  const r = await findAccountRow(db, username);
  return r && { ...r, permissions: toPermissions(r.permissions) };
}

/**
 * Checks a login. Wrong user and wrong password are the same 401 (no user enumeration), and cost
 * the same argon2 time. Throttling is per address and name (src/auth/login-guard.ts), not a lock
 * of the account that anyone could trigger from anywhere.
 */
export async function authenticate(db: Db, _clock: Clock, username: string, password: string): Promise<Principal> {
  const account = await readPasswordHash(db, username);
  if (!account) {
    // Spend the same time as a real check so timing does not tell which names exist.
    await verifyPassword(DUMMY_HASH, password);
    throw new AppError('invalid_credentials');
  }
  if (!(await verifyPassword(account.password_hash, password))) throw new AppError('invalid_credentials');
  return { username: account.username, permissions: toPermissions(account.permissions) };
}

export function loginThrottled(waitMs: number, now: Date): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('login_locked', `Too many failed logins from this address; retry in ${seconds} s`, {
    details: { locked_until: new Date(now.getTime() + seconds * 1000).toISOString(), retry_after_seconds: seconds },
    headers: { 'Retry-After': String(seconds) },
  });
}

// argon2id hash of a random string: verifying against it costs what a real verification costs.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$j92BOW0n/j7DyEvySrVmQA$XGx7omQzk90oblujfy3u9W6jGEGtkjjAnH+eb3/r+OM';

/**
 * The first administrator on a fresh install: from PHOTOCHANGER_BOOTSTRAP_ADMIN (`user:password`)
 * or generated, printed once and appended to DATA_DIR/initial-credentials.txt (0600). Never logged.
 */
export async function bootstrapAdmin(
  db: Db,
  clock: Clock,
  options: {
    given: string | undefined;
    dataDir: string;
    announce: (text: string) => void;
    warn?: (message: string) => void;
  },
): Promise<void> {
  if ((await countAccounts(db)) > 0) {
    // Said at every start: a changed variable does not change an existing account.
    if (options.given)
      options.warn?.(
        'PHOTOCHANGER_BOOTSTRAP_ADMIN is ignored: administrators already exist (change passwords with npm run admin -- users reset-password <name>)',
      );
    return;
  }
  const [username, password] = options.given
    ? [options.given.slice(0, options.given.indexOf(':')), options.given.slice(options.given.indexOf(':') + 1)]
    : ['admin', randomBytes(12).toString('base64url')];
  try {
    await createAccount(db, clock, username, password, [...PERMISSIONS]);
  } catch (err) {
    // Another instance created the first account at the same moment.
    if ((err as { code?: string }).code === '23505') return;
    throw err;
  }
  if (options.given) return;
  const file = path.join(options.dataDir, 'initial-credentials.txt');
  await fs.appendFile(file, `admin user: ${username}\nadmin password: ${password}\n`, { mode: 0o600 });
  // One part of the first-start block (src/server.ts firstStartBlock), printed with the others.
  options.announce(
    [
      `Administrator: ${username} / ${password}  (web UI: /admin/)`,
      `  Change it with: npm run admin -- users reset-password ${username}`,
    ].join('\n'),
  );
}

/** Appends an audit entry: who changed which fields of what (never the values). */
export async function audit(
  db: Db,
  clock: Clock,
  entry: { actor: string; action: string; target?: string; fields?: string[] },
): Promise<void> {
  await insertAuditEntry(db, {
    at: clock.now(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    fields: entry.fields ?? [],
  });
}
