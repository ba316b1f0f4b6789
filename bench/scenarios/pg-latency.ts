import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { initLogs, openLogs, type EventInput, type Logs } from '../../src/index.js';
import { asEvent, eventPool } from '../event.js';
import { timeCommits, type CommitTimes } from '../pg-timing.js';
import { pct, withAppName } from '../pg-util.js';
import { round2, type Measured, type WorkerTask } from '../result.js';

/** Events timed one at a time, after WARMUP untimed ones. */
const EVENTS = 2000;
const WARMUP = 200;

/**
 * One writer, one event at a time: `await logs.audit(event)` EVENTS times, each timed alone
 * (PostgreSQL: answered after its COMMIT; file store: after its fdatasync). The events are the
 * bench's usual ones; the first WARMUP are not timed (connections, caches, the first partition).
 */
async function timeAudits(
  logs: Logs,
  n: number,
  commitTimes?: () => CommitTimes,
): Promise<Measured> {
  const pool = eventPool().map((f) => asEvent(f) as EventInput);
  for (let i = 0; i < WARMUP; i++) await logs.audit(pool[i % pool.length]!);
  const before = commitTimes?.();
  const times = new Float64Array(n);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await logs.audit(pool[(WARMUP + i) % pool.length]!);
    times[i] = performance.now() - t0;
  }
  const ms = performance.now() - started;
  const after = commitTimes?.();
  await logs.close();
  times.sort();
  const sum = times.reduce((a, b) => a + b, 0);
  return {
    events: n,
    ms,
    extra: {
      p50: round2(pct(times, 0.5)),
      p99: round2(pct(times, 0.99)),
      max: round2(times[n - 1] ?? 0),
      mean: round2(sum / Math.max(1, n)),
      ...(after === undefined || before === undefined ? {} : commitParts(before, after)),
    },
  };
}

/** Mean ms per commit of each part over the timed events only (`after` minus `before`). */
function commitParts(before: CommitTimes, after: CommitTimes): Record<string, number> {
  const commits = after.commits - before.commits;
  const out: Record<string, number> = {
    commits,
    commitMs: round2((after.totalMs - before.totalMs) / Math.max(1, commits)),
  };
  for (const [k, v] of Object.entries(after.parts)) {
    const total = v * after.commits - (before.parts[k] ?? 0) * before.commits;
    out[`commit:${k}`] = round2(total / Math.max(1, commits));
  }
  return out;
}

/** Single-event latency on PostgreSQL (a fresh schema, the library's defaults, pool of 8). */
export async function pgLatency(task: WorkerTask): Promise<Measured> {
  const pg = task.pg;
  if (pg === undefined) throw new Error('pg-latency: no PostgreSQL task');
  const commitTimes = timeCommits();
  const logs = await openLogs({
    dir: path.join(task.dir, 'state'),
    masterKey: randomBytes(32),
    handleExit: false,
    settings: {
      store: {
        kind: 'postgres',
        url: withAppName(pg.url, `dihya-bench-${pg.schema}`),
        schema: pg.schema,
        pool_size: 8,
      },
    },
  });
  return timeAudits(logs, Math.min(EVENTS, task.events), commitTimes);
}

/** The same on the file store, the audit channel durable (fdatasync before each answer). */
export async function fileLatency(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  initLogs({ dir, masterKey });
  const logs = await openLogs({
    dir,
    masterKey,
    handleExit: false,
    settings: { channels: { audit: { durability: 'durable' } } },
  });
  return timeAudits(logs, Math.min(EVENTS, task.events));
}
