import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { initLogs } from '../../src/index.js';
import { openLogCore } from '../../src/log/open.js';
import { BENCH_MSG, eventPool } from '../event.js';
import { feed } from '../feed.js';
import type { Measured, WorkerTask } from '../result.js';

const SEGMENT = 64 * 1024 * 1024;

/**
 * Seal one 64 MiB segment: `logs.rotate('app')` on an active file of realistic events just under
 * 64 MiB, timed from the call to the signed seal (sync, cut, rename, gzip level 6 to a temporary
 * file, fsync, rename, seal). Beside it, in the same run, what logrotate would do: the `gzip -6`
 * command on a copy of the same bytes.
 */
export async function seal(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  initLogs({ dir, masterKey });
  const logs = await openLogCore({
    dir,
    masterKey,
    handleExit: false,
    settings: { channels: { app: { rotate: { max_bytes: 2 * SEGMENT, daily: false } } } },
  });
  const pool = eventPool();
  const file = path.join(dir, 'app.log');
  // Fill to just under 64 MiB: measure the stored size of a first batch, then the rest at once.
  const target = SEGMENT - 256 * 1024;
  let events = 0;
  const write = async (n: number): Promise<void> => {
    await feed(n, 10, (i) => logs.app.info(pool[(events + i) % pool.length], BENCH_MSG));
    events += n;
    await logs.flush();
  };
  await write(2000);
  const perEvent = statSync(file).size / events;
  await write(Math.max(0, Math.floor((target - statSync(file).size) / perEvent)));
  const raw = statSync(file).size;
  const copy = path.join(task.dir, 'copy.log');
  copyFileSync(file, copy);

  const started = performance.now();
  const [result] = await logs.lifecycle.rotate('app');
  const ms = performance.now() - started;
  await logs.close();
  if (result?.seal === undefined) throw new Error('the segment was not sealed');

  let gzipMs = 0; // stays 0 when there is no gzip command here: no comparison
  try {
    const t0 = performance.now();
    execFileSync('gzip', ['-6', '-k', '-f', copy]);
    gzipMs = performance.now() - t0;
  } catch {
    // no gzip command on this machine
  }
  const mbps = raw / 1024 / 1024 / (ms / 1000);
  return {
    events,
    ms,
    bytes: raw,
    extra: {
      mibPerSec: Math.round(mbps * 10) / 10,
      ratio: Math.round((raw / result.seal.size) * 100) / 100,
      archiveBytes: result.seal.size,
      gzipCliMs: Math.round(gzipMs),
      vsGzipCli: gzipMs > 0 ? Math.round((gzipMs / ms) * 100) / 100 : 0,
    },
  };
}
