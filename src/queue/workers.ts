import { Value } from 'typebox/value';
import { DecodeTooLargeError } from '../media/decode-budget.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { CHANNELS, type NotificationHub } from '../db/notifications.js';
import type { Logger } from '../logger.js';
import { GUEST_QR_NOTICES, guestLinkOf, guestQrState } from '../media/guest-qr.js';
import type { MediaStore } from '../media/storage.js';
import { ImageDecodeError, normalizeOutputImage, type OutputSettings } from '../media/imaging.js';
import { extensionForMime } from '../media/mime.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { ProviderFailure, type ProviderCallRecord, type ProviderResult } from '../providers/types.js';
import type { FailoverStep } from '../db/schema.js';
import type { SettingsStore } from '../settings/store.js';
import { claimNextJob, finalizeFailed, finalizeSucceeded, recordProviderCalls, type ClaimedJob } from './statements.js';
import type { Thumbnails } from '../gallery/thumbnails.js';
import type { JobCompletion } from './completion.js';
import type { LocalJob } from './local-job.js';
import { ProviderSlots } from './provider-slots.js';

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
  /** The jobs this process's requests wait for: a claimed one of them gets its success in memory. */
  completion?: Pick<JobCompletion, 'localJob'>;
  /** Makes each result's gallery thumbnail after the answer (absent in tests that do not need it). */
  thumbnails?: Thumbnails;
  /** The address guests reach this server at now, and what kind (a slot's guest_link QR code: src/ops/public-address.ts). */
  guestBase?: () => { url: string | undefined; source: 'configured' | 'lan' | 'none' };
  /** Fallback poll when no notification arrives (a lost LISTEN connection, say). */
  pollIntervalMs?: number;
  /**
   * Why a step's model cannot be called, known without calling it (the key's live model list no
   * longer offers it: src/providers/models.ts ModelCatalog.unlisted); undefined to call.
   */
  modelGone?: (
    provider: string,
    settings: Record<string, unknown>,
    request: { slotId: string; clock: Clock },
  ) => ProviderFailure | undefined;
}

/** The next provider of a failover is tried only with at least this much time left. */
const MIN_FAILOVER_ATTEMPT_MS = 1000;
/** Refusals for safety reasons: another provider is not asked unless the slot says so. */
const SAFETY_REASONS = new Set(['safety_block', 'moderation_blocked', 'recitation']);

/**
 * A worker of this process set aside for a job about to be enqueued (WorkerPool.reserve): start
 * (the job's row is, or is about to be, in as processing) or cancel (it is not) must follow; the
 * first of them counts and any later call does nothing.
 */
export interface WorkerReservation {
  /** The job's provider reads the whole photo (ProviderDriver.readsPhoto): worth reading it during the enqueue. */
  readonly wantsPhoto: boolean;
  start(job: LocalJob): void;
  cancel(): void;
}

/** What the enqueueing side sees of the pool. */
export interface JobDispatcher {
  reserve(jobId: string, provider: string): WorkerReservation | undefined;
}

class JobAborted extends Error {
  constructor(readonly why: 'deadline' | 'finalized_elsewhere' | 'shutdown' | 'share' | 'not_enqueued') {
    super(`job aborted: ${why}`);
  }
}

