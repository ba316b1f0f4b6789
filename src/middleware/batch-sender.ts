import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
/** How events are sent to a running dihya-logs service. */
export interface SenderOptions {
  /** The service's base URL (`http://127.0.0.1:8080`); events go to `{url}/v1/events`. */
  readonly url: string;
  /** A token with the `ingest` role. */
  readonly token: string;
  /** Most events in one request. */
  readonly batchSize: number;
  /** Most bytes in one request (the service refuses bodies over its `body_limit`). */
  readonly maxBatchBytes: number;
  /** How long an event waits for others before its batch is sent. */
  readonly flushIntervalMs: number;
  /** Most events waiting; beyond it the oldest are dropped (and counted on stderr). */
  readonly maxQueue: number;
  /** First and longest wait between two tries of a batch. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** One request's time limit. */
  readonly timeoutMs: number;
  /** How long close() keeps trying to deliver what is left. */
  readonly closeTimeoutMs: number;
  /** Where problems are reported (one line each). Default: stderr. */
  readonly report?: (line: string) => void;
}

type Attempt =
  'done' | 'split' | { readonly retryAfterMs: number | undefined } | { readonly without: number };

const NOTE_INTERVAL_MS = 5000;

/**
 * Sends NDJSON event lines to `POST {url}/v1/events` in batches (up to `batchSize` events, or
 * whatever waited `flushIntervalMs`), one request at a time so that order is kept. A batch
 * the service could not take (network error, 5xx, 408, 429) is tried again, the same events in
 * the same order, with a growing wait; a batch it refused (another 4xx) is dropped and
 * reported without its content. The service stores a batch all or nothing, so a retried batch
 * arrives once; only a lost answer to a stored batch can make it arrive twice.
 */
export class BatchSender {
  private readonly endpoint: string;
  private readonly report: (line: string) => void;
  private queue: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private deadline = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;
  // Aborts the request in flight when close() runs out of time.
  private readonly stop = new AbortController();
  private failing = false;
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private readonly noted = new Map<string, number>();

  constructor(private readonly o: SenderOptions) {
    let base = o.url;
    while (base.endsWith('/')) base = base.slice(0, -1);
    this.endpoint = `${base}/v1/events`;
    this.report = o.report ?? writeStderr;
  }

  /** Queue one event line (JSON, no newline). Never blocks, never throws. */
  push(line: string): void {
    if (this.closing && this.running === undefined && this.queue.length === 0) {
      this.drop(1, 'it came after the transport closed');
      return;
    }
    this.queue.push(line);
    if (this.queue.length > this.o.maxQueue) {
      const n = this.queue.length - this.o.maxQueue;
      this.queue.splice(0, n);
      this.drop(n, 'the queue is full (the service is slow or unreachable)');
    }
    if (this.running !== undefined) return; // the running drain takes it
    if (this.queue.length >= this.o.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.flushIntervalMs);
  }

  /** Send what is queued, trying for at most `closeTimeoutMs`; then report what is left. */
  async close(): Promise<void> {
    this.closing = true;
    this.deadline = Date.now() + this.o.closeTimeoutMs;
    this.wake?.();
    const cut = setTimeout(() => this.stop.abort(), this.o.closeTimeoutMs);
    try {
      while (this.queue.length > 0 || this.running !== undefined) {
        this.kick();
        await this.running;
      }
    } finally {
      clearTimeout(cut);
    }
    if (this.droppedUnreported > 0) this.noteDrops('', true);
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running !== undefined || this.queue.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      // A line pushed while the drain was finishing waits for the next one.
      if (this.queue.length > 0 && !this.closing) {
        this.timer ??= setTimeout(() => this.kick(), this.o.flushIntervalMs);
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.deliver(this.take());
  }

  private take(): string[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.o.batchSize) {
      const size = Buffer.byteLength(this.queue[n] as string) + 1;
      if (n > 0 && bytes + size > this.o.maxBatchBytes) break;
      bytes += size;
      n += 1;
    }
    return this.queue.splice(0, n);
  }

  private async deliver(batch: readonly string[]): Promise<void> {
    let delay = this.o.retryMinMs;
    // One key per batch, the same for each retry of it: a batch stored whose answer was lost
    // (a timeout, a dropped connection) is answered again, never stored twice.
    const key = randomUUID();
    for (;;) {
      const r = await this.attempt(batch, key);
      if (r === 'done') return;
      if (r === 'split') {
        // Too large for the service: halves, in order.
        const mid = Math.ceil(batch.length / 2);
        await this.deliver(batch.slice(0, mid));
        await this.deliver(batch.slice(mid));
        return;
      }
      if ('without' in r) {
        // The service stores a batch all or nothing and named the event it refused: that one
        // is dropped (reported), the others are sent again.
        const rest = batch.filter((_, i) => i !== r.without);
        if (rest.length > 0) await this.deliver(rest);
        return;
      }
      const wait = r.retryAfterMs ?? delay * (0.8 + Math.random() * 0.4);
      if (this.closing && Date.now() + wait > this.deadline) {
        this.drop(batch.length, 'the service did not take them before the transport closed');
        return;
      }
      await this.sleep(wait);
      delay = Math.min(delay * 2, this.o.retryMaxMs);
    }
  }

