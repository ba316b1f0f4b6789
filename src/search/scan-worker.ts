import { parentPort, workerData } from 'node:worker_threads';
import { RowPacker } from './row.js';
import { scanChannel, type ScanPlan } from './scan.js';
import type { ScanMessage } from './scan-thread.js';

/**
 * Worker thread of a large catch-up: it reads and parses a channel's lines while the main
 * thread writes the previous batches into SQLite. Both halves cost about the same, so on two
 * cores the build runs close to twice as fast.
 */
const { plan, control } = workerData as { plan: ScanPlan; control: Int32Array };
const port = parentPort;
if (port === null) throw new Error('scan-worker runs as a worker thread');

// control[0]: batches posted and not yet written by the main thread; control[1]: 1 = stop.
const MAX_IN_FLIGHT = 3;
const packer = new RowPacker();

function post(message: ScanMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

const result = await scanChannel(plan, {
  batch(rows, to, counts, roots) {
    // Wait while the main thread is behind: memory stays bounded whatever the log's size.
    for (;;) {
      if (Atomics.load(control, 1) === 1) return false;
      const inFlight = Atomics.load(control, 0);
      if (inFlight < MAX_IN_FLIGHT) break;
      Atomics.wait(control, 0, inFlight, 1000);
    }
    Atomics.add(control, 0, 1);
    const packed = packer.pack(rows);
    post(
      {
        type: 'batch',
        rows: packed,
        to: { ...to, lastHash: to.lastHash.toString('hex') },
        counts: { ...counts },
        roots,
      },
      [
        packed.numbers.buffer,
        packed.hashes.buffer,
        packed.refs.buffer,
        packed.lengths.buffer,
      ] as ArrayBuffer[],
    );
    return true;
  },
  read(bytes) {
    post({ type: 'read', bytes });
  },
});
post({ type: 'end', outcome: result.outcome, counts: result.counts });
