/** The Turbotext webhook inbox's SQL (table turbotext_webhook), one named function per statement. */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export async function insertWebhookToken(
  db: Db,
  row: { token: string; jobId: string; now: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('turbotext_webhook')
    .values({ token: row.token, job_id: row.jobId, created_at: row.now, expires_at: row.expiresAt })
    .execute();
}

/** Whether a token is live and still waits for its delivery. */
export async function webhookTokenIsLive(db: Db, token: string, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom('turbotext_webhook')
    .select('token')
    .where('token', '=', token)
    .where('delivered_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores the first delivery for a live token; false when the token is not (or no longer) waiting. */
export async function storeWebhookDelivery(db: Db, token: string, payload: unknown, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('turbotext_webhook')
    .set({ delivered_at: now, payload: JSON.stringify(payload ?? null) })
    .where('token', '=', token)
    .where('delivered_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['token'])
    .executeTakeFirst();
  return row !== undefined;
}

export async function notifyWebhookDelivery(db: Db, channel: string, token: string): Promise<void> {
  await sql`SELECT pg_notify(${channel}, ${token})`.execute(db);
}

export async function readWebhookDelivery(
  db: Db,
  token: string,
): Promise<{ payload: unknown; delivered_at: Date | null } | undefined> {
  return db
    .selectFrom('turbotext_webhook')
    .select(['payload', 'delivered_at'])
    .where('token', '=', token)
    .executeTakeFirst();
}

export async function deleteWebhookToken(db: Db, token: string): Promise<void> {
  await db.deleteFrom('turbotext_webhook').where('token', '=', token).execute();
}

/** Deletes rows past their expiry; returns how many. */
export async function deleteExpiredWebhookTokens(db: Db, now: Date): Promise<number> {
  return (await db.deleteFrom('turbotext_webhook').where('expires_at', '<=', now).returning(['token']).execute())
    .length;
}
