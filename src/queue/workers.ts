import { Value } from 'typebox/value';
import { DecodeTooLargeError } from '../media/decode-budget.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { CHANNELS, type NotificationHub } from '../db/notifications.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/storage.js';
import { extensionForMime, ImageDecodeError, normalizeOutputImage, type OutputSettings } from '../providers/imaging.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { ProviderFailure, type ProviderCallRecord } from '../providers/types.js';
import type { SettingsStore } from '../settings/store.js';
import { listTemplatesForSlot } from '../slots/statements.js';
import { claimNextJob, finalizeFailed, finalizeSucceeded, recordProviderCalls, type ClaimedJob } from './statements.js';

/** An instance whose heartbeat is older than this is considered gone (its jobs are abandoned). */
export const INSTANCE_ALIVE_WINDOW_MS = 10_000;

export interface WorkerPoolDeps {
  db: Db;
  hub: NotificationHub;
  providers: ProviderRegistry;
  media: MediaStore;
  settings: SettingsStore;
  /** Told how long each job's provider work took and how it ended (metrics). */
  onProviderWork?: (provider: string, outcome: 'success' | 'failure' | 'aborted', seconds: number) => void;
  clock: Clock;
  log: Logger;
  workerCount: number;
  /** This process's instance id: a job it owns is answered from the result file, others inline. */
  instanceId: string;
  /** Fallback poll when no notification arrives (a lost LISTEN connection, say). */
  pollIntervalMs?: number;
}

class JobAborted extends Error {
  constructor(readonly why: 'deadline' | 'finalized_elsewhere' | 'shutdown') {
    super(`job aborted: ${why}`);
  }
}

/**
 * The four in-process workers (SPEC §3). They share the event loop with the HTTP server, claim
 * jobs with FOR UPDATE SKIP LOCKED, and are woken by the job-enqueued notification (or a slow
 * poll). A running job's provider call is aborted at the job's deadline, or as soon as the job is
 * finalized elsewhere (timeout or cancellation by the waiting request), and then writes nothing.
 * Per-provider concurrency: a provider at its limit is skipped by the claim, so one slow provider
 * cannot occupy every worker.
 */
export class WorkerPool {
  private running = false;
  private claimChain: Promise<void> = Promise.resolve();
  private readonly loops: Promise<void>[] = [];
  private sleepers: Array<() => void> = [];
  private readonly inFlight = new Map<string, AbortController>();
  private readonly perProvider = new Map<string, number>();
  private readonly unsubscribe: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | undefined;
  busy = 0;

  constructor(private readonly deps: WorkerPoolDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const { hub } = this.deps;
    this.unsubscribe.push(hub.subscribe(CHANNELS.jobEnqueued, () => this.wake()));
    this.unsubscribe.push(
      hub.subscribe(CHANNELS.jobFinalized, (jobId) => this.inFlight.get(jobId)?.abort(new JobAborted('finalized_elsewhere'))),
    );
    this.unsubscribe.push(hub.onReconnect(() => this.wake()));
    this.pollTimer = setInterval(() => this.wake(), this.deps.pollIntervalMs ?? 1000);
    this.pollTimer.unref();
    for (let i = 0; i < this.deps.workerCount; i++) this.loops.push(this.loop(i));
    this.deps.log.info({ workers: this.deps.workerCount }, 'workers started');
  }

  /** Stops claiming; running jobs finish (or hit their own deadline) before this resolves. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const u of this.unsubscribe) u();
    this.wake();
    await Promise.all(this.loops);
    this.loops.length = 0;
  }

  /** Aborts every running provider call (second signal / forced shutdown). */
  abortAll(): void {
    for (const ac of this.inFlight.values()) ac.abort(new JobAborted('shutdown'));
  }

  private wake(): void {
    const s = this.sleepers;
    this.sleepers = [];
    for (const w of s) w();
  }

