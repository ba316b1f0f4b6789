import type { Io } from './context.js';

/**
 * Progress on stderr for long runs: nothing for the first second, then at most one update a
 * second (rewritten in place on a terminal, one line each otherwise).
 */
export class Progress {
  private readonly started: number;
  private lastPrint = 0;
  private printed = false;

  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly enabled: boolean,
    private readonly tty = process.stderr.isTTY,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(done: number, total: number, detail: string): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.started < 1000 || now - this.lastPrint < 1000) return;
    this.lastPrint = now;
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    const text = `${this.label}: ${pct}% (${(done / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MiB, ${detail})`;
    this.io.err(this.tty ? `\r${text}\u001b[K` : `${text}\n`);
    this.printed = true;
  }

  done(): void {
    if (this.printed && this.tty) this.io.err('\r\u001b[K');
  }
}