/**
 * The four in-process workers (docs/architecture.md). They share the event loop with the HTTP server, claim
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
  /** Loops waiting for work: 'wake' (maybe something to claim) or 'done' (their reserved job is over). */
  private sleepers: Array<(reason: 'wake' | 'done') => void> = [];
  private readonly inFlight = new Map<string, AbortController>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Jobs handed to a reserved worker: their job-enqueued notification wakes nobody. */
  private readonly reserved = new Set<string>();
  /** Claims under way: a reservation waits for none, so it is refused while one runs (see reserve). */
  private claimsInFlight = 0;
  /** A new job's notification found no sleeping worker: the next loop to go to sleep claims first. */
  private unclaimedNotice = false;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Jobs each provider runs in this process (their total is `busy`). */
  private readonly slots: ProviderSlots;

  constructor(private readonly deps: WorkerPoolDeps) {
    this.slots = new ProviderSlots((provider) => deps.providers.get(provider)?.maxConcurrency ?? deps.workerCount);
  }

  /** Workers of this process running a job (or set aside for one). */
  get busy(): number {
    return this.slots.busy;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { hub } = this.deps;
    // One new job wakes one sleeping worker (waking all made the others' claims find nothing while
    // the next photo arrived); a worker that finishes, the poll and a reconnect wake them all.
    this.unsubscribe.push(
      hub.subscribe(CHANNELS.jobEnqueued, (jobId) => (this.reserved.has(jobId) ? undefined : this.wakeOne())),
    );
    this.unsubscribe.push(
      hub.subscribe(CHANNELS.jobFinalized, (jobId) =>
        this.inFlight.get(jobId)?.abort(new JobAborted('finalized_elsewhere')),
      ),
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

  /**
   * A sleeping worker of this process, set aside for a job the caller is about to enqueue as
   * already claimed: the job starts without a claim statement and without waiting for the
   * notification to come back from the database. Only a sleeping worker is taken (it found nothing
   * to claim, so no older job waits for it) and only when the provider has room; otherwise
   * undefined, and the job is enqueued as pending for any instance's workers.
   */
  reserve(jobId: string, provider: string): WorkerReservation | undefined {
    // A claim under way may take a job of the same provider after having seen it unsaturated.
    if (!this.running || this.claimsInFlight > 0 || this.isSaturated(provider)) return undefined;
    const sleeper = this.sleepers.shift();
    if (!sleeper) return undefined;
    this.slots.take(provider);
    this.reserved.add(jobId);
    let settled = false;
    // The worker's loop resumes (and claims) once the job is over, or at once when it never starts.
    const release = () => {
      this.reserved.delete(jobId);
      this.finished(provider);
      sleeper('done');
    };
    return {
      wantsPhoto: this.deps.providers.get(provider)?.readsPhoto ?? false,
      start: (local) => {
        if (settled) return;
        settled = true;
        const { job } = local;
        const log = this.deps.log.child({ job_id: job.id, correlation_id: job.correlation_id, slot_id: job.slot_id });
        void this.process(job, log, local).finally(release);
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        release();
      },
    };
  }

  /** A job of `provider` is over (or a reservation was not used): its counts drop. */
  private finished(provider: string): void {
    const wasSaturated = this.slots.give(provider);
    // A freed provider slot may unblock jobs the sleeping workers skipped while it was
    // saturated; otherwise they have nothing new to find (the finishing loop claims again
    // itself), and waking them would cost an empty claim each per finished job.
    if (wasSaturated) this.wake();
  }

  private wakeOne(): void {
    const sleeper = this.sleepers.shift();
    if (sleeper) sleeper('wake');
    else this.unclaimedNotice = true;
  }

  private wake(): void {
    const s = this.sleepers;
    this.sleepers = [];
    for (const w of s) w('wake');
  }

  private sleep(): Promise<'wake' | 'done'> {
    // A loop that finds no job just after stop() woke the sleepers must not go to sleep for good
    // (the lost wake-up that could hang a shutdown under load).
    if (!this.running) return Promise.resolve('wake');
    // A job announced while every worker was busy or claiming: claim once more before sleeping.
    if (this.unclaimedNotice) {
      this.unclaimedNotice = false;
      return Promise.resolve('wake');
    }
    return new Promise((resolve) => this.sleepers.push(resolve));
  }

  private isSaturated(provider: string): boolean {
    return this.slots.isFull(provider);
  }

  private saturatedProviders(): string[] {
    return this.deps.providers
      .list()
      .filter((driver) => this.isSaturated(driver.id))
      .map((driver) => driver.id);
  }

  /**
   * Claims one job and counts it against its provider before the next worker of this process may
   * claim: without this, workers woken together would all see a provider as free and exceed its
   * concurrency limit.
   */
  private claimSerially(): Promise<ClaimedJob | undefined> {
    this.claimsInFlight++;
    const claim = this.claimChain.then(async () => {
      const now = this.deps.clock.now();
      const job = await claimNextJob(
        this.deps.db,
        now,
        new Date(now.getTime() - INSTANCE_ALIVE_WINDOW_MS),
        this.saturatedProviders(),
      );
      if (job) this.slots.take(job.provider);
      return job;
    });
    void claim.then(
      () => this.claimsInFlight--,
      () => this.claimsInFlight--,
    );
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
        // Back from a reserved job while other workers sleep: nothing was left unclaimed meanwhile
        // (a new job would have woken or reserved one of them), so no claim is spent on finding out.
        let reason = await this.sleep();
        while (reason === 'done' && this.running && this.sleepers.length > 0) reason = await this.sleep();
        continue;
      }
      try {
        await this.process(
          job,
          log.child({ job_id: job.id, correlation_id: job.correlation_id, slot_id: job.slot_id }),
          this.deps.completion?.localJob(job.id),
        );
      } finally {
        this.finished(job.provider);
      }
    }
  }

  /** Runs `job`; `local`: the same job as a request of this process holds it (it gets the success in memory). */
  private async process(job: ClaimedJob, log: Logger, local?: LocalJob): Promise<void> {
    const { db, clock, media, settings } = this.deps;
    const started = clock.now();
    const controller = new AbortController();
    this.inFlight.set(job.id, controller);
    // Registered first, so the job is aborted before anything awaiting `admitted` resumes.
    const admitted = local?.admission.catch(() => controller.abort(new JobAborted('not_enqueued')));
    const deadlineTimer = setTimeout(
      () => controller.abort(new JobAborted('deadline')),
      Math.max(0, job.expires_at.getTime() - started.getTime()),
    );
    const calls: ProviderCallRecord[] = [];
    let resultFile: string | undefined;
    let thumbnailOf: string | undefined;
    // A success records its provider calls in its finalize statement; any other end, after it.
    let callsRecorded = false;
    log.debug({ provider: job.provider, operation: job.operation }, 'job claimed');
    // The result's retention, read while the provider works (not after it, on the answer's path).
    const runtimeRead = settings.runtime();
    runtimeRead.catch(() => undefined);
    try {
      const { produced, output, answeredBy, notices } = await this.produce(job, controller, calls, log, local);
      await admitted; // the row is in before anything is written to it
      controller.signal.throwIfAborted();
      const runtime = await runtimeRead;
      const stored = await media.writeResult(job.id, extensionForMime(output.mime), output.bytes);
      resultFile = stored.path;
      const now = clock.now();
      const finalizing = finalizeSucceeded(
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
          answeredBy,
          notices,
          providerCalls: calls,
        },
        now,
      );
      // A request of this process waiting for the job gets the bytes at once, with the finalize's
      // outcome to wait for: it does its own work meanwhile and answers once the row says so.
      local?.deliver({
        bytes: output.bytes,
        mime: output.mime,
        claimedAt: started,
        finalizedAt: now,
        recorded: finalizing.catch(() => false),
      });
      const won = await finalizing;
      if (won) {
        callsRecorded = true;
        resultFile = undefined;
        log.info({ duration_ms: now.getTime() - started.getTime(), result_size: stored.size }, 'job succeeded');
        thumbnailOf = stored.path;
      } else {
        log.info('job was finalized elsewhere first; result discarded');
      }
    } catch (err) {
      await admitted;
      await this.fail(job, err, controller.signal, log);
    } finally {
      clearTimeout(deadlineTimer);
      this.inFlight.delete(job.id);
      if (resultFile) await media.removeFile(resultFile).catch(() => undefined);
      if (!callsRecorded)
        await recordProviderCalls(db, job.id, calls).catch((e: unknown) =>
          log.warn({ err: { message: (e as Error).message } }, 'could not record provider calls'),
        );
      // After the answer, in the background (the worker is free at once): the gallery's thumbnail.
      if (thumbnailOf && !job.is_test) this.deps.thumbnails?.enqueue(job.id, thumbnailOf);
    }
  }

  /**
   * The image for a job: from the slot's provider, or — when it fails with something another
   * provider could do better (unavailable, rate limited, no image, an unknown model, no time left
   * in its share) — from the next provider of the slot's failover, within the same deadline. Each
   * provider gets an equal share of the time left when its turn comes (the last one all of it); a
   * safety refusal stands unless the slot says otherwise. With no failover this is one call with
   * the whole window, as before.
   */
  private async produce(
    job: ClaimedJob,
    controller: AbortController,
    calls: ProviderCallRecord[],
    log: Logger,
    local: LocalJob | undefined,
  ): Promise<{
    produced: ProviderResult;
    output: { bytes: Buffer; mime: string };
    answeredBy: string;
    notices: string[];
  }> {
    const { clock, providers } = this.deps;
    const steps: FailoverStep[] = [
      { provider: job.provider, operation: job.operation, settings: job.settings },
      ...(job.failover?.steps ?? []),
    ];
    const onSafety = job.failover?.on_safety ?? false;
    const slotTemplates = job.templates;
    // Read while the job was enqueued (a read that failed leaves the driver to read the file itself).
    const contents = await local?.photo?.catch(() => undefined);
    let lastError: unknown;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const last = i === steps.length - 1;
      const driver = providers.get(step.provider);
      const operation = providers.operation(step.provider, step.operation);
      if (!driver || !operation) {
        lastError = new ProviderFailure(
          'provider_unknown',
          `Provider ${step.provider}/${step.operation} is not available on this server`,
        );
        if (last) throw lastError;
        continue;
      }
      const now = clock.now().getTime();
      const remaining = job.expires_at.getTime() - now;
      if (i > 0 && remaining < MIN_FAILOVER_ATTEMPT_MS) break;
      const share = last ? remaining : Math.floor(remaining / (steps.length - i));
      const attempt = new AbortController();
      const shareTimer = last
        ? undefined
        : setTimeout(() => attempt.abort(new JobAborted('share')), Math.max(0, share));
      const signal = AbortSignal.any([controller.signal, attempt.signal]);
      const settings = Value.Default(operation.settingsSchema, structuredClone(step.settings)) as Record<
        string,
        unknown
      >;
      // Only the templates the operation uses (a slot switched to another operation keeps its old ones).
      const keys = new Set(operation.templateKeys.map((k) => k.key));
      const started = performance.now();
      try {
        if (i > 0)
          log.warn(
            {
              from: steps[i - 1]!.provider,
              to: step.provider,
              reason: (lastError as ProviderFailure | undefined)?.reason,
            },
            'failing over to the next provider',
          );
        // A model the key's live list dropped fails at once, without a round trip to the provider.
        const gone = this.deps.modelGone?.(step.provider, settings, { slotId: job.slot_id, clock });
        if (gone) {
          calls.push({
            provider: step.provider,
            ...(typeof settings.model === 'string' ? { model: settings.model } : {}),
            attempt: 1,
            durationMs: 0,
            outcome: 'failure',
            detail: `${gone.reason}: not in the key's live model list (no call made)`,
          });
          throw gone;
        }
        const produced = await driver.process({
          jobId: job.id,
          slotId: job.slot_id,
          operation: step.operation,
          settings,
          photo: {
            path: job.payload_path,
            mime: job.payload_mime,
            size: Number(job.payload_size),
            ...(contents ? { contents } : {}),
          },
          templates: slotTemplates.filter((t) => keys.has(t.key)),
          signal,
          deadline: new Date(now + share), // the job's own deadline for the last provider
          clock,
          log,
          // The driver logs each call itself (src/providers/http.ts recordCall).
          recordCall: (call) => calls.push(call),
          ...(local ? { ready: local.admission } : {}),
        });
        this.deps.onProviderWork?.(step.provider, 'success', (performance.now() - started) / 1000);
        controller.signal.throwIfAborted();
        const base = this.deps.guestBase?.() ?? { url: undefined, source: 'none' as const };
        const output = await normalizeOutputImage(
          produced.bytes,
          produced.mime,
          settings.output as OutputSettings | undefined,
          controller.signal,
          base.url ? guestLinkOf(base.url, job.id) : undefined,
        );
        // Never silent: a QR code the slot asks for but cannot be printed is said on the job.
        const qr = guestQrState(settings, base).state;
        const notice = GUEST_QR_NOTICES[qr];
        const notices = notice ? [notice] : [];
        if (qr === 'left_off') log.warn({ notices }, 'guest QR code left off: no address guests can reach');
        return { produced, output, answeredBy: step.provider, notices };
      } catch (err) {
        // A job whose enqueue was refused never reached its provider: not a provider outcome.
        const notEnqueued =
          controller.signal.reason instanceof JobAborted && controller.signal.reason.why === 'not_enqueued';
        if (!notEnqueued)
          this.deps.onProviderWork?.(
            step.provider,
            signal.aborted ? 'aborted' : 'failure',
            (performance.now() - started) / 1000,
          );
        if (controller.signal.aborted) throw err;
        const shareUsed = attempt.signal.aborted;
        const safety = err instanceof ProviderFailure && SAFETY_REASONS.has(err.reason);
        const canMoveOn = !last && (shareUsed || (err instanceof ProviderFailure && (!safety || onSafety)));
        const failure = shareUsed
          ? new ProviderFailure('deadline_exceeded', `${driver.title} did not answer within its share of the deadline`)
          : err;
        if (!canMoveOn) throw failure;
        lastError = failure;
      } finally {
        clearTimeout(shareTimer);
        // Never throws from here, whatever the driver does (a success must not be lost to it).
        await Promise.resolve()
          .then(() => driver.releaseJob?.(job.id))
          .catch((e: unknown) =>
            log.warn({ err: { message: (e as Error).message } }, 'could not withdraw what the provider was given'),
          );
      }
    }
    throw lastError ?? new ProviderFailure('deadline_exceeded', 'No time was left for the next provider');
  }

  private async fail(job: ClaimedJob, err: unknown, signal: AbortSignal, log: Logger): Promise<void> {
    const now = this.deps.clock.now();
    try {
      if (signal.aborted) {
        const why = signal.reason instanceof JobAborted ? signal.reason.why : 'aborted';
        log.info({ why }, 'provider work aborted; nothing written');
        if (why === 'deadline')
          await finalizeFailed(this.deps.db, job.id, 'timeout', { reason: 'deadline_passed' }, now);
        return;
      }
      const failure = failureOf(err, job);
      if (failure.reason === 'internal_error') log.error({ err }, failure.log);
      else if (failure.outcome === 'internal_error') log.error({ message: (err as Error).message }, failure.log);
      else log.warn({ reason: failure.reason, message: (err as Error).message }, failure.log);
      await finalizeFailed(this.deps.db, job.id, failure.outcome, failure.detail, now);
    } catch (finalizeErr) {
      log.error(
        { err: { message: (finalizeErr as Error).message } },
        'could not finalize failed job; the sweeper will',
      );
    }
  }
}

/** How a job that failed is recorded: its outcome, the detail the admin reads, the log line. */
function failureOf(
  err: unknown,
  job: ClaimedJob,
): { outcome: 'provider_error' | 'internal_error'; reason: string; detail: Record<string, unknown>; log: string } {
  const provider = (reason: string, log: string) => ({
    outcome: 'provider_error' as const,
    reason,
    detail: { reason, message: (err as Error).message },
    log,
  });
  if (err instanceof ProviderFailure) return provider(err.reason, 'provider failed');
  if (err instanceof DecodeTooLargeError) return provider('image_too_large', 'image too large to decode');
  if (err instanceof ImageDecodeError) return provider('invalid_image', 'image could not be decoded');
  const code = (err as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const reason = 'insufficient_storage';
    return { outcome: 'internal_error', reason, detail: { reason }, log: 'media storage full: result not written' };
  }
  const reason = 'internal_error';
  return {
    outcome: 'internal_error',
    reason,
    detail: { reason, correlation_id: job.correlation_id },
    log: 'job failed unexpectedly',
  };
}
