/**
 * Booth requests refused before a job existed (401, 404, 408, 413, 415, 429…): counted for the
 * statistics per hour, slot and code, and the newest kept one by one (time, slot, code, address,
 * booth name) for the jobs monitor's "Refused" view and the booth list. Both are held in memory and
 * written every few seconds, so a flood of refusals costs no database write per request:
 *  - counts are exact; slot ids that are not ours (a 404 flood with random paths) are counted
 *    under '' so their keys stay bounded;
 *  - single refusals are sampled: at most SAMPLES_PER_CLIENT a minute per client (an IPv6 /64 is
 *    one client) and SAMPLES_PER_MINUTE in all, and the table keeps the newest KEEP_SAMPLES rows.
 *    Samples are best effort: a batch that cannot be written is dropped, never retried forever.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { isSlotId } from '../schemas.js';
import { BatchedWriter, MinuteSampler } from './batching.js';
import { storedText } from '../json-safety.js';
import { addRejectionCounts, insertRefusalSamples, type RefusalSample, type RejectionCount } from './statements.js';

export const SAMPLES_PER_MINUTE = 120;
export const SAMPLES_PER_CLIENT = 5;
export const KEEP_SAMPLES = 1000;
/** Longest slot id, booth name or user id kept with a refusal (they come from strangers). */
const TEXT_LIMIT = 64;
/** A refusal's message is our own sentence; bounded all the same. */
const MESSAGE_LIMIT = 300;

/** Who was refused, as far as the request said before it was refused. */
export interface RefusedClient {
  address: string;
  /** The client as the caps count it (src/auth/attempts.ts clientKey: an IPv6 /64 is one client). */
  key: string;
  boothName?: string;
  boothUserId?: string;
  /** The message of the answer, as the booth read it. */
  message?: string;
}

export class RejectionCounter extends BatchedWriter {
  private pending = new Map<string, RejectionCount>();
  private samples: RefusalSample[] = [];
  private readonly sampler = new MinuteSampler({ perClient: SAMPLES_PER_CLIENT, total: SAMPLES_PER_MINUTE });

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger },
    flushIntervalMs = 5000,
  ) {
    super(flushIntervalMs);
  }

  count(slotId: string, status: number, code: string, client?: RefusedClient): void {
    const at = this.deps.clock.now();
    const hour = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
    const slot = isSlotId(slotId) ? slotId : '';
    const key = `${hour.getTime()}|${slot}|${code}`;
    const p = this.pending.get(key);
    if (p) p.count += 1;
    else this.pending.set(key, { hour, slotId: slot, code, status, count: 1 });
    if (client && this.sampler.take(client.key, at)) {
      this.samples.push({
        at,
        slotId: text(slotId) ?? '',
        status,
        code,
        address: text(client.address) ?? '',
        boothName: text(client.boothName),
        boothUserId: text(client.boothUserId),
        message: client.message === undefined ? null : storedText(client.message, MESSAGE_LIMIT) || null,
      });
    }
  }

  /** Writes the counts and samples so far. Counts that cannot be written are kept for the next try. */
  async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    const samples = this.samples;
    this.pending = new Map();
    this.samples = [];
    if (batch.length > 0) {
      try {
        await addRejectionCounts(this.deps.db, batch);
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
    if (samples.length > 0) {
      try {
        await insertRefusalSamples(this.deps.db, samples, KEEP_SAMPLES);
      } catch (err) {
        this.deps.log.warn(
          { err: { message: (err as Error).message }, dropped: samples.length },
          'refusal samples not written; dropped',
        );
      }
    }
  }
}

/** A stranger's text as stored: control characters (PostgreSQL refuses NUL) removed, cut, null when empty. */
function text(value: string | undefined): string | null {
  const clean = value === undefined ? '' : storedText(value, TEXT_LIMIT);
  return clean === '' ? null : clean;
}
