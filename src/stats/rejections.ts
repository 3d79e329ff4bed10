/**
 * Booth requests refused before a job existed (401, 404, 408, 413, 415, 429…), counted for the
 * statistics per hour, slot and code. Counted in memory and written every few seconds in one
 * statement, so a flood of refusals costs no database write per request; slot ids that are not
 * ours (a 404 flood with random paths) are counted under '' so the keys stay bounded.
 */
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';

const SLOT_ID = /^slot-[0-9]{3}$/;

interface Pending {
  hour: Date;
  slotId: string;
  code: string;
  status: number;
  count: number;
}

export class RejectionCounter {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger },
    private readonly flushIntervalMs = 5000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  count(slotId: string, status: number, code: string): void {
    const at = this.deps.clock.now();
    const hour = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
    const slot = SLOT_ID.test(slotId) ? slotId : '';
    const key = `${hour.getTime()}|${slot}|${code}`;
    const p = this.pending.get(key);
    if (p) p.count += 1;
    else this.pending.set(key, { hour, slotId: slot, code, status, count: 1 });
  }

  /** Writes the counts so far (one statement). Counts that cannot be written are kept for the next try. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await sql`
        INSERT INTO ingest_rejection_count (hour, slot_id, code, status, count)
        SELECT * FROM unnest(${batch.map((b) => b.hour)}::timestamptz[], ${batch.map((b) => b.slotId)}::text[],
                             ${batch.map((b) => b.code)}::text[], ${batch.map((b) => b.status)}::int[], ${batch.map((b) => b.count)}::bigint[])
        ON CONFLICT (hour, slot_id, code) DO UPDATE SET count = ingest_rejection_count.count + EXCLUDED.count`.execute(this.deps.db);
    } catch (err) {
      for (const b of batch) {
        const key = `${b.hour.getTime()}|${b.slotId}|${b.code}`;
        const p = this.pending.get(key);
        if (p) p.count += b.count;
        else this.pending.set(key, b);
      }
      this.deps.log.warn({ err: { message: (err as Error).message } }, 'refusal counts not written yet; retrying');
    }
  }
}
