import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { CHANNELS, type NotificationHub } from '../db/notifications.js';
import type { Logger } from '../logger.js';
import type { LocalJob } from './local-job.js';
import { isJobFinalized } from './statements.js';

export type WaitOutcome = 'finalized' | 'deadline' | 'aborted';

/**
 * How a waiting request learns that its job was finalized — by any worker of any instance:
 * through the database. The job-finalized notification wakes it at once; a slow poll of the job
 * row covers a notification lost while the listener was reconnecting.
 */
export class JobCompletion {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Jobs of this process's requests, while they wait: a worker of this process that claims one delivers to it. */
  private readonly local = new Map<string, LocalJob>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly db: Db,
    private readonly hub: NotificationHub,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly pollMs = 1000,
  ) {
    this.unsubscribe.push(hub.subscribe(CHANNELS.jobFinalized, (jobId) => this.wake(jobId)));
    this.unsubscribe.push(hub.onReconnect(() => this.wakeAll()));
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** When a request last started or stopped waiting for its job (Date.now()). */
  lastActivityAt = 0;

  /** Makes `job` known to this process's workers (a claim of it delivers to it) until `untrack`. */
  track(job: LocalJob): void {
    this.local.set(job.id, job);
  }

  untrack(job: LocalJob): void {
    if (this.local.get(job.id) === job) this.local.delete(job.id);
  }

  /** The local job a request of this process waits for, if any (a worker that claimed it delivers to it). */
  localJob(jobId: string): LocalJob | undefined {
    return this.local.get(jobId);
  }

  private wake(jobId: string): void {
    const set = this.waiters.get(jobId);
    if (set) for (const w of set) w();
  }

  private wakeAll(): void {
    for (const set of this.waiters.values()) for (const w of set) w();
  }

  /**
   * Resolves 'finalized' once the job row says so, 'deadline' when `deadline` passes first, or
   * 'aborted' when `signal` fires (the client went away). Database errors while polling are
   * tolerated until the deadline (the answer then is the timeout path's business).
   * `justEnqueued`: the caller inserted the job in this same turn of the event loop, so nothing can
   * have finalized it unseen yet; the first read of the row is skipped (one statement less per photo).
   */
  async waitForFinalization(
    jobId: string,
    deadline: Date,
    signal?: AbortSignal,
    options: { justEnqueued?: boolean } = {},
  ): Promise<WaitOutcome> {
    let ring: () => void = () => undefined;
    // A notification that lands while the row is being read must not be lost: remember it.
    let notified = false;
    const onNotify = () => {
      notified = true;
      ring();
    };
    let set = this.waiters.get(jobId);
    if (!set) {
      set = new Set();
      this.waiters.set(jobId, set);
    }
    set.add(onNotify);
    this.lastActivityAt = Date.now();
    const onAbort = () => ring();
    signal?.addEventListener('abort', onAbort);
    // A worker of this process delivering the result ends the wait at once (no notification round trip).
    const local = this.local.get(jobId);
    const offDelivered = local?.onDelivered(onNotify);
    let read = !options.justEnqueued;
    try {
      for (;;) {
        if (local?.result) return 'finalized';
        if (signal?.aborted) return 'aborted';
        notified = false;
        const finalized = read
          ? await isJobFinalized(this.db, jobId).catch((err: unknown) => {
              this.log.debug({ err: { message: (err as Error).message } }, 'poll of job state failed');
              return false;
            })
          : false;
        read = true;
        if (finalized) return 'finalized';
        const remaining = deadline.getTime() - this.clock.now().getTime();
        if (remaining <= 0) return 'deadline';
        if (notified || signal?.aborted) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.pollMs, remaining));
          ring = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      this.lastActivityAt = Date.now();
      signal?.removeEventListener('abort', onAbort);
      offDelivered?.();
      set.delete(onNotify);
      if (set.size === 0) this.waiters.delete(jobId);
    }
  }

  close(): void {
    for (const u of this.unsubscribe) u();
  }
}
