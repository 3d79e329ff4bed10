import os from 'node:os';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { finalizeAbandonedJobs, heartbeatInstance, markInstanceStopped, registerInstance } from './statements.js';
import { INSTANCE_ALIVE_WINDOW_MS } from './workers.js';

/**
 * This process's presence in the `instance` table and the sweep of abandoned jobs: every
 * `intervalMs` it heart-beats, then finalizes jobs past their deadline (timeout) or whose owner
 * instance is gone (cancelled) — so a crashed instance never leaves a job unfinalized, and such a
 * job is never picked up again.
 */
export class QueueMaintenance {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      log: Logger;
      instanceId: string;
      intervalMs?: number;
      graceMs?: number;
    },
  ) {}

  async register(): Promise<void> {
    await registerInstance(this.deps.db, this.deps.instanceId, os.hostname(), process.pid, this.deps.clock.now());
  }

  start(): void {
    const interval = this.deps.intervalMs ?? 2000;
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  async tick(): Promise<string[]> {
    const { db, clock, log, instanceId } = this.deps;
    try {
      const now = clock.now();
      await heartbeatInstance(db, instanceId, now);
      const swept = await finalizeAbandonedJobs(
        db,
        now,
        this.deps.graceMs ?? 2000,
        new Date(now.getTime() - INSTANCE_ALIVE_WINDOW_MS),
      );
      if (swept.length > 0) log.info({ jobs: swept }, 'finalized abandoned jobs');
      return swept;
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'queue maintenance failed; will retry');
      return [];
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await markInstanceStopped(this.deps.db, this.deps.instanceId, this.deps.clock.now()).catch(() => undefined);
  }
}
