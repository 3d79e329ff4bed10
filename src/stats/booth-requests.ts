/**
 * The booth check: each booth's last requests as the server received them, so an operator wiring a
 * booth (DSLR Remote Pro, Breeze Booth, a hot folder) sees what it really sends — the parts in
 * order with their sizes and declared types, the headers that matter, the query keys — and what it
 * was answered, without reading logs. Never a password, a field's value or an image.
 *
 * A booth is its `name` field, else its client address. Requests are held in memory and written
 * every few seconds (no database write on the booth's path); a stranger's flood is sampled per
 * address and minute, and the table keeps the newest KEEP_PER_BOOTH per booth and KEEP_BOOTHS booths.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { ReceivedPart } from '../media/upload.js';
import { storedText } from '../json-safety.js';
import { BatchedWriter, MinuteSampler } from './batching.js';
import { insertBoothRequests, listBoothRequests, type BoothRequestRow } from './statements.js';

export const KEEP_PER_BOOTH = 20;
export const KEEP_BOOTHS = 200;
/** Requests sampled per client address and minute (a booth shoots far fewer). */
const PER_CLIENT_PER_MINUTE = 30;
const PER_MINUTE = 600;

/** The request headers a booth check shows (the rest may carry credentials, or nothing useful). */
export const BOOTH_CHECK_HEADERS = [
  'user-agent',
  'content-type',
  'content-length',
  'transfer-encoding',
  'expect',
] as const;

export interface BoothRequestEntry {
  at: Date;
  slotId: string;
  address: string;
  /** The client as the caps count it (src/auth/attempts.ts clientKey). */
  clientKey: string;
  boothName: string | undefined;
  httpVersion: string;
  headers: Partial<Record<(typeof BOOTH_CHECK_HEADERS)[number], string>>;
  queryKeys: string[];
  parts: ReceivedPart[];
  status: number;
  code: string | undefined;
  jobId: string | undefined;
  /** Milliseconds from the request's start: the body read, and the answer. */
  timings: { body_ms?: number; total_ms: number };
}

/** What GET /api/booths/{key}/requests returns for one request. */
export interface BoothRequestView {
  at: string;
  slot_id: string;
  client_address: string;
  http_version: string;
  headers: Record<string, string>;
  query_keys: string[];
  parts: ReceivedPart[];
  status: number;
  code: string | null;
  job_id: string | null;
  timings: { body_ms?: number; total_ms: number };
}

export class BoothRequestLog extends BatchedWriter {
  private pending: BoothRequestEntry[] = [];
  private readonly sampler = new MinuteSampler({ perClient: PER_CLIENT_PER_MINUTE, total: PER_MINUTE });

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger },
    flushIntervalMs = 3000,
  ) {
    super(flushIntervalMs);
  }

  /** The booth a request belongs to: its `name` field, else its address. */
  static keyOf(boothName: string | undefined, address: string): string {
    const name = clean(boothName ?? '');
    return name !== '' ? name : address;
  }

  record(entry: BoothRequestEntry): void {
    if (this.sampler.take(entry.clientKey, entry.at)) this.pending.push(entry);
  }

  /** Writes what is pending (dropped, not retried, when the database cannot take it: best effort). */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await insertBoothRequests(
        this.deps.db,
        batch.map((e) => ({
          booth_key: BoothRequestLog.keyOf(e.boothName, e.address),
          occurred_at: e.at,
          slot_id: clean(e.slotId),
          client_address: e.address,
          request: JSON.stringify({
            http_version: e.httpVersion,
            headers: Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k, clean(v ?? '', 200)])),
            query_keys: e.queryKeys.slice(0, 32).map((k) => clean(k)),
            parts: e.parts.map((p) => ({ ...p, name: clean(p.name), ...(p.type ? { type: clean(p.type, 100) } : {}) })),
          }),
          status: e.status,
          code: e.code ?? null,
          job_id: e.jobId ?? null,
          timings: JSON.stringify(e.timings),
        })),
        { perBooth: KEEP_PER_BOOTH, booths: KEEP_BOOTHS },
      );
    } catch (err) {
      this.deps.log.warn(
        { err: { message: (err as Error).message }, dropped: batch.length },
        'booth requests not written; dropped',
      );
    }
  }

  /** A booth's last requests, newest first (pending ones are written first). */
  async list(key: string): Promise<BoothRequestView[]> {
    await this.flush();
    return (await listBoothRequests(this.deps.db, key, KEEP_PER_BOOTH)).map(view);
  }
}

function view(row: BoothRequestRow): BoothRequestView {
  const request = row.request as {
    http_version: string;
    headers: Record<string, string>;
    query_keys: string[];
    parts: ReceivedPart[];
  };
  return {
    at: row.occurred_at.toISOString(),
    slot_id: row.slot_id,
    client_address: row.client_address,
    http_version: request.http_version,
    headers: request.headers,
    query_keys: request.query_keys,
    parts: request.parts,
    status: row.status,
    code: row.code,
    job_id: row.job_id,
    timings: row.timings as BoothRequestView['timings'],
  };
}

/** A stranger's text as the booth check stores it (src/json-safety.ts storedText). */
const clean = (value: string, max = 64): string => storedText(value, max);