  private sleep(): Promise<void> {
    // A loop that finds no job just after stop() woke the sleepers must not go to sleep for good
    // (the lost wake-up that could hang a shutdown under load).
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.sleepers.push(resolve));
  }

  private saturatedProviders(): string[] {
    const out: string[] = [];
    for (const driver of this.deps.providers.list()) {
      const limit = driver.maxConcurrency ?? this.deps.workerCount;
      if ((this.perProvider.get(driver.id) ?? 0) >= limit) out.push(driver.id);
    }
    return out;
  }

  /**
   * Claims one job and counts it against its provider before the next worker of this process may
   * claim: without this, workers woken together would all see a provider as free and exceed its
   * concurrency limit.
   */
  private claimSerially(): Promise<ClaimedJob | undefined> {
    const claim = this.claimChain.then(async () => {
      const now = this.deps.clock.now();
      const job = await claimNextJob(this.deps.db, now, new Date(now.getTime() - INSTANCE_ALIVE_WINDOW_MS), this.saturatedProviders());
      if (job) {
        this.busy++;
        this.perProvider.set(job.provider, (this.perProvider.get(job.provider) ?? 0) + 1);
      }
      return job;
    });
    this.claimChain = claim.then(
      () => undefined,
      () => undefined,
    );
    return claim;
  }

  private async loop(index: number): Promise<void> {
    const log = this.deps.log.child({ worker: index });
    while (this.running) {
      let job: ClaimedJob | undefined;
      try {
        job = await this.claimSerially();
      } catch (err: unknown) {
        if (!isDatabaseUnavailable(err)) log.error({ err }, 'claim failed');
        else log.warn({ err: { message: (err as Error).message } }, 'claim failed: database unavailable');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!job) {
        await this.sleep();
        continue;
      }
      try {
        await this.process(job, log.child({ job_id: job.id, correlation_id: job.correlation_id, slot_id: job.slot_id }));
      } finally {
        this.busy--;
        this.perProvider.set(job.provider, (this.perProvider.get(job.provider) ?? 1) - 1);
        // A freed provider slot may unblock jobs skipped while it was saturated.
        this.wake();
      }
    }
  }

  private async process(job: ClaimedJob, log: Logger): Promise<void> {
    const { db, clock, providers, media, settings } = this.deps;
    const started = clock.now();
    const controller = new AbortController();
    this.inFlight.set(job.id, controller);
    const deadlineTimer = setTimeout(
      () => controller.abort(new JobAborted('deadline')),
      Math.max(0, job.expires_at.getTime() - started.getTime()),
    );
    const calls: ProviderCallRecord[] = [];
    let resultFile: string | undefined;
    log.info({ provider: job.provider, operation: job.operation }, 'job claimed');
    try {
      const driver = providers.get(job.provider);
      const operation = providers.operation(job.provider, job.operation);
      if (!driver || !operation) {
        throw new ProviderFailure('provider_unknown', `Provider ${job.provider}/${job.operation} is not available on this server`);
      }
      const jobSettings = Value.Default(operation.settingsSchema, structuredClone(job.settings)) as Record<string, unknown>;
      // Only the templates the operation uses (a slot switched to another operation keeps its old ones).
      const keys = new Set(operation.templateKeys.map((k) => k.key));
      const templates = (await listTemplatesForSlot(db, job.slot_id)).filter((t) => keys.has(t.key));
      const providerStarted = performance.now();
      const produced = await driver.process({
        jobId: job.id,
        slotId: job.slot_id,
        operation: job.operation,
        settings: jobSettings,
        photo: { path: job.payload_path, mime: job.payload_mime, size: Number(job.payload_size) },
        templates,
        signal: controller.signal,
        deadline: job.expires_at,
        clock,
        log,
        recordCall: (call) => {
          calls.push(call);
          log.info({ call }, 'provider call');
        },
      }).catch((err: unknown) => {
        this.deps.onProviderWork?.(job.provider, controller.signal.aborted ? 'aborted' : 'failure', (performance.now() - providerStarted) / 1000);
        throw err;
      });
      this.deps.onProviderWork?.(job.provider, 'success', (performance.now() - providerStarted) / 1000);
      controller.signal.throwIfAborted();
      const output = await normalizeOutputImage(produced.bytes, produced.mime, jobSettings.output as OutputSettings | undefined);
      controller.signal.throwIfAborted();
      const runtime = await settings.runtime();
      const stored = await media.writeResult(job.id, extensionForMime(output.mime), output.bytes);
      resultFile = stored.path;
      const now = clock.now();
      const won = await finalizeSucceeded(
        db,
        job.id,
        {
          path: stored.path,
          mime: output.mime,
          size: stored.size,
          sha256: stored.sha256,
          expiresAt: new Date(now.getTime() + runtime.resultTtlSeconds * 1000),
          // The waiting request reads the result through the job row: inline bytes when it is on
          // another instance, the result file (just written, still in the page cache) when it is
          // on this one — a 1 MB bytea written and read back costs a third of the throughput.
          inline: job.instance_id === this.deps.instanceId ? null : output.bytes,
          providerRef: produced.providerRef,
        },
        now,
      );
      if (won) {
        resultFile = undefined;
        log.info({ duration_ms: now.getTime() - started.getTime(), result_size: stored.size }, 'job succeeded');
      } else {
        log.info('job was finalized elsewhere first; result discarded');
      }
    } catch (err) {
      await this.fail(job, err, controller.signal, log);
    } finally {
      clearTimeout(deadlineTimer);
      this.inFlight.delete(job.id);
      if (resultFile) await media.removeFile(resultFile).catch(() => undefined);
      await recordProviderCalls(db, job.id, calls).catch((e: unknown) => log.warn({ err: { message: (e as Error).message } }, 'could not record provider calls'));
    }
  }

  private async fail(job: ClaimedJob, err: unknown, signal: AbortSignal, log: Logger): Promise<void> {
    const now = this.deps.clock.now();
    try {
      if (signal.aborted) {
        const why = signal.reason instanceof JobAborted ? signal.reason.why : 'aborted';
        log.info({ why }, 'provider work aborted; nothing written');
        if (why === 'deadline') await finalizeFailed(this.deps.db, job.id, 'timeout', { reason: 'deadline_passed' }, now);
        return;
      }
      if (err instanceof ProviderFailure) {
        log.warn({ reason: err.reason, message: err.message }, 'provider failed');
        await finalizeFailed(this.deps.db, job.id, 'provider_error', { reason: err.reason, message: err.message }, now);
        return;
      }
      if (err instanceof DecodeTooLargeError) {
        log.warn({ message: err.message }, 'image too large to decode');
        await finalizeFailed(this.deps.db, job.id, 'provider_error', { reason: 'image_too_large', message: err.message }, now);
        return;
      }
      if (err instanceof ImageDecodeError) {
        log.warn({ message: err.message }, 'image could not be decoded');
        await finalizeFailed(this.deps.db, job.id, 'provider_error', { reason: 'invalid_image', message: err.message }, now);
        return;
      }
      if ((err as { code?: string }).code === 'ENOSPC' || (err as { code?: string }).code === 'EDQUOT') {
        log.error({ message: (err as Error).message }, 'media storage full: result not written');
        await finalizeFailed(this.deps.db, job.id, 'internal_error', { reason: 'insufficient_storage' }, now);
        return;
      }
      log.error({ err }, 'job failed unexpectedly');
      await finalizeFailed(this.deps.db, job.id, 'internal_error', { reason: 'internal_error', correlation_id: job.correlation_id }, now);
    } catch (finalizeErr) {
      log.error({ err: { message: (finalizeErr as Error).message } }, 'could not finalize failed job; the sweeper will');
    }
  }
}
