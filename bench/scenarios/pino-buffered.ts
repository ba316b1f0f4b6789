import { statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { BENCH_MSG, eventPool } from '../event.js';
import { feed } from '../feed.js';
import type { Measured, WorkerTask } from '../result.js';

/**
 * pino with its defaults, writing asynchronously to a file (`pino.destination({ sync: false })`),
 * fed exactly as the dihya-logs scenario is. The clock stops once the destination has written
 * everything and closed (sonic-boom fsyncs the file before it closes, as close() does for us).
 */
export async function pinoBuffered(task: WorkerTask): Promise<Measured> {
  const file = path.join(task.dir, 'pino.log');
  const dest = pino.destination({ dest: file, sync: false });
  await new Promise<void>((resolve, reject) => {
    dest.once('ready', resolve);
    dest.once('error', reject);
  });
  const logger = pino(dest);
  const pool = eventPool();
  const size = pool.length;

  const started = performance.now();
  await feed(task.events, task.batch, (i) => logger.info(pool[i % size], BENCH_MSG));
  const produced = performance.now();
  await new Promise<void>((resolve, reject) => {
    dest.once('close', resolve);
    dest.once('error', reject);
    dest.flush();
    dest.end();
  });
  const ms = performance.now() - started;

  return { events: task.events, ms, produceMs: produced - started, bytes: statSync(file).size };
}
