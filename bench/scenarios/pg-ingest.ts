import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { InstanceResult, InstanceSpec } from '../pg-instance.js';
import { PgSampler, walStats, type SamplerSummary, type WalStats } from '../pg-sampler.js';
import { withAppName, withClient } from '../pg-util.js';
import { round2, type Measured, type WorkerTask } from '../result.js';

const INSTANCE = fileURLToPath(new URL('../pg-instance.js', import.meta.url));
const POOL_SIZE = 8;
const READY_MS = 60_000;
const RUN_MS = 20 * 60_000;

interface Instance {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  /** The next JSON line the instance prints (ready, then its result). */
  next<T>(timeoutMs: number, what: string): Promise<T>;
}

/**
 * Start one instance process. Its stderr goes to ours; with BENCH_PG_CPU_PROF=<dir> the first
 * instance writes a V8 CPU profile there (`--cpu-prof`).
 */
function startInstance(spec: InstanceSpec, masterKey: string, first: boolean): Instance {
  const prof = process.env.BENCH_PG_CPU_PROF;
  const flags =
    first && prof !== undefined && prof !== '' ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const child = spawn(process.execPath, [...flags, INSTANCE, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, DIHYA_LOGS_MASTER_KEY: masterKey },
  });
  child.stdout.setEncoding('utf8');
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  let buf = '';
  let exit: string | undefined;
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiting.splice(0)) w();
  });
  child.on('close', (code, signal) => {
    exit = signal ?? `code ${String(code)}`;
    for (const w of waiting.splice(0)) w();
  });
  const next = async <T>(timeoutMs: number, what: string): Promise<T> => {
    const deadline = performance.now() + timeoutMs;
    while (lines.length === 0) {
      if (exit !== undefined) throw new Error(`an instance exited with ${exit} before ${what}`);
      const left = deadline - performance.now();
      if (left <= 0)
        throw new Error(`an instance did not print ${what} within ${timeoutMs / 1000} s`);
      await Promise.race([new Promise<void>((r) => waiting.push(r)), sleep(Math.min(left, 1000))]);
    }
    return JSON.parse(lines.shift() ?? '') as T;
  };
  return { child, next };
}

/** Events per instance: `total` split as evenly as it goes. */
function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** The settings that decide what a COMMIT costs, for the notes. */
async function serverSettings(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const names = [
      'synchronous_commit',
      'fsync',
      'wal_sync_method',
      'commit_delay',
      'shared_buffers',
    ];
    const { rows } = await c.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
      [names],
    );
    const version = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return [
      `PostgreSQL ${version.rows[0]?.v ?? '?'}`,
      ...rows.map((r) => `${r.name} ${r.setting}`),
    ].join(', ');
  });
}

/** The records' tables (every partition, indexes and TOAST included), and checkpoints signed. */
async function tableFigures(
  url: string,
  schema: string,
): Promise<{ bytes: number; checkpoints: number }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ bytes: string | null; checkpoints: string }>(
      `SELECT (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i
                WHERE i.inhparent = format('%I.dl_records', $1::text)::regclass) AS bytes,
              (SELECT count(*) FROM "${schema}".dl_checkpoints) AS checkpoints`,
      [schema],
    );
    return { bytes: Number(rows[0]?.bytes ?? 0), checkpoints: Number(rows[0]?.checkpoints ?? 0) };
  });
}

/**
 * Batched ingest on PostgreSQL: `instances` processes open the same fresh schema (the library,
 * `store: { kind: postgres }`, pool of 8) and each runs `task.writers` writers looping
 * `await logs.audit(event)` (answered after the COMMIT of its group) until its share of
 * `task.events` is stored. The clock runs from `go` (all instances open) until the last one has
 * closed. Meanwhile a sampler watches their connections and the server's CPU (pg-sampler.ts).
 */
