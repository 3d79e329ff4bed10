/**
 * What the booth path records without a database write of its own (refusal counts, the booth
 * check): held in memory and written every few seconds, sampled per client under a flood.
 */
export abstract class BatchedWriter {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly flushIntervalMs: number) {}

  /** Writes what is pending. */
  abstract flush(): Promise<void>;

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** Per-minute caps on what is kept: at most `perClient` a minute from one client, `total` in all. */
export class MinuteSampler {
  private window = { start: 0, total: 0, perClient: new Map<string, number>() };

  constructor(private readonly caps: { perClient: number; total: number }) {}

  /** Whether one more from `client` at `at` is kept (the map holds at most `total` clients). */
  take(client: string, at: Date): boolean {
    if (at.getTime() - this.window.start >= 60_000)
      this.window = { start: at.getTime(), total: 0, perClient: new Map() };
    const seen = this.window.perClient.get(client) ?? 0;
    if (seen >= this.caps.perClient || this.window.total >= this.caps.total) return false;
    this.window.perClient.set(client, seen + 1);
    this.window.total += 1;
    return true;
  }
}