  private async attempt(batch: readonly string[], key: string): Promise<Attempt> {
    const left = this.closing ? this.deadline - Date.now() : this.o.timeoutMs;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          authorization: `Bearer ${this.o.token}`,
          'idempotency-key': key,
        },
        body: `${batch.join('\n')}\n`,
        signal: AbortSignal.any([
          AbortSignal.timeout(Math.max(1, Math.min(this.o.timeoutMs, left))),
          this.stop.signal,
        ]),
      });
      text = await res.text();
    } catch (err) {
      this.fail(`the service is unreachable (${reason(err)}); retrying`);
      return { retryAfterMs: undefined };
    }
    if (res.ok) {
      if (this.failing) this.note('recovered', 'the service takes events again', true);
      this.failing = false;
      return 'done';
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      this.fail(`the service answered ${res.status}; retrying`);
      return { retryAfterMs: retryAfter(res.headers.get('retry-after'), this.o.retryMaxMs) };
    }
    if (res.status === 413 && batch.length > 1) return 'split';
    const index = refusedIndex(text);
    if (res.status === 400 && index !== undefined && index < batch.length && batch.length > 1) {
      this.refused(res.status, text, 1);
      return { without: index };
    }
    this.refused(res.status, text, batch.length);
    return 'done';
  }

  // The service's answer is outside input too: read only its code, index and a bounded message
  // (its messages never repeat event values); the events themselves are never printed.
  private refused(status: number, text: string, n: number): void {
    let detail = '';
    try {
      const body = JSON.parse(text) as {
        error?: { code?: unknown; message?: unknown; index?: unknown };
      };
      const e = body.error;
      if (typeof e?.code === 'string') detail += ` ${e.code.slice(0, 64)}`;
      if (typeof e?.index === 'number') detail += ` at event ${e.index}`;
      if (typeof e?.message === 'string') detail += `: ${e.message.slice(0, 200)}`;
    } catch {
      // not JSON: the status says enough
    }
    this.droppedTotal += n;
    this.note(
      `refused ${status}`,
      `the service refused ${events(n)} (${status}${detail}); dropped (${this.droppedTotal} since start)`,
    );
  }

  private fail(text: string): void {
    this.failing = true;
    this.note('failing', text);
  }

  private drop(n: number, why: string): void {
    this.droppedTotal += n;
    this.droppedUnreported += n;
    this.noteDrops(why, false);
  }

  private noteDrops(why: string, force: boolean): void {
    const text = `${events(this.droppedUnreported)} dropped${why === '' ? '' : `: ${why}`} (${this.droppedTotal} since start)`;
    if (this.note('dropped', text, force)) this.droppedUnreported = 0;
  }

  /** One line per kind of problem every 5 s at most; returns whether it was printed. */
  private note(kind: string, text: string, force = false): boolean {
    const now = Date.now();
    const last = this.noted.get(kind);
    if (!force && last !== undefined && now - last < NOTE_INTERVAL_MS) return false;
    this.noted.set(kind, now);
    try {
      this.report(`dihya-logs pino: ${text}`);
    } catch {
      // reporting must never break sending
    }
    return true;
  }

  /** Wait before the next try; close() cuts the wait short. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.wake = undefined;
    });
  }
}

/** A Retry-After in seconds, bounded; undefined when absent or a date. */
function retryAfter(header: string | null, maxMs: number): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Math.min(Number(header.trim()) * 1000, Math.max(maxMs, 60_000));
}

function events(n: number): string {
  return n === 1 ? '1 event' : `${n} events`;
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code.slice(0, 64);
  // fetch's own refusals (a port it will not use) carry a message and no code.
  if (typeof cause?.message === 'string') return cause.message.slice(0, 100);
  return err instanceof Error ? err.name : 'error';
}

/**
 * One report line on the process's stderr, written synchronously to file descriptor 2. The
 * pino transport runs in a worker thread, whose `process.stderr` is relayed through the main
 * thread: a line written while pino ends the transport (the final drop count) would be lost
 * when the main thread exits right after. A direct write cannot be lost that way.
 */
function writeStderr(line: string): void {
  writeSync(2, `${line}\n`);
}

/** The index of the event a 400 answer names, if it names one. */
function refusedIndex(text: string): number | undefined {
  try {
    const index = (JSON.parse(text) as { error?: { index?: unknown } }).error?.index;
    return typeof index === 'number' && Number.isSafeInteger(index) && index >= 0
      ? index
      : undefined;
  } catch {
    return undefined;
  }
}
