/**
 * How many jobs of each provider this process's workers run (docs/architecture.md): the one owner
 * of the counts a claim, a reservation and a finished job change. `busy` (workers running a job)
 * is derived from them.
 */
export class ProviderSlots {
  private readonly running = new Map<string, number>();
  private total = 0;

  /** @param limitOf a provider's concurrency limit in this process. */
  constructor(private readonly limitOf: (provider: string) => number) {}

  /** Workers of this process running a job (or set aside for one). */
  get busy(): number {
    return this.total;
  }

  /** Whether a provider runs as many jobs as it may. */
  isFull(provider: string): boolean {
    return (this.running.get(provider) ?? 0) >= this.limitOf(provider);
  }

  /** A job of `provider` starts (claimed, or a worker set aside for it). */
  take(provider: string): void {
    this.total++;
    this.running.set(provider, (this.running.get(provider) ?? 0) + 1);
  }

  /** A job of `provider` is over (or a reservation was not used). Returns whether the provider was full before. */
  give(provider: string): boolean {
    const wasFull = this.isFull(provider);
    this.total--;
    const left = (this.running.get(provider) ?? 1) - 1;
    if (left > 0) this.running.set(provider, left);
    else this.running.delete(provider);
    return wasFull;
  }
}
