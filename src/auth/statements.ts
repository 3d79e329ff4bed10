/**
 * The administrator accounts' and sessions' SQL, one named function per statement
 * (docs/architecture.md). Rules (who may change what, the last administrator) live in
 * accounts.ts; these only read and write.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { CHANNELS } from '../db/notifications.js';

export interface AccountRow {
  username: string;
  permissions: string[];
  locked_until: Date | null;
  created_at: Date;
}

export async function countAccountRows(db: Db): Promise<number> {
  const row = await db
    .selectFrom('admin_account')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A new account; its credentials count as changed now (a token of an earlier account of the same name is not its). */
export async function insertAccount(
  db: Db,
  row: { username: string; passwordHash: string; permissions: string[]; now: Date },
): Promise<void> {
  await db
    .insertInto('admin_account')
    .values({
      username: row.username,
      password_hash: row.passwordHash,
      permissions: row.permissions,
      created_at: row.now,
      updated_at: row.now,
      credentials_changed_at: row.now,
    })
    .execute();
}

/** A new password hash; every session of the account ends. False: no such account. */
export async function replacePasswordEndingSessions(
  db: Db,
  username: string,
  passwordHash: string,
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('admin_account')
      .set({
        password_hash: passwordHash,
        failed_logins: 0,
        locked_until: null,
        updated_at: now,
        credentials_changed_at: now,
      })
      .where('username', '=', username)
      .executeTakeFirst();
    await trx.deleteFrom('admin_session').where('username', '=', username).execute();
    return Number(result.numUpdatedRows) > 0;
  });
}

/** Every account with its permissions, locked until the transaction ends (two changes cannot both pass the checks). */
export async function lockAccounts(trx: Db): Promise<{ username: string; permissions: string[] }[]> {
  return trx.selectFrom('admin_account').select(['username', 'permissions']).orderBy('username').forUpdate().execute();
}

export async function updatePermissions(trx: Db, username: string, permissions: string[], now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('admin_account')
    .set({ permissions, updated_at: now, credentials_changed_at: now })
    .where('username', '=', username)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Removes an account and its sessions. False: no such account. */
export async function deleteAccountAndSessions(trx: Db, username: string): Promise<boolean> {
  await trx.deleteFrom('admin_session').where('username', '=', username).execute();
  const result = await trx.deleteFrom('admin_account').where('username', '=', username).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function readPasswordHash(
  db: Db,
  username: string,
): Promise<{ username: string; password_hash: string; permissions: string[] } | undefined> {
  return db
    .selectFrom('admin_account')
    .select(['username', 'password_hash', 'permissions'])
    .where('username', '=', username)
    .executeTakeFirst();
}

export async function listAccountRows(db: Db): Promise<AccountRow[]> {
  return db
    .selectFrom('admin_account')
    .select(['username', 'permissions', 'locked_until', 'created_at'])
    .orderBy('username')
    .execute();
}

export async function findAccountRow(db: Db, username: string): Promise<AccountRow | undefined> {
  return db
    .selectFrom('admin_account')
    .select(['username', 'permissions', 'locked_until', 'created_at'])
    .where('username', '=', username)
    .executeTakeFirst();
}

export async function insertAuditEntry(
  db: Db,
  entry: { at: Date; actor: string; action: string; target: string | null; fields: string[] },
): Promise<void> {
  await db.insertInto('audit_log').values(entry).execute();
}

/** Tells every instance (API or CLI) that an account's login throttling was lifted. */
export async function notifyAccountUnlocked(db: Db, username: string): Promise<void> {
  await sql`SELECT pg_notify(${CHANNELS.accountUnlocked}, ${username})`.execute(db);
}

// Sessions (src/auth/sessions.ts)

/** Expired sessions go at each login, so the table holds only live ones (logins are throttled). */
export async function insertSessionDroppingExpired(
  db: Db,
  row: { id: string; username: string; csrfToken: string; remember: boolean; now: Date; expiresAt: Date },
): Promise<void> {
  await db.deleteFrom('admin_session').where('expires_at', '<', row.now).execute();
  await db
    .insertInto('admin_session')
    .values({
      id: row.id,
      username: row.username,
      csrf_token: row.csrfToken,
      remember: row.remember,
      created_at: row.now,
      last_seen_at: row.now,
      expires_at: row.expiresAt,
    })
    .execute();
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom('admin_session').where('id', '=', id).execute();
}

/** Ends every session of an account and every bearer token issued so far. */
export async function endAllCredentials(db: Db, username: string, now: Date): Promise<void> {
  await db.deleteFrom('admin_session').where('username', '=', username).execute();
  await sql`UPDATE admin_account SET credentials_changed_at = ${now} WHERE username = ${username}`.execute(db);
}

/**
 * The permissions of a bearer token's account, if the token still stands: the account exists and
 * has not changed its credentials since `issuedAt`; with `sessionId`, its login's session is live.
 */
export async function permissionsForToken(
  db: Db,
  claims: { username: string; issuedAt: Date; sessionId: string | undefined; now: Date },
): Promise<string[] | undefined> {
  const row = claims.sessionId
    ? await sql<{ permissions: string[] }>`
        SELECT a.permissions FROM admin_account a JOIN admin_session s ON s.username = a.username
         WHERE a.username = ${claims.username} AND a.credentials_changed_at <= ${claims.issuedAt}
           AND s.id = ${claims.sessionId} AND s.expires_at > ${claims.now}`.execute(db)
    : await sql<{ permissions: string[] }>`
        SELECT permissions FROM admin_account
         WHERE username = ${claims.username} AND credentials_changed_at <= ${claims.issuedAt}`.execute(db);
  return row.rows[0]?.permissions;
}

/** A live session with its account's permissions now. */
export async function findLiveSession(
  db: Db,
  id: string,
  now: Date,
): Promise<
  { username: string; permissions: string[]; csrf_token: string; remember: boolean; last_seen_at: Date } | undefined
> {
  const found = await sql<{
    username: string;
    permissions: string[];
    csrf_token: string;
    remember: boolean;
    last_seen_at: Date;
  }>`
    SELECT s.username, a.permissions, s.csrf_token, s.remember, s.last_seen_at
      FROM admin_session s JOIN admin_account a ON a.username = s.username
     WHERE s.id = ${id} AND s.expires_at > ${now}`.execute(db);
  return found.rows[0];
}

export async function slideSession(db: Db, id: string, now: Date, expiresAt: Date): Promise<void> {
  await db
    .updateTable('admin_session')
    .set({ last_seen_at: now, expires_at: expiresAt })
    .where('id', '=', id)
    .execute();
}
