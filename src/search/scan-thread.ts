import { Worker } from 'node:worker_threads';
import type { Position } from './types.js';
import { RowUnpacker, type PackedRows } from './row.js';
import type { BlockRoots } from './leaves.js';
import type { ScanCounts, ScanOutcome, ScanPlan, ScanSink } from './scan.js';

/** Messages from scan-worker to the main thread. */
export type ScanMessage =
  | {
      readonly type: 'batch';
      readonly rows: PackedRows;
      readonly to: Omit<Position, 'lastHash'> & { readonly lastHash: string };
      readonly counts: ScanCounts;
      readonly roots: BlockRoots;
    }
  | { readonly type: 'read'; readonly bytes: number }
  | { readonly type: 'end'; readonly outcome: ScanOutcome; readonly counts: ScanCounts };

/**
 * scanChannel in a worker thread: the worker reads and parses, `sink` (here, on the calling
 * thread) writes. Same contract as scanChannel.
 */
export function scanInWorker(
  plan: ScanPlan,
  sink: ScanSink,
): Promise<{ outcome: ScanOutcome; counts: ScanCounts }> {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL('./scan-worker.js', import.meta.url), {
    workerData: { plan, control },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    let counts: ScanCounts = { skipped: 0, gaps: 0 };
    const unpacker = new RowUnpacker();
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    const stop = (): void => {
      Atomics.store(control, 1, 1);
      Atomics.notify(control, 0);
      void worker.terminate();
    };
    worker.on('message', (m: ScanMessage) => {
      if (settled) return;
      try {
        if (m.type === 'read') {
          sink.read(m.bytes);
        } else if (m.type === 'batch') {
          counts = m.counts;
          const to = { ...m.to, lastHash: Buffer.from(m.to.lastHash, 'hex') };
          const ok = sink.batch(unpacker.unpack(m.rows), to, counts, m.roots);
          Atomics.sub(control, 0, 1);
          Atomics.notify(control, 0);
          if (!ok) {
            stop();
            finish(() => resolve({ outcome: 'busy', counts }));
          }
        } else {
          finish(() => resolve({ outcome: m.outcome, counts: m.counts }));
        }
      } catch (err) {
        stop();
        finish(() => reject(err instanceof Error ? err : new Error(String(err))));
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the index scan thread exited (code ${code})`))),
    );
  });
}
