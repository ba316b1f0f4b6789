import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { initLogs, openLogs, type EventInput } from '../../src/index.js';
import { asEvent, eventPool } from '../event.js';
import type { Measured, WorkerTask } from '../result.js';

/**
 * Durable writes with group commit: `task.writers` concurrent writers, each looping
 * `await logs.audit(event)` (resolved after fdatasync) until `task.events` are stored. The clock
 * stops after the last acknowledgement and close().
 */
export async function libDurable(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  initLogs({ dir, masterKey });
  let errors = 0;
  const logs = await openLogs({
    dir,
    masterKey,
    handleExit: false,
    settings: { channels: { audit: { durability: 'durable' } } },
    onError: () => {
      errors++;
    },
  });
  const pool = eventPool().map((f) => asEvent(f) as EventInput);
  const size = pool.length;
  let next = 0;
  const writer = async (): Promise<void> => {
    for (let i = next++; i < task.events; i = next++) await logs.audit(pool[i % size]!);
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: task.writers }, writer));
  const produced = performance.now();
  await logs.close();
  const ms = performance.now() - started;

  const stats = logs.stats().audit;
  const syncs = stats?.syncs ?? 0;
  return {
    events: task.events,
    ms,
    produceMs: produced - started,
    // What the channel wrote, whatever segments it was cut into (64 MiB each by default).
    bytes: stats?.bytes ?? statSync(path.join(dir, 'audit.log')).size,
    extra: {
      writers: task.writers,
      records: stats?.records ?? 0,
      writes: stats?.writes ?? 0,
      syncs,
      recordsPerSync: syncs > 0 ? (stats?.records ?? 0) / syncs : 0,
      errors,
    },
  };
}
