import { Worker } from 'node:worker_threads';
import { LogsError } from '../errors.js';
import type { ChannelKey, ChannelKeyList } from '../crypto/body-cipher.js';

/** Messages from the feeder thread. */
export type FeederMessage =
  | { readonly type: 'indexed'; readonly records: number; readonly rebuilt: string | undefined }
  | { readonly type: 'error'; readonly code: string; readonly message: string }
  | { readonly type: 'recovered' };

export interface FeederOptions {
  readonly dir: string;
  readonly logId: string;
  /** Pause between catch-ups. */
  readonly intervalMs: number;
  /** Keys of the encrypted channels (they stay in this process). */
  readonly keys: ChannelKeyList;
  /** A failure (reported once until the feeder succeeds again). Must not throw. */
  readonly onError: (err: LogsError) => void;
  /** After each catch-up that added records (tests wait on it). */
  readonly onIndexed?: (records: number) => void;
}

/**
 * Keeps the query index up to date from the appended records, in a thread of its own: every
 * `intervalMs` it catches the index up from the log files (new lines of the active files, new
 * segments, retention's deletions). The writer never waits for it; if it falls behind, or
 * stops, a query or `reindex` catches up the rest.
 */
export class IndexFeeder {
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  static start(options: FeederOptions): IndexFeeder {
    const worker = new Worker(new URL('./feeder-worker.js', import.meta.url), {
      workerData: {
        dir: options.dir,
        logId: options.logId,
        intervalMs: options.intervalMs,
        keys: options.keys,
      },
    });
    worker.on('message', (m: FeederMessage) => {
      if (m.type === 'error')
        options.onError(
          new LogsError('IO_ERROR', `the index feeder: ${m.message} (${m.code}); queries catch up`),
        );
      else if (m.type === 'indexed') options.onIndexed?.(m.records);
    });
    worker.on('error', (err) =>
      options.onError(new LogsError('INTERNAL', `the index feeder stopped: ${err.message}`)),
    );
    // The process may end without closing the logs: the feeder does not keep it alive (after
    // the listeners: adding one refs the worker again).
    worker.unref();
    return new IndexFeeder(worker);
  }

  /** A channel key made while running (`keys rotate`). */
  addKey(channel: string, key: ChannelKey): void {
    this.worker.postMessage({ channel, id: key.id, key: key.key });
  }

  /** Finish the catch-up under way (if any) and stop. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    const timeout = setTimeout(() => void this.worker.terminate(), 10_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timeout);
    }
  }
}
