import type { BenchArgs } from './args.js';
import type { Check, Results } from './report.js';
import type { ScenarioResult } from './result.js';
import { fixed, int } from './table.js';

/** The query target applies to 10M rows: a smaller load that passes says nothing about it. */
export const PG_TARGET_ROWS = 10_000_000;
const INSTANCES = [1, 2, 3] as const;

function ok(results: Results, id: string): ScenarioResult | undefined {
  const r = results.get(id);
  return r instanceof Error ? undefined : r;
}

function num(r: ScenarioResult | undefined, key: string): number | undefined {
  const v = r?.extra?.[key];
  return typeof v === 'number' ? v : undefined;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${fixed(v, 2)} ms`);
const pctCore = (v: number | undefined): string =>
  v === undefined || v < 0 ? 'n/a' : `${int(v)}%`;

const PART_ORDER = [
  'begin',
  'head row (lock)',
  'other statements',
  'insert records',
  'update head',
  'commit',
  'gap',
];
const PART_NAMES: Readonly<Record<string, string>> = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  gap: 'in the instance between statements',
};

/** `BEGIN 0.31, head row (lock) 2.10, ...` from the `commit:` figures of an ingest run. */
function commitParts(r: ScenarioResult): string {
  return PART_ORDER.flatMap((k) => {
    const v = num(r, `commit:${k}`);
    return v === undefined ? [] : [`${PART_NAMES[k] ?? k} ${fixed(v, 2)}`];
  }).join(', ');
}

/** The target: query by actor, p50 < 20 ms over 10M rows. */
export function postgresQueryCheck(results: Results): Check {
  const r = results.get('postgres-query');
  const q = r instanceof Error ? undefined : r;
  const value = num(q, 'actorP50');
  const name = 'postgres query by actor over 10M rows, p50';
  const target = '< 20 ms';
  if (r instanceof Error) return { name, target, value: undefined, mark: 'MISS' };
  if (value === undefined) return { name, target, value, mark: 'n/a' };
  if (value >= 20) return { name, target, value, mark: 'MISS' };
  return { name, target, value, mark: (q?.events ?? 0) < PG_TARGET_ROWS ? 'n/a' : 'PASS' };
}

/** The `11 postgres` rows of the table. */
export function postgresRows(args: BenchArgs, results: Results, query: Check): string[][] {
  const rows: string[][] = [];
  const w = int(args.writers);
  const measured = (id: string, label: string, rss: (r: ScenarioResult) => number): void => {
    const r = results.get(id);
    if (r === undefined) return;
    if (r instanceof Error) {
      rows.push([label, 'FAILED', '', '', '', '', '']);
      return;
    }
    const perEvent = r.bytes === undefined || r.events === 0 ? '' : int(r.bytes / r.events);
    const time = `${fixed(r.ms / 1000, 2)} s`;
    rows.push([label, int(r.eventsPerSec), `${fixed(rss(r), 1)} MB`, perEvent, time, '', '']);
  };
  measured(
    'postgres-file',
    `11 postgres: file store, ${w} writers, await audit()`,
    (r) => r.peakRssMB,
  );
  for (const n of INSTANCES)
    measured(
      `postgres-${n}`,
      `11 postgres: ${n} instance${n > 1 ? 's' : ''} x ${w} writers, await audit()`,
      (r) => num(r, 'maxInstanceRssMB') ?? 0,
    );
  const file = ok(results, 'postgres-file');
  const ratios = INSTANCES.map((n) => {
    const r = ok(results, `postgres-${n}`);
    return file === undefined || r === undefined
      ? '-'
      : `${fixed(r.eventsPerSec / file.eventsPerSec, 2)}x`;
  });
  if (file !== undefined && ratios.some((r) => r !== '-'))
    rows.push([
      '11 postgres: ratio to the file store, 1 / 2 / 3 instances',
      `${ratios.map((r) => r.replace('x', '')).join(' / ')}x`,
      '',
      '',
      '',
      '',
      '',
    ]);
  const latency = (id: string, label: string): void => {
    const r = results.get(id);
    if (r === undefined) return;
    if (r instanceof Error) {
      rows.push([label, '', '', '', 'FAILED', '', '']);
      return;
    }
    const cell = `p50 ${ms(num(r, 'p50'))}, p99 ${ms(num(r, 'p99'))}`;
    rows.push([label, int(r.eventsPerSec), '', '', cell, '', '']);
  };
  latency('postgres-latency', '11 postgres: 1 writer, 1 event at a time, PostgreSQL');
  latency('postgres-latency-file', '11 postgres: 1 writer, 1 event at a time, file store');
  const a = num(ok(results, 'postgres-latency'), 'p50');
  const b = num(ok(results, 'postgres-latency-file'), 'p50');
  if (a !== undefined && b !== undefined && b > 0)
    rows.push([
      '11 postgres: p50 ratio PostgreSQL / file store',
      '',
      '',
      '',
      `${fixed(a / b, 2)}x`,
      '',
      '',
    ]);
  const q = results.get('postgres-query');
  if (q !== undefined) {
    const label = `11 postgres: load ${int(args.pgRows)} rows (server-side generate_series)`;
    const queryLabel = (rowCount: number): string =>
      `11 postgres: query by actor (newest 100) over ${int(rowCount)} rows`;
    if (q instanceof Error) {
      rows.push([label, 'FAILED', '', '', '', '', '']);
      rows.push([queryLabel(args.pgRows), '', '', '', 'FAILED', query.target, query.mark]);
    } else {
      rows.push([
        label,
        int(q.eventsPerSec),
        '',
        int((q.bytes ?? 0) / q.events),
        `${fixed(q.ms / 1000, 1)} s`,
        '',
        '',
      ]);
      rows.push([
        queryLabel(q.events),
        '',
        '',
        '',
        `p50 ${ms(num(q, 'actorP50'))}, p99 ${ms(num(q, 'actorP99'))}`,
        query.target,
        query.mark,
      ]);
    }
  }
  return rows;
}

/** Where the time went: commits, WAL, CPU, what the connections were doing; the load. */
export function postgresNotes(args: BenchArgs, results: Results): string[] {
  const out: string[] = [];
  const file = ok(results, 'postgres-file');
  const any = INSTANCES.some((n) => ok(results, `postgres-${n}`) !== undefined);
  if (file !== undefined)
    out.push(
      `11 postgres, file store reference: ${int(num(file, 'syncs') ?? 0)} fdatasync calls, ` +
        `${fixed(num(file, 'recordsPerSync') ?? 0, 1)} records per sync`,
    );
  if (any) {
    const first = INSTANCES.map((n) => ok(results, `postgres-${n}`)).find((r) => r !== undefined);
    const server = first?.extra?.server;
    if (typeof server === 'string') out.push(`11 postgres: server ${server}`);
  }
  for (const n of INSTANCES) {
    const r = ok(results, `postgres-${n}`);
    if (r === undefined) continue;
    const e = (k: string): number => num(r, k) ?? 0;
    const states = Object.entries(r.extra ?? {})
      .filter(([k, v]) => k.startsWith('state:') && typeof v === 'number' && v >= 0.01)
      .sort((x, y) => Number(y[1]) - Number(x[1]))
      .map(([k, v]) => `${k.slice(6)} ${fixed(Number(v), 2)}`);
    const leader =
      e('leaderOurs') > 0
        ? 'one of these instances led'
        : e('leaderElsewhere') > 0
          ? 'ANOTHER CLIENT held the leader lock (database-wide): no rounds but at close'
          : 'no leader seen';
    out.push(
      `11 postgres, ${n} instance${n > 1 ? 's' : ''}: ${int(e('commits'))} commits of ` +
        `${fixed(e('recordsPerCommit'), 1)} records (${int(e('commitsPerSec'))} commits/s), last ack at ` +
        `${fixed(r.produceMs ?? 0, 0)} ms (${int(e('ackEventsPerSec'))} events/s); WAL ` +
        `${int(e('walSyncs'))} fsyncs, ${fixed(e('walMB'), 1)} MB; ${int(e('checkpoints'))} checkpoints ` +
        `signed (${leader}); peak RSS per instance ${String(r.extra?.instanceRssMB ?? '')} MB`,
      `  CPU, % of one core: instances (node) ${pctCore(e('nodeCpu'))}, their backends ` +
        `${pctCore(e('backendCpu'))}, server background ${pctCore(e('backgroundCpu'))}, other clients ` +
        `${pctCore(e('otherClientCpu'))}, the bench's sampler ${pctCore(e('samplerCpu'))}, ` +
        `everything else ${pctCore(e('restCpu'))}`,
      `  connections (mean number in each state, ${int(e('samples'))} samples): ${states.join(', ')}`,
      `  per group commit, ms (the instances' view): ${commitParts(r)} = ${fixed(e('commitMs'), 2)} ` +
        `from BEGIN to COMMIT answered; ${fixed(e('cycleMs'), 2)} from one commit of an instance to its next`,
    );
  }
  const lat = ok(results, 'postgres-latency');
  if (lat !== undefined && num(lat, 'commitMs') !== undefined)
    out.push(
      `11 postgres, 1 event at a time: ${int(num(lat, 'commits') ?? 0)} commits; per commit, ms: ` +
        `${commitParts(lat)} = ${fixed(num(lat, 'commitMs') ?? 0, 2)} from BEGIN to COMMIT answered ` +
        `(p50 of an audit() ${ms(num(lat, 'p50'))}: the rest is the queue's turn of the event loop, ` +
        `the pool, the pipeline)`,
    );
  const q = ok(results, 'postgres-query');
  if (q !== undefined) {
    const s = (k: string): string => `${fixed((num(q, k) ?? 0) / 1000, 1)} s`;
    out.push(
      `11 postgres, query: load ${s('generateMs')} generating, ${s('indexMs')} indexing, ` +
        `${s('attachMs')} attaching, ${s('analyzeMs')} ANALYZE; ${int(num(q, 'partitions') ?? 0)} ` +
        `partitions, ${fixed((q.bytes ?? 0) / 1e9, 2)} GB; disk ${String(q.extra?.disk ?? '')}`,
      `  index builds (both partitions, on 2 connections): ${String(q.extra?.indexTimes ?? '')}`,
      `  ${int(num(q, 'runs') ?? 0)} actors, ${int(num(q, 'actorFound') ?? 0)} records per answer, ` +
        `fastest ${ms(num(q, 'actorMin'))}; p99 is the slowest of the runs; plan: ${String(q.extra?.plan ?? '')}`,
    );
  }
  if (out.length > 0)
    out.push(
      `  (${int(args.pgEvents)} events per ingest run; B/event of the PostgreSQL rows: the records' ` +
        'partitions, heap + indexes + TOAST, per event; peak RSS: the largest instance)',
    );
  return out;
}
