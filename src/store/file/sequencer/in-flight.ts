/**
 * Bounded memory between the threads: the batches the application's thread posted that the
 * sequencer thread has not taken yet, counted in characters against a limit.
 */
import { CONSUMED } from './protocol.js';

/** The posted batches not yet taken, oldest first, and the wait for room when past the limit. */
export class InFlight {
  // Characters of each posted batch the sequencer thread has not taken yet, oldest first.
  private sizes: number[] = [];
  private chars = 0;
  private posted = 0n;

  constructor(
    /** The counters shared with the sequencer thread (CONSUMED: batches it has taken). */
    private readonly counters: BigInt64Array,
    private readonly maxChars: number,
  ) {}

  /** Count a batch of `chars` characters just posted; true when past the limit. */
  add(chars: number): boolean {
    this.sizes.push(chars);
    this.chars += chars;
    this.posted += 1n;
    return this.chars > this.maxChars;
  }

  /** Block until the sequencer thread has taken enough batches (or `failed()` says to stop). */
  waitForRoom(failed: () => boolean): void {
    for (;;) {
      const consumed = Atomics.load(this.counters, CONSUMED);
      this.forget(consumed);
      if (this.chars <= this.maxChars || failed()) return;
      Atomics.wait(this.counters, CONSUMED, consumed, 1000);
    }
  }

  private forget(consumed: bigint): void {
    let done = Number(consumed - (this.posted - BigInt(this.sizes.length)));
    while (done > 0 && this.sizes.length > 0) {
      this.chars -= this.sizes.shift() ?? 0;
      done -= 1;
    }
  }
}
