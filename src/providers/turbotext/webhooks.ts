/**
 * Turbotext webhook deliveries, kept in the database (table turbotext_webhook) because the POST
 * may reach another instance than the one whose driver waits. Each waiting job registers an
 * unguessable token; the first delivery for a live token is stored, later or duplicate ones and
 * unknown tokens are ignored. The waiting driver is woken at once when the delivery lands on its
 * own instance, and otherwise finds it by reading the row every `pollMs` (a pg_notify is also
 * sent on TURBOTEXT_WEBHOOK_CHANNEL for a listener that wants it).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { abortReason, sleep } from '../http.js';

export const TURBOTEXT_WEBHOOK_CHANNEL = 'photochanger_turbotext_webhook';
export const WEBHOOK_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type WebhookDeliveryOutcome = 'accepted' | 'ignored';

export class TurbotextWebhookInbox {
  private readonly arrivals = new EventEmitter();
  private readonly pollMs: number;

  constructor(private readonly deps: { db: Db; clock: Clock; pollMs?: number }) {
    this.pollMs = deps.pollMs ?? 500;
    this.arrivals.setMaxListeners(0);
  }

  /** A new token for one job, valid until `expiresAt`. */
  async register(jobId: string, expiresAt: Date): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.deps.db
      .insertInto('turbotext_webhook')
      .values({ token, job_id: jobId, created_at: this.deps.clock.now(), expires_at: expiresAt })
      .execute();
    return token;
  }

  /** Whether a token is live and still waits for its delivery (checked before a body is parsed). */
  async isLive(token: string): Promise<boolean> {
    if (!WEBHOOK_TOKEN.test(token)) return false;
    const row = await this.deps.db
      .selectFrom('turbotext_webhook')
      .select('token')
      .where('token', '=', token)
      .where('delivered_at', 'is', null)
      .where('expires_at', '>', this.deps.clock.now())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Stores the first delivery for a live token; anything else is ignored. */
  async deliver(token: string, payload: unknown): Promise<WebhookDeliveryOutcome> {
    if (!WEBHOOK_TOKEN.test(token)) return 'ignored';
    const now = this.deps.clock.now();
    const row = await this.deps.db
      .updateTable('turbotext_webhook')
      .set({ delivered_at: now, payload: JSON.stringify(payload ?? null) })
      .where('token', '=', token)
      .where('delivered_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['token'])
      .executeTakeFirst();
    if (!row) return 'ignored';
    await sql`SELECT pg_notify(${TURBOTEXT_WEBHOOK_CHANNEL}, ${token})`.execute(this.deps.db).catch(() => undefined);
    this.arrivals.emit(token);
    return 'accepted';
  }

  /** The stored delivery, if any. */
  async take(token: string): Promise<unknown> {
    const row = await this.deps.db
      .selectFrom('turbotext_webhook')
      .select(['payload', 'delivered_at'])
      .where('token', '=', token)
      .executeTakeFirst();
    return row?.delivered_at ? (row.payload ?? null) : undefined;
  }

  /**
   * Waits for the delivery until `until` (undefined then) or the signal fires (throws its reason).
   */
  async waitFor(token: string, signal: AbortSignal, until: Date): Promise<unknown> {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const payload = await this.take(token);
      if (payload !== undefined) return payload;
      const left = until.getTime() - this.deps.clock.now().getTime();
      if (left <= 0) return undefined;
      const wake = new AbortController();
      const onArrival = () => wake.abort();
      this.arrivals.once(token, onArrival);
      try {
        await sleep(Math.min(this.pollMs, left), AbortSignal.any([signal, wake.signal]));
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (!wake.signal.aborted) throw err;
      } finally {
        this.arrivals.off(token, onArrival);
      }
    }
  }

  /** Forgets a token: any later delivery is unknown, hence ignored. */
  async release(token: string): Promise<void> {
    await this.deps.db.deleteFrom('turbotext_webhook').where('token', '=', token).execute();
  }

  /** Deletes rows past their expiry (left behind by a crash); for the cleanup task. */
  async purgeExpired(): Promise<number> {
    const rows = await this.deps.db.deleteFrom('turbotext_webhook').where('expires_at', '<=', this.deps.clock.now()).returning(['token']).execute();
    return rows.length;
  }
}
