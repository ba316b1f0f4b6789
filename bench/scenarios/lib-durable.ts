import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { initLogs, openLogs, type EventInput } from '../../src/index.js';
import { BENCH_MSG, eventPool, type BenchFields } from '../event.js';
import type { Measured, WorkerTask } from '../result.js';

/** The pool's logger-style fields as an audit event: the extra fields go under `data`. */
function toAuditEvent(fields: BenchFields): EventInput {
  const { event, actor, target, outcome, request_id, ...data } = fields;
  return {
    event,
    actor,
    target,
    outcome,
    request_id,
    data,
    msg: BENCH_MSG,
  } as EventInput;
}

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
  const pool = eventPool().map(toAuditEvent);
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
    bytes: statSync(path.join(dir, 'audit.log')).size,
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