export async function pgIngest(task: WorkerTask): Promise<Measured> {
  const pg = task.pg;
  if (pg === undefined) throw new Error('pg-ingest: no PostgreSQL task');
  const n = pg.instances ?? 1;
  const masterKey = randomBytes(32).toString('base64');
  const prefix = `dihya-bench-${pg.schema}`;
  const shares = split(task.events, n);
  const instances = shares.map((events, i) =>
    startInstance(
      {
        url: withAppName(pg.url, `${prefix}-i${i + 1}`),
        schema: pg.schema,
        dir: path.join(task.dir, `instance-${i + 1}`),
        writers: task.writers,
        events,
        poolSize: POOL_SIZE,
      },
      masterKey,
      i === 0,
    ),
  );
  try {
    await Promise.all(instances.map((x) => x.next(READY_MS, 'ready')));
    const server = await serverSettings(pg.url);
    const before = await withClient(pg.url, walStats);
    const sampler = await PgSampler.start(pg.url, prefix);
    const started = performance.now();
    for (const x of instances) x.child.stdin.write('go\n');
    let results: InstanceResult[];
    let summary: SamplerSummary;
    try {
      results = await Promise.all(
        instances.map((x) => x.next<InstanceResult>(RUN_MS, 'its result')),
      );
    } finally {
      summary = await sampler.stop();
    }
    const ms = performance.now() - started;
    await sleep(1100); // the server publishes WAL statistics at most once a second
    const after = await withClient(pg.url, walStats);
    const table = await tableFigures(pg.url, pg.schema);
    const measured = summarize(task, n, ms, results, summary, table, before, after);
    return { ...measured, extra: { ...measured.extra, server } };
  } finally {
    for (const x of instances) x.child.stdin.end();
  }
}

function summarize(
  task: WorkerTask,
  n: number,
  ms: number,
  results: readonly InstanceResult[],
  s: SamplerSummary,
  table: { bytes: number; checkpoints: number },
  before: WalStats | undefined,
  after: WalStats | undefined,
): Measured {
  const total = (f: (r: InstanceResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const records = total((r) => r.records);
  const commits = total((r) => r.commits);
  const ackMs = Math.max(...results.map((r) => r.produceMs));
  const pctOf = (cpu: number | undefined): number =>
    cpu === undefined ? -1 : Math.round((cpu / ms) * 100);
  const nodeCpu = total((r) => r.cpuUserMs + r.cpuSystemMs);
  const pgCpu = [s.backendCpuMs, s.backgroundCpuMs, s.otherClientCpuMs, s.samplerCpuMs];
  const known = nodeCpu + pgCpu.reduce<number>((a, c) => a + (c ?? 0), 0);
  const wal = before !== undefined && after !== undefined;
  // The instances' group commits: mean ms per commit of each part, weighted by their commits.
  const txCommits = total((r) => r.commitTimes.commits);
  const parts = new Map<string, number>();
  for (const r of results)
    for (const [k, v] of Object.entries(r.commitTimes.parts))
      parts.set(k, (parts.get(k) ?? 0) + v * r.commitTimes.commits);
  const commitParts = Object.fromEntries(
    [...parts].map(([k, v]) => [`commit:${k}`, round2(v / Math.max(1, txCommits))]),
  );
  const cycles = results.map((r) => r.produceMs / Math.max(1, r.commits));
  const states = Object.fromEntries(
    Object.entries(s.states).map(([k, v]) => [`state:${k}`, round2(v)]),
  );
  return {
    events: task.events,
    ms,
    produceMs: ackMs,
    bytes: table.bytes,
    extra: {
      instances: n,
      writers: task.writers,
      records,
      recordBytes: total((r) => r.bytes),
      commits,
      commitsPerSec: Math.round((commits * 1000) / ackMs),
      recordsPerCommit: round2(records / Math.max(1, commits)),
      ackEventsPerSec: Math.round((records * 1000) / ackMs),
      instanceRssMB: results.map((r) => r.peakRssMB.toFixed(1)).join(' / '),
      maxInstanceRssMB: round2(Math.max(...results.map((r) => r.peakRssMB))),
      errors: total((r) => r.errors),
      nodeCpu: pctOf(nodeCpu),
      backendCpu: pctOf(s.backendCpuMs),
      backgroundCpu: pctOf(s.backgroundCpuMs),
      otherClientCpu: pctOf(s.otherClientCpuMs),
      samplerCpu: pctOf(s.samplerCpuMs),
      // Everything else on the machine: other programs, the kernel's own threads.
      restCpu: s.machineCpuMs === undefined ? -1 : pctOf(Math.max(0, s.machineCpuMs - known)),
      walSyncs: wal ? after.syncs - before.syncs : -1,
      walWrites: wal ? after.writes - before.writes : -1,
      walMB: wal ? round2((after.bytes - before.bytes) / 1e6) : -1,
      checkpoints: table.checkpoints,
      leaderOurs: s.leader.ours,
      leaderElsewhere: s.leader.elsewhere,
      leaderNone: s.leader.none,
      samples: s.samples,
      ...states,
      // Per instance: one group commit after the other; a cycle is the time from one to the next.
      cycleMs: round2(cycles.reduce((a, b) => a + b, 0) / cycles.length),
      commitMs: round2(total((r) => r.commitTimes.totalMs) / Math.max(1, txCommits)),
      ...commitParts,
      otherTx: total((r) => r.commitTimes.otherTx),
      otherTxMs: Math.round(total((r) => r.commitTimes.otherTxMs)),
    },
  };
}
