/**
 * One job of this process, from its enqueue to its answer: the single object the request that
 * submitted it (src/queue/submit.ts) and the worker of this process that runs it
 * (src/queue/workers.ts) both hold. It carries the job exactly as enqueue_job inserts it, the
 * admission (the row is in, or the enqueue was refused), the photo read while the row was inserted,
 * the result the worker hands over in memory, and the two things done once after the answer: the
 * payload removed and the row marked answered.
 */
import type { ClaimedJob } from './statements.js';

/** A success handed over in memory by the worker (no database read, no file read). */
export interface DeliveredResult {
  bytes: Buffer;
  mime: string;
  claimedAt: Date;
  finalizedAt: Date;
  /** The worker's finalize statement: true once the row says succeeded, false when it did not win or failed. */
  recorded: Promise<boolean>;
}

/** The photo's files, removed once by whoever comes first (the submitter owns them until then). */
export interface JobPayload {
  release(): Promise<void>;
}

export class LocalJob {
  private delivered: DeliveredResult | undefined;
  private readonly listeners = new Set<() => void>();
  private answered: Promise<void> | undefined;
  private released: Promise<void> | undefined;

  constructor(
    /** The job as the worker runs it: the row enqueue_job inserts, with the slot's templates. */
    readonly job: ClaimedJob,
    /**
     * Resolves once the row is in; rejects when the enqueue was refused. The worker may prepare
     * meanwhile, but sends nothing to a provider and writes nothing before (ProviderRequest.ready).
     */
    readonly admission: Promise<void>,
    /** The payload's bytes when they were read while the row was inserted (else the driver reads the file). */
    readonly photo: Promise<Buffer | undefined> | undefined,
    private readonly payload: JobPayload,
    private readonly markRow: () => Promise<void>,
  ) {
    // A refused enqueue rejects the admission; whoever holds the job may never await it (no worker
    // was reserved): handled here, so it is never an unhandled rejection that ends the process.
    admission.catch(() => undefined);
  }

  get id(): string {
    return this.job.id;
  }

  /** The worker's success, once its bytes are written and its finalize statement is sent. */
  deliver(result: DeliveredResult): void {
    if (this.delivered) return;
    this.delivered = result;
    for (const listener of this.listeners) listener();
  }

  /** The success the worker delivered, if it has. */
  get result(): DeliveredResult | undefined {
    return this.delivered;
  }

  /** Calls `listener` when the worker delivers; returns its removal. */
  onDelivered(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Removes the photo's files, once (later calls share the first one's promise). */
  releasePayload(): Promise<void> {
    return (this.released ??= this.payload.release());
  }

  /** Marks the row answered (its inline result copy cleared), once. */
  markAnswered(): Promise<void> {
    return (this.answered ??= this.markRow());
  }
}
