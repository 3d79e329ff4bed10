import type { ProviderCallRecord } from '../providers/types.js';
import type { Db } from '../db/database.js';
import type { FailureReason } from '../db/schema.js';

export interface JobFilter {
  slotId?: string;
  status?: 'pending' | 'processing';
  finalized?: boolean;
  failureReason?: FailureReason | 'none';
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
  newestFirst: boolean;
}

/** The columns the monitor shows; never payload bytes or the inline result. */
const SUMMARY_COLUMNS = [
  'id',
  'slot_id',
  'provider',
  'operation',
  'status',
  'is_finalized',
  'failure_reason',
  'is_test',
  'received_at',
  'created_at',
  'claimed_at',
  'finalized_at',
  'expires_at',
] as const;

export type JobSummaryRow = { [K in (typeof SUMMARY_COLUMNS)[number]]: unknown } & {
  id: string;
  slot_id: string;
  provider: string;
  operation: string;
  status: 'pending' | 'processing';
  is_finalized: boolean;
  failure_reason: FailureReason | null;
  is_test: boolean;
  received_at: Date;
  created_at: Date;
  claimed_at: Date | null;
  finalized_at: Date | null;
  expires_at: Date;
};

/** A page of jobs matching the filter, and how many match in all. */
export async function listJobs(db: Db, f: JobFilter): Promise<{ rows: JobSummaryRow[]; total: number }> {
  let q = db.selectFrom('job');
  if (f.slotId) q = q.where('slot_id', '=', f.slotId);
  if (f.status) q = q.where('status', '=', f.status).where('is_finalized', '=', false);
  if (f.finalized !== undefined) q = q.where('is_finalized', '=', f.finalized);
  if (f.failureReason === 'none') q = q.where('failure_reason', 'is', null);
  else if (f.failureReason) q = q.where('failure_reason', '=', f.failureReason);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  const [rows, count] = await Promise.all([
    q
      .select([...SUMMARY_COLUMNS])
      .orderBy('created_at', f.newestFirst ? 'desc' : 'asc')
      .orderBy('id')
      .limit(f.limit)
      .offset(f.offset)
      .execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as JobSummaryRow[], total: Number(count.n) };
}

export type JobDetailRow = JobSummaryRow & {
  failure_detail: Record<string, unknown> | null;
  provider_calls: ProviderCallRecord[];
  notices: string[];
  metadata: Record<string, unknown>;
  result_path: string | null;
  result_mime: string | null;
  result_size: number | null;
  result_sha256: string | null;
  result_expires_at: Date | null;
  correlation_id: string | null;
  client_address: string | null;
};

export async function findJob(db: Db, id: string): Promise<JobDetailRow | undefined> {
  const row = await db
    .selectFrom('job')
    .select([
      ...SUMMARY_COLUMNS,
      'failure_detail',
      'provider_calls',
      'notices',
      'metadata',
      'result_path',
      'result_mime',
      'result_size',
      'result_sha256',
      'result_expires_at',
      'correlation_id',
      'client_address',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
  return row as JobDetailRow | undefined;
}
