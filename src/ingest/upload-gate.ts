/**
 * Booth uploads being received by this process right now. Two limits apply before a body is read
 * (src/ingest/routes.ts): at most `max` at once (an unauthenticated flood of slow uploads cannot
 * take every file descriptor), and, together with the queue's unfinished jobs, no more than the
 * in-flight cap — so an upload the queue could not take is refused before its bytes are read, not
 * after. Node runs this on one thread: checking and entering is atomic.
 */
export class UploadGate {
  private receiving = 0;

  constructor(readonly max: number) {}

  get count(): number {
    return this.receiving;
  }

  /** Enters when fewer than `max` are being received and `inFlight + receiving < cap`. */
  tryEnter(inFlightJobs: number, cap: number): 'ok' | 'too_many_uploads' | 'queue_full' {
    if (this.receiving >= this.max) return 'too_many_uploads';
    if (inFlightJobs + this.receiving >= cap) return 'queue_full';
    this.receiving += 1;
    return 'ok';
  }

  leave(): void {
    this.receiving = Math.max(0, this.receiving - 1);
  }
}
