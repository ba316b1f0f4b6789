/**
 * One instance of the `11 postgres` ingest bench, in a process of its own, as an application
 * server is: `node build/bench/pg-instance.js '<InstanceSpec JSON>'`, the master key in
 * DIHYA_LOGS_MASTER_KEY. It opens the logs on the PostgreSQL store (the library, as an
 * application does), prints `{"ready":true}`, waits for `go` on stdin, then runs `writers`
 * concurrent writers looping `await logs.audit(event)` until `events` are acknowledged, closes,
 * and prints an InstanceResult as one JSON line. It ends when its stdin closes (the bench is
 * gone), whenever that happens.
 */
import { createInterface } from 'node:readline';
import { openLogs, type EventInput } from '../src/index.js';
import { asEvent, eventPool } from './event.js';
import { timeCommits, type CommitTimes } from './pg-timing.js';

export interface InstanceSpec {
  readonly url: string;
  readonly schema: string;
  /** The instance's local state directory (index, tokens). */
  readonly dir: string;
  readonly writers: number;
  readonly events: number;
  readonly poolSize: number;
}

export interface InstanceResult {
  /** `go` to the last acknowledgement, and to close() done. */
  readonly produceMs: number;
  readonly ms: number;
  /** The audit channel's figures from logs.stats(): records, their bytes, commits. */
  readonly records: number;
  readonly bytes: number;
  readonly commits: number;
  /** CPU time of this process from `go` to the end, and its peak RSS (MB, 10^6 bytes). */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly peakRssMB: number;
  readonly errors: number;
  /** Where the group commits' time went, from `go` on (pg-timing.ts). */
  readonly commitTimes: CommitTimes;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as InstanceSpec;
  const commitTimes = timeCommits();
  let errors = 0;
  const logs = await openLogs({
    dir: spec.dir,
    handleExit: false,
    settings: {
      store: { kind: 'postgres', url: spec.url, schema: spec.schema, pool_size: spec.poolSize },
    },
    onError: () => {
      errors++;
    },
  });
  const pool = eventPool().map((f) => asEvent(f) as EventInput);
  const lines = createInterface({ input: process.stdin });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const go = await new Promise<boolean>((resolve) => {
    lines.once('line', (l) => resolve(l.trim() === 'go'));
    lines.once('close', () => resolve(false));
  });
  if (!go) {
    lines.close();
    await logs.close();
    process.exitCode = 1;
    return;
  }
  // The bench gone (stdin closed) before the end: stop here, it waits for nothing.
  let finished = false;
  lines.once('close', () => process.exit(finished ? 0 : 2));

  const size = pool.length;
  let next = 0;
  const writer = async (): Promise<void> => {
    for (let i = next++; i < spec.events; i = next++) await logs.audit(pool[i % size]!);
  };
  const times0 = commitTimes();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.writers }, writer));
  const produced = performance.now();
  await logs.close();
  const ended = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const audit = logs.stats().audit;
  const times = commitTimes();
  const result: InstanceResult = {
    produceMs: produced - started,
    ms: ended - started,
    records: audit?.records ?? 0,
    bytes: audit?.bytes ?? 0,
    commits: audit?.syncs ?? 0,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6,
    errors,
    commitTimes: {
      ...times,
      otherTx: times.otherTx - times0.otherTx,
      otherTxMs: times.otherTxMs - times0.otherTxMs,
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  finished = true;
  lines.close();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench pg instance: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
