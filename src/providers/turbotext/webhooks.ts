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
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { abortReason, sleep } from '../http.js';
import {
  deleteExpiredWebhookTokens,
  deleteWebhookToken,
  insertWebhookToken,
  notifyWebhookDelivery,
  readWebhookDelivery,
  storeWebhookDelivery,
  webhookTokenIsLive,
} from './statements.js';

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
    await insertWebhookToken(this.deps.db, { token, jobId, now: this.deps.clock.now(), expiresAt });
    return token;
  }

  /** Whether a token is live and still waits for its delivery (checked before a body is parsed). */
  async isLive(token: string): Promise<boolean> {
    if (!WEBHOOK_TOKEN.test(token)) return false;
    return webhookTokenIsLive(this.deps.db, token, this.deps.clock.now());
  }

  /** Stores the first delivery for a live token; anything else is ignored. */
  async deliver(token: string, payload: unknown): Promise<WebhookDeliveryOutcome> {
    if (!WEBHOOK_TOKEN.test(token)) return 'ignored';
    const now = this.deps.clock.now();
    if (!(await storeWebhookDelivery(this.deps.db, token, payload, now))) return 'ignored';
    await notifyWebhookDelivery(this.deps.db, TURBOTEXT_WEBHOOK_CHANNEL, token).catch(() => undefined);
    this.arrivals.emit(token);
    return 'accepted';
  }

  /** The stored delivery, if any. */
  async take(token: string): Promise<unknown> {
    const row = await readWebhookDelivery(this.deps.db, token);
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
    await deleteWebhookToken(this.deps.db, token);
  }

  /** Deletes rows past their expiry (left behind by a crash); for the cleanup task. */
  async purgeExpired(): Promise<number> {
    return deleteExpiredWebhookTokens(this.deps.db, this.deps.clock.now());
  }
}
