import { statfsSync } from 'node:fs';
import pg from 'pg';
import { ACTORS, lcg } from '../gen-log.js';
import { actorId, loadRecords } from '../pg-load.js';
import { pct, withClient } from '../pg-util.js';
import { round2, type Measured, type WorkerTask } from '../result.js';

const RUNS = 40;
const WARMUP = 3;
const QUERY = 'SELECT seq, line FROM dl_records WHERE actor = $1 ORDER BY ts DESC LIMIT 100';
/** Disk a loaded row takes (heap ~780 B, indexes ~300 B), and room for the index sorts. */
const BYTES_PER_ROW = 1100;
const HEADROOM = 1.5;

/**
 * Refuse to start a load the server's disk cannot hold. Only when the server's data directory
 * is on this machine (and the role may read the setting); otherwise the load just tries.
 */
async function checkDisk(url: string, rows: number): Promise<string> {
  const dir = await withClient(url, (c) =>
    c
      .query<{ d: string }>(`SELECT current_setting('data_directory') AS d`)
      .then((r) => r.rows[0]?.d)
      .catch(() => undefined),
  );
  if (dir === undefined) return 'not checked (data_directory not readable)';
  let free: number;
  try {
    const s = statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch {
    return `not checked (${dir} not on this machine)`;
  }
  const need = rows * BYTES_PER_ROW * HEADROOM;
  const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;
  if (free < need)
    throw new Error(
      `${rows} rows need about ${gb(need)} free on ${dir}, there are ${gb(free)}: use --pg-rows`,
    );
  return `${gb(free)} free on ${dir} before the load`;
}

/** The plan's node types and the buffers of one query (EXPLAIN ANALYZE). */
async function explain(c: pg.Client, actor: string): Promise<string> {
  interface Node {
    'Node Type': string;
    Plans?: Node[];
  }
  const { rows } = await c.query<{ 'QUERY PLAN': Array<{ Plan: Node & Record<string, number> }> }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${QUERY}`,
    [actor],
  );
  const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
  if (plan === undefined) return '';
  // Node types, outermost first, each once (the partitions repeat the same scans).
  const names: string[] = [];
  const walk = (n: Node): void => {
    if (!names.includes(n['Node Type'])) names.push(n['Node Type']);
    for (const p of n.Plans ?? []) walk(p);
  };
  walk(plan);
  const hit = plan['Shared Hit Blocks'] ?? 0;
  const read = plan['Shared Read Blocks'] ?? 0;
  return `${names.join(' > ')}; ${hit} buffers hit, ${read} read`;
}

/**
 * Query by actor over `rows` rows (10 million by default): a fresh schema made by the library's
 * migrations, loaded by the server (pg-load.ts: 30 days, 10,000 actors, two monthly partitions),
 * ANALYZEd, then RUNS times the query an application runs for "the newest 100 records of this
 * person", each time for another actor, on one connection (a parameterized statement, as the
 * library sends them; times include the round trip and reading the 100 lines).
 */
export async function pgQuery(task: WorkerTask): Promise<Measured> {
  const pgTask = task.pg;
  if (pgTask === undefined) throw new Error('pg-query: no PostgreSQL task');
  const rows = pgTask.rows ?? 10_000_000;
  const disk = await checkDisk(pgTask.url, rows);
  const load = await loadRecords(pgTask.url, pgTask.schema, rows);

  const c = new pg.Client({
    connectionString: pgTask.url,
    options: `-c search_path=${pgTask.schema}`,
    application_name: 'dihya-bench-query',
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const rnd = lcg(17);
    const actors = new Set<number>();
    while (actors.size < RUNS + WARMUP + 1) actors.add(Math.floor(rnd() * ACTORS));
    const [plannedFor, ...rest] = [...actors].map(actorId);
    for (const a of rest.slice(0, WARMUP)) await c.query(QUERY, [a]);
    const times: number[] = [];
    let found = 0;
    for (const a of rest.slice(WARMUP)) {
      const t0 = performance.now();
      const r = await c.query(QUERY, [a]);
      times.push(performance.now() - t0);
      found += r.rowCount ?? 0;
    }
    const plan = await explain(c, plannedFor ?? '');
    times.sort((a, b) => a - b);
    return {
      events: rows,
      ms: load.ms,
      bytes: load.bytes,
      extra: {
        actorP50: round2(pct(times, 0.5)),
        actorP99: round2(pct(times, 0.99)),
        actorMin: round2(times[0] ?? 0),
        actorFound: Math.round(found / RUNS),
        runs: RUNS,
        generateMs: Math.round(load.generateMs),
        indexMs: Math.round(load.indexMs),
        attachMs: Math.round(load.attachMs),
        analyzeMs: Math.round(load.analyzeMs),
        partitions: load.partitions,
        plan,
        disk,
        // The parent's indexes by build time (both partitions), slowest first.
        indexTimes: Object.entries(load.indexTimes)
          .sort((a, b) => b[1] - a[1])
          .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(0)} s`)
          .join(', '),
      },
    };
  } finally {
    await c.end().catch(() => undefined);
  }
}
