import pg from 'pg';
import type { Logger } from '../logger.js';

export type NotificationHandler = (payload: string) => void;

/** Channels the instances speak on (payload: the job id; for accounts, the user name). */
export const CHANNELS = {
  jobEnqueued: 'photochanger_job_enqueued',
  jobFinalized: 'photochanger_job_finalized',
  accountUnlocked: 'photochanger_account_unlocked',
} as const;

/**
 * One dedicated LISTEN connection per process. It reconnects by itself with backoff when the
 * database goes away, and tells `onReconnect` subscribers so they can re-read state they may have
 * missed (notifications are not queued for a disconnected listener).
 */
export class NotificationHub {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private connected = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  get isConnected(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.connect(0);
  }

  subscribe(channel: string, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  private async connect(attempt: number): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'photochanger-listen',
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    client.on('notification', (msg) => {
      const set = this.handlers.get(msg.channel);
      if (!set) return;
      for (const h of set) h(msg.payload ?? '');
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.connected = false;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (!this.stopped) {
        this.log.warn(
          { err: err ? { message: err.message } : undefined },
          'notification listener lost its connection; reconnecting',
        );
        this.scheduleReconnect(1);
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const channel of Object.values(CHANNELS)) await client.query(`LISTEN ${channel}`);
      this.client = client;
      this.connected = true;
      if (attempt > 0) {
        this.log.info('notification listener reconnected');
        for (const h of this.reconnectHandlers) h();
      }
    } catch (err) {
      client.end().catch(() => undefined);
      if (attempt === 0 && !this.stopped) throw err;
      this.scheduleReconnect(attempt + 1);
    }
  }

  private scheduleReconnect(attempt: number): void {
    if (this.stopped || this.retryTimer) return;
    const delay = Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect(attempt);
    }, delay);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) await client.end().catch(() => undefined);
  }
}
