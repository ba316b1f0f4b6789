/**
 * closeSync() of the PostgreSQL store: what is still waiting in memory at process exit is
 * committed by a worker thread (exit-worker.ts) while this thread blocks, so a buffered record
 * accepted before `process.exit()` is not lost (as the file store writes its buffer out).
 * The pool's connections are closed first: a transaction of ours left open on the server
 * (this thread will never finish it) is rolled back and releases the head row it locked.
 */
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import type { ChannelKey } from '../../crypto/body-cipher.js';
import type { PendingRecord } from './batch.js';
import type { ChannelQueue } from './channel-queue.js';
import type { ExitChannel, ExitWork } from './exit-worker.js';
import type { SubjectRow } from './keystore.js';

/** How long an exit may wait for the database. */
const EXIT_TIMEOUT_MS = 10_000;

export interface ExitState {
  readonly url: string;
  readonly schema: string;
  readonly logId: string;
  readonly idempotencyWindowMs: number;
  readonly subjects: readonly SubjectRow[];
  readonly channels: ReadonlyArray<{
    readonly name: string;
    readonly queue: ChannelQueue;
    readonly bodyKey: ChannelKey | undefined;
  }>;
}

const plain = (r: PendingRecord): PendingRecord => ({ p: r.p, ts: r.ts, skew: r.skew });

/** Commit what is waiting; returns how many records were stored (undefined: it failed). */
export function commitAtExit(pool: pg.Pool, state: ExitState): number | undefined {
  const channels: ExitChannel[] = [];
  for (const c of state.channels) {
    const f = c.queue.inFlight;
    const records = c.queue.stop().map(plain);
    const inDoubt =
      f?.expected === undefined
        ? undefined
        : {
            records: f.batch.map(plain),
            head: { seq: f.expected.head.seq, hash: f.expected.head.hash },
          };
    // A batch sent but not yet at COMMIT is rolled back when its connection closes: resent.
    const unsent = f !== undefined && f.expected === undefined ? f.batch.map(plain) : [];
    if (records.length + unsent.length === 0 && inDoubt === undefined) continue;
    channels.push({
      channel: c.name,
      bodyKey: c.bodyKey,
      records: [...unsent, ...records],
      ...(inDoubt === undefined ? {} : { inDoubt }),
    });
  }
  closeConnections(pool);
  if (channels.length === 0) return 0;
  const signal = new SharedArrayBuffer(8);
  const work: ExitWork = {
    url: state.url,
    schema: state.schema,
    logId: state.logId,
    idempotencyWindowMs: state.idempotencyWindowMs,
    subjects: state.subjects,
    channels,
    signal,
  };
  const worker = new Worker(new URL('./exit-worker.js', import.meta.url), { workerData: work });
  const flag = new Int32Array(signal);
  Atomics.wait(flag, 0, 0, EXIT_TIMEOUT_MS);
  void worker.terminate();
  return Atomics.load(flag, 0) === 1 ? Atomics.load(flag, 1) : undefined;
}

/**
 * Close every connection of the pool now (pg keeps them in `_clients`): the server rolls back
 * what was open on them. Synchronous: the sockets' descriptors close before this returns.
 */
function closeConnections(pool: pg.Pool): void {
  const clients = (
    pool as unknown as { _clients?: Array<{ connection?: { stream?: { destroy(): void } } }> }
  )._clients;
  for (const c of clients ?? []) c.connection?.stream?.destroy();
}
