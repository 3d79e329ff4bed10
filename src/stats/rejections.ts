/**
 * Booth requests refused before a job existed (401, 404, 408, 413, 415, 429…): counted for the
 * statistics per hour, slot and code, and the newest kept one by one (time, slot, code, address,
 * booth name) for the jobs monitor's "Refused" view and the booth list. Both are held in memory and
 * written every few seconds, so a flood of refusals costs no database write per request:
 *  - counts are exact; slot ids that are not ours (a 404 flood with random paths) are counted
 *    under '' so their keys stay bounded;
 *  - single refusals are sampled: at most SAMPLES_PER_CLIENT per address and SAMPLES_PER_FLUSH in
 *    all between two writes, and the table keeps the newest KEEP_SAMPLES rows.
 */
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';

const SLOT_ID = /^slot-[0-9]{3}$/;
export const SAMPLES_PER_FLUSH = 100;
export const SAMPLES_PER_CLIENT = 5;
export const KEEP_SAMPLES = 1000;
/** Longest slot id, booth name or user id kept with a refusal (they come from strangers). */
const TEXT_LIMIT = 64;

interface Pending {
  hour: Date;
  slotId: string;
  code: string;
  status: number;
  count: number;
}

/** Who was refused, as far as the request said before it was refused. */
export interface RefusedClient {
  address: string;
  boothName?: string;
  boothUserId?: string;
}

interface Sample {
  at: Date;
  slotId: string;
  status: number;
  code: string;
  address: string;
  boothName: string | null;
  boothUserId: string | null;
}

export class RejectionCounter {
  private pending = new Map<string, Pending>();
  private samples: Sample[] = [];
  private samplesPerClient = new Map<string, number>();
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

  count(slotId: string, status: number, code: string, client?: RefusedClient): void {
    const at = this.deps.clock.now();
    const hour = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
    const slot = SLOT_ID.test(slotId) ? slotId : '';
    const key = `${hour.getTime()}|${slot}|${code}`;
    const p = this.pending.get(key);
    if (p) p.count += 1;
    else this.pending.set(key, { hour, slotId: slot, code, status, count: 1 });
    if (client) this.sample({ at, slotId: text(slotId) ?? '', status, code, address: client.address, boothName: text(client.boothName), boothUserId: text(client.boothUserId) });
  }

  private sample(s: Sample): void {
    const seen = this.samplesPerClient.get(s.address) ?? 0;
    if (seen >= SAMPLES_PER_CLIENT || this.samples.length >= SAMPLES_PER_FLUSH) return;
    this.samplesPerClient.set(s.address, seen + 1);
    this.samples.push(s);
  }

  /** Writes the counts and samples so far. What cannot be written is kept for the next try. */
  async flush(): Promise<void> {
    if (this.pending.size === 0 && this.samples.length === 0) return;
    const batch = [...this.pending.values()];
    const samples = this.samples;
    this.pending = new Map();
    this.samples = [];
    this.samplesPerClient = new Map();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        if (batch.length > 0) {
          await sql`
            INSERT INTO ingest_rejection_count (hour, slot_id, code, status, count)
            SELECT * FROM unnest(${batch.map((b) => b.hour)}::timestamptz[], ${batch.map((b) => b.slotId)}::text[],
                                 ${batch.map((b) => b.code)}::text[], ${batch.map((b) => b.status)}::int[], ${batch.map((b) => b.count)}::bigint[])
            ON CONFLICT (hour, slot_id, code) DO UPDATE SET count = ingest_rejection_count.count + EXCLUDED.count`.execute(trx);
        }
        if (samples.length > 0) await insertRefusals(trx, samples);
      });
    } catch (err) {
      for (const b of batch) {
        const key = `${b.hour.getTime()}|${b.slotId}|${b.code}`;
        const p = this.pending.get(key);
        if (p) p.count += b.count;
        else this.pending.set(key, b);
      }
      for (const s of samples) this.sample(s);
      this.deps.log.warn({ err: { message: (err as Error).message } }, 'refusal counts not written yet; retrying');
    }
  }
}

function text(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value.slice(0, TEXT_LIMIT);
}

/** The samples, then the table trimmed to the newest KEEP_SAMPLES rows. */
async function insertRefusals(db: Db, samples: Sample[]): Promise<void> {
  await sql`
    INSERT INTO ingest_refusal (occurred_at, slot_id, status, code, client_address, booth_name, booth_user_id)
    SELECT * FROM unnest(${samples.map((s) => s.at)}::timestamptz[], ${samples.map((s) => s.slotId)}::text[], ${samples.map((s) => s.status)}::int[],
                         ${samples.map((s) => s.code)}::text[], ${samples.map((s) => s.address)}::text[],
                         ${samples.map((s) => s.boothName)}::text[], ${samples.map((s) => s.boothUserId)}::text[])`.execute(db);
  await sql`
    DELETE FROM ingest_refusal
     WHERE id <= (SELECT id FROM ingest_refusal ORDER BY id DESC OFFSET ${KEEP_SAMPLES} LIMIT 1)`.execute(db);
}
