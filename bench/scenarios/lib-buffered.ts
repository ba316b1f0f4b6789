import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { initLogs, openLogs } from '../../src/index.js';
import { BENCH_MSG, eventPool } from '../event.js';
import { feed } from '../feed.js';
import type { Measured, WorkerTask } from '../result.js';

/**
 * dihya-logs on its buffered `app` channel with the defaults (chain, Merkle leaves, a signed
 * checkpoint every second): `logs.app.info(obj, msg)` fire-and-forget, `batch` calls per turn of
 * the event loop. The clock stops when close() has written, synced and checkpointed everything.
 * The directory is left for the verify scenario; the returned publicKey is what it pins.
 */
export async function libBuffered(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  const { publicKey } = initLogs({ dir, masterKey });
  let errors = 0;
  const logs = await openLogs({
    dir,
    masterKey,
    handleExit: false,
    onError: () => {
      errors++;
    },
  });
  const pool = eventPool();
  const size = pool.length;

  const started = performance.now();
  await feed(task.events, task.batch, (i) => logs.app.info(pool[i % size], BENCH_MSG));
  const produced = performance.now();
  const app = logs.stats().app;
  await logs.close();
  const ms = performance.now() - started;

  const stats = logs.stats().app ?? app;
  const bytes = statSync(path.join(dir, 'app.log')).size;
  return {
    events: task.events,
    ms,
    produceMs: produced - started,
    bytes,
    extra: {
      publicKey,
      logsDir: dir,
      records: stats?.records ?? 0,
      writes: stats?.writes ?? 0,
      syncs: stats?.syncs ?? 0,
      errors,
    },
  };
}
