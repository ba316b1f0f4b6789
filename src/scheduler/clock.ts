/**
 * Time and timers, injectable so tests drive the scheduler without waiting. Handles are opaque:
 * a clock only has to accept back what its own setTimeout returned.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Node's timers overflow above 2^31-1 ms (~24.8 days) and fire at once: wait in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
