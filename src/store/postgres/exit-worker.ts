/**
 * The last commit of a PostgreSQL store at process exit, on a worker thread: the main thread
 * is inside an exit handler where nothing asynchronous runs, so it hands the records still
 * waiting to this thread and blocks on an Atomics.wait until they are committed (or a time
 * limit). The batch that was in flight is settled first by reading the head back: stored, it
 * is not sent twice; not stored, it goes first.
 */
import { workerData } from 'node:worker_threads';
import { ChainHasher } from '../../integrity/chain.js';
import { PiiSealer } from '../../crypto/pii-cipher.js';
import type { ChannelKey } from '../../crypto/body-cipher.js';
import { commitBatch, type PendingRecord } from './batch.js';
import type { Named, SubjectRow } from './keystore.js';
import { Partitions } from './partitions.js';
import { connect } from './pool.js';

export interface ExitChannel {
  readonly channel: string;
  readonly bodyKey: ChannelKey | undefined;
  readonly records: readonly PendingRecord[];
  /** The batch whose COMMIT had no answer yet, and the head it leaves if it was committed. */
  readonly inDoubt?: {
    readonly records: readonly PendingRecord[];
    readonly head: { readonly seq: number; readonly hash: string };
  };
}

export interface ExitWork {
  readonly url: string;
  readonly schema: string;
  readonly logId: string;
  readonly idempotencyWindowMs: number;
  readonly subjects: readonly SubjectRow[];
  readonly channels: readonly ExitChannel[];
  /** [0]: 0 running, 1 done, 2 failed; [1]: records stored. */
  readonly signal: SharedArrayBuffer;
}

const MAX_BATCH = 2000;

async function run(w: ExitWork): Promise<number> {
  const pool = connect(w.url, w.schema, 1);
  try {
    const partitions = new Partitions(pool);
    const rows = new Map(w.subjects.map((r) => [r.pseudonym, r]));
    const keys = {
      pendingRows: (plans: readonly Named[]): SubjectRow[] =>
        [...new Set(plans.map((p) => p.pseudonym))].flatMap((p) => {
          const r = rows.get(p);
          return r === undefined ? [] : [r];
        }),
    };
    const hasher = new ChainHasher();
    const sealer = new PiiSealer(w.logId);
    let stored = 0;
    for (const c of w.channels) {
      let records = c.records;
      if (c.inDoubt !== undefined) {
        const { rows: found } = await pool.query<{ hash: string }>(
          'SELECT hash FROM dl_records WHERE channel = $1 AND seq = $2',
          [c.channel, c.inDoubt.head.seq],
        );
        if (found[0]?.hash !== c.inDoubt.head.hash) records = [...c.inDoubt.records, ...records];
      }
      const ctx = {
        logId: w.logId,
        channel: c.channel,
        keys,
        bodyKey: c.bodyKey,
        idempotencyWindowMs: w.idempotencyWindowMs,
        hasher,
        sealer,
      };
      for (let i = 0; i < records.length; i += MAX_BATCH) {
        const batch = records.slice(i, i + MAX_BATCH);
        await partitions.ensure(batch.map((r) => r.ts));
        const client = await pool.connect();
        try {
          stored += (await commitBatch(client, ctx, batch)).inserted;
        } finally {
          client.release();
        }
      }
    }
    return stored;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

const work = workerData as ExitWork;
const flag = new Int32Array(work.signal);
run(work).then(
  (stored) => {
    Atomics.store(flag, 1, stored);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  },
  (err: unknown) => {
    process.stderr.write(
      `dihya-logs: records waiting at exit were not stored (${(err as Error).message})\n`,
    );
    Atomics.store(flag, 0, 2);
    Atomics.notify(flag, 0);
  },
);
