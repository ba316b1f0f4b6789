import type { Clock } from '../../src/scheduler/clock.js';
import { MAX_TIMER_MS } from '../../src/scheduler/clock.js';

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

/** Let pending promise chains run (several turns of the event loop). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A clock whose time moves only when a test says so. Like Node's, its timers refuse delays it
 * could not hold: a scheduler must wait longer ones in steps.
 */
export class FakeClock implements Clock {
  private t: number;
  private order = 0;
  private readonly timers = new Map<number, Timer>();
  /** Every delay asked of setTimeout. */
  readonly delays: number[] = [];

  constructor(start: string) {
    this.t = Date.parse(start);
  }

  now(): number {
    return this.t;
  }

  /** The current time as ISO 8601. */
  get iso(): string {
    return new Date(this.t).toISOString();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    if (ms > MAX_TIMER_MS) throw new Error(`a timer of ${ms} ms would overflow`);
    this.delays.push(ms);
    const id = ++this.order;
    this.timers.set(id, { at: this.t + Math.max(0, ms), order: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers not yet fired nor cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, Timer] | undefined;
      for (const entry of this.timers) {
        const [, timer] = entry;
        if (timer.at > end) continue;
        if (
          next === undefined ||
          timer.at < next[1].at ||
          (timer.at === next[1].at && timer.order < next[1].order)
        )
          next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await settle();
  }

  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}
