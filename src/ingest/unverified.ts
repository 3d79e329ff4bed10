import { ClientCounts } from '../auth/attempts.js';
import type { Clock } from '../clock.js';

/**
 * Photo bytes received before their password was verified ("unverified": the booth sent the file
 * before its `password` field, as Breeze's field table lists them). Nobody knows which order a real
 * booth uses (docs/api.md), so such uploads are accepted, within bounds that hold whatever a
 * stranger sends (docs/security.md):
 *  - at most `perAddress` unverified uploads at once from one client (an IPv6 /64 is one), and
 *    `total` from all strangers together (each holds a socket and a file descriptor);
 *  - at most `budgetBytes` of unverified bytes on disk for the whole process, *reserved* when the
 *    file begins (its declared Content-Length, or the slot's size limit for a chunked body) and
 *    checked before each chunk is written (src/media/upload.ts onFileBytes): the peak never
 *    exceeds it, and an upload admitted is never cut off halfway by others' bytes;
 *  - the transfer's minimum rate and whole-upload deadline, like every upload.
 * An address that presented the right password recently (TrustedAddresses) is not counted against
 * the strangers' budget: a working booth is never refused because of others' unverified bytes.
 * Its uploads are still bounded by the per-address cap and the slot's size limit.
 * Node runs this on one thread: each check-and-add is atomic.
 */
export class UnverifiedUploads {
  private bytes = 0;
  private readonly perClient = new ClientCounts();

  /** Strangers' unverified uploads now. */
  private strangers = 0;

  constructor(private readonly limits: { budgetBytes: number; perAddress: number; total: number }) {}

  /**
   * Starts an unverified upload for `client`, reserving `reserve` bytes (grown later while the
   * budget has room), or says why not. A trusted
   * booth's upload does not count against the budget or the total.
   */
  tryStart(client: string, trusted: boolean, reserve: number): UnverifiedTicket | 'per_address' | 'budget' | 'total' {
    if (this.perClient.of(client) >= this.limits.perAddress) return 'per_address';
    if (!trusted && this.bytes + reserve > this.limits.budgetBytes) return 'budget';
    if (!trusted && this.strangers >= this.limits.total) return 'total';
    this.perClient.add(client);
    if (!trusted) {
      this.strangers += 1;
      this.bytes += reserve;
    }
    let written = 0;
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      if (!trusted) {
        this.strangers -= 1;
        this.bytes -= reserve;
      }
      this.perClient.remove(client);
    };
    return {
      add: (n: number) => {
        if (!open || trusted) return true;
        // Beyond its reservation (a chunked body longer than guessed): grown while the budget has room.
        if (written + n > reserve) {
          const more = written + n - reserve;
          if (this.bytes + more > this.limits.budgetBytes) return false;
          this.bytes += more;
          reserve += more;
        }
        written += n;
        return true;
      },
      release,
    };
  }
}

export interface UnverifiedTicket {
  /** Counts `n` more bytes about to be written; false (nothing counted) when they exceed its reservation and the budget. */
  add(n: number): boolean;
  /** Ends the upload's unverified state (its password was verified, or it was removed); once. */
  release(): void;
}

/**
 * Client addresses that sent the right ingest password lately (default 12 h): their file-first
 * uploads are not counted against the strangers' budget. Bounded: the oldest entries go first.
 */
export class TrustedAddresses {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 12 * 3600_000,
    private readonly max = 4096,
  ) {}

  remember(client: string): void {
    this.seen.delete(client);
    this.seen.set(client, this.clock.now().getTime());
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
  }

  has(client: string): boolean {
    const at = this.seen.get(client);
    if (at === undefined) return false;
    if (this.clock.now().getTime() - at > this.ttlMs) {
      this.seen.delete(client);
      return false;
    }
    return true;
  }
}
