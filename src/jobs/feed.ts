/**
 * The live feed of job changes behind GET /api/jobs/stream: one subscription to the database's
 * notifications and one query per event, fanned out to every open stream (2,000 streams cost one
 * query per event, not 2,000). Streams are capped per process and per account.
 */
import { CHANNELS, type NotificationHub } from '../db/notifications.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { isUuid } from '../media/storage.js';
import { findJob, type JobDetailRow } from './statements.js';

export type JobEventListener = (row: JobDetailRow) => void;

export const MAX_STREAMS_PER_PROCESS = 200;
export const MAX_STREAMS_PER_ACCOUNT = 5;

export class JobFeed {
  private readonly listeners = new Map<JobEventListener, string>();
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly deps: {
      db: Db;
      hub: Pick<NotificationHub, 'subscribe'>;
      log: Logger;
      load?: (db: Db, id: string) => Promise<JobDetailRow | undefined>;
    },
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Why a new stream for this account cannot open, or undefined. */
  refusal(account: string): string | undefined {
    if (this.listeners.size >= MAX_STREAMS_PER_PROCESS)
      return `This server has ${MAX_STREAMS_PER_PROCESS} live streams open`;
    let mine = 0;
    for (const owner of this.listeners.values()) if (owner === account) mine++;
    return mine >= MAX_STREAMS_PER_ACCOUNT
      ? `At most ${MAX_STREAMS_PER_ACCOUNT} live streams per account; close another tab`
      : undefined;
  }

  add(account: string, listener: JobEventListener): () => void {
    this.listeners.set(listener, account);
    if (this.unsubscribe.length === 0) {
      this.unsubscribe = [CHANNELS.jobEnqueued, CHANNELS.jobFinalized].map((c) =>
        this.deps.hub.subscribe(c, (id) => void this.publish(id)),
      );
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        for (const u of this.unsubscribe) u();
        this.unsubscribe = [];
      }
    };
  }

  private async publish(id: string): Promise<void> {
    if (this.listeners.size === 0 || !isUuid(id)) return;
    const row = await (this.deps.load ?? findJob)(this.deps.db, id).catch((err: unknown) => {
      this.deps.log.warn({ err: { message: (err as Error).message } }, 'job feed: could not read a changed job');
      return undefined;
    });
    if (!row) return;
    for (const listener of this.listeners.keys()) listener(row);
  }
}
