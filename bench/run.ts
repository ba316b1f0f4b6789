/**
 * `npm run bench`: each scenario in a child process of its own (see worker.ts), one table of
 * results with the issue's targets beside them, and bench/results/latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, type BenchArgs } from './args.js';
import { checks, renderReport } from './report.js';
import { dropSchemas, freshSchema, probeServer } from './pg-util.js';
import type { PgTask, ScenarioResult, WorkerTask } from './result.js';
import { int } from './table.js';

interface Run {
  /** Key in the results: `<group>-<who>`. */
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly scenario: string;
  readonly batch?: number;
  /** pg-ingest: instance processes. */
  readonly instances?: number;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
// build/bench/run.js -> <project>/bench/results
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function plan(args: BenchArgs): Run[] {
  const run = (
    id: string,
    title: string,
    scenario: string,
    batch?: number,
    instances?: number,
  ): Run => ({
    id,
    group: id.split('-')[0] ?? id,
    title,
    scenario,
    ...(batch === undefined ? {} : { batch }),
    ...(instances === undefined ? {} : { instances }),
  });
  const all = [
    run('buffered-lib', 'buffered, dihya-logs', 'lib-buffered', args.batch),
    run('buffered-pino', 'buffered, pino', 'pino-buffered', args.batch),
    run('burst-lib', 'burst, dihya-logs', 'lib-buffered', args.burstBatch),
    run('burst-pino', 'burst, pino', 'pino-buffered', args.burstBatch),
    run('durable', 'durable, dihya-logs', 'lib-durable'),
    run('verify', 'verify', 'verify'),
    run('pipeline-lib', 'pipeline, dihya-logs', 'lib-pipeline', args.batch),
    run('pipeline-pino', 'pipeline, pino + redact', 'pino-redact', args.batch),
    run('seal', 'seal a 64 MiB segment', 'seal'),
    run('index', 'index build and queries', 'index'),
    run('gdpr', 'GDPR export and erasure', 'gdpr'),
    run('service-lib', 'service, dihya-logs', 'service-lib'),
    run('service-peer', 'service, fastify + pino', 'service-peer'),
    run('witness', 'service with two witnesses vs none', 'witness'),
    // Last: it needs a server, and its 10M-row load leaves the most pages to the disk.
    run('postgres-file', 'postgres: file store reference, durable', 'lib-durable'),
    ...[1, 2, 3].map((n) =>
      run(`postgres-${n}`, `postgres: ${n} instance(s)`, 'pg-ingest', undefined, n),
    ),
    run('postgres-latency-file', 'postgres: file store, 1 event at a time', 'file-latency'),
    run('postgres-latency', 'postgres: 1 event at a time', 'pg-latency'),
    run('postgres-query', `postgres: query by actor over ${int(args.pgRows)} rows`, 'pg-query'),
  ];
  // verify reads the log that the buffered dihya-logs scenario writes.
  const needed = (r: Run): boolean =>
    args.only.has(r.group) || (r.id === 'buffered-lib' && args.only.has('verify'));
  return all.filter(needed);
}

/** Spawn the worker on one task; resolves with the JSON line it prints. */
function runWorker(task: WorkerTask): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(task)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`worker exited with ${signal ?? `code ${String(code)}`}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as ScenarioResult);
      } catch {
        reject(new Error(`worker printed no result: ${JSON.stringify(last.slice(0, 200))}`));
      }
    });
  });
}

/**
 * The server for the postgres group, checked once before its first run: without one, every run
 * of the group fails at once with the reason (never a hang). Leftover schemas are only reported.
 */
async function pgReady(args: BenchArgs): Promise<Error | undefined> {
  try {
    const left = await probeServer(args.pgUrl);
    if (left.length > 0)
      process.stderr.write(
        `bench: ${left.length} schema(s) left by an earlier, killed run: ${left.join(' ')} ` +
          `(DROP SCHEMA <name> CASCADE)\n`,
      );
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

async function runAll(
  args: BenchArgs,
  root: string,
  pgSchemas: string[],
  interrupted: () => boolean,
): Promise<Map<string, ScenarioResult | Error>> {
  const results = new Map<string, ScenarioResult | Error>();
  let pgDown: Error | undefined | 'unchecked' = 'unchecked';
  for (const run of plan(args)) {
    if (interrupted()) break;
    const dir = path.join(root, run.id);
    mkdirSync(dir);
    const source = results.get('buffered-lib');
    const postgres = run.group === 'postgres';
    if (postgres && pgDown === 'unchecked') pgDown = await pgReady(args);
    if (postgres && pgDown instanceof Error) {
      process.stderr.write(`bench: ${run.title} ... not run: no server\n`);
      // The reason once, on the group's first line; the others point to it.
      const first = ![...results.keys()].some((id) => id.startsWith('postgres'));
      results.set(run.id, first ? pgDown : new Error('not run: no PostgreSQL server (above)'));
      continue;
    }
    let pg: PgTask | undefined;
    if (run.scenario.startsWith('pg-')) {
      pg = {
        url: args.pgUrl,
        schema: freshSchema(),
        ...(run.instances === undefined ? {} : { instances: run.instances }),
        ...(run.scenario === 'pg-query' ? { rows: args.pgRows } : {}),
      };
      pgSchemas.push(pg.schema);
    }
    const task: WorkerTask = {
      scenario: run.scenario,
      events:
        run.id === 'index'
          ? args.indexEvents
          : run.id === 'gdpr'
            ? args.gdprEvents
            : postgres
              ? args.pgEvents
              : args.events,
      dir,
      batch: run.batch ?? args.batch,
      writers: args.writers,
      ...(run.id === 'verify' && source !== undefined && !(source instanceof Error)
        ? { logsDir: String(source.extra?.logsDir), publicKey: String(source.extra?.publicKey) }
        : {}),
      ...(pg === undefined ? {} : { pg }),
    };
    process.stderr.write(`bench: ${run.title} ...`);
    const started = performance.now();
    const result = await runWorker(task).catch((err: unknown) =>
      err instanceof Error ? err : new Error(String(err)),
    );
    const took = ` (${((performance.now() - started) / 1000).toFixed(0)} s)`;
    process.stderr.write(
      result instanceof Error
        ? ` failed: ${result.message}\n`
        : ` ${Math.round(result.eventsPerSec)} events/s${took}\n`,
    );
    results.set(run.id, result);
    // Files stay until every scenario has run (about 2 GB at 1M events): on ext4 mounted with
    // `discard`, deleting a large file slows the fdatasync calls that follow for seconds.
  }
  return results;
}

async function main(): Promise<void> {
  let args: BenchArgs | 'help';
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'dihya-bench-'));
  // The schemas of the postgres group, dropped at the end whatever happened (the workers may
  // have died without dropping theirs).
  const pgSchemas: string[] = [];
  const dropPg = async (): Promise<void> => {
    const failed = await dropSchemas(args.pgUrl, pgSchemas.splice(0));
    for (const f of failed) process.stderr.write(`bench: could not drop schema ${f}\n`);
  };
  const cleanUp = (): void => rmSync(root, { recursive: true, force: true });
  const signalled = { yes: false };
  const onSignal = (): void => {
    // No next scenario, no report: the files go now, the schemas once dropped, then exit.
    signalled.yes = true;
    cleanUp();
    void dropPg().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results: Map<string, ScenarioResult | Error>;
  try {
    results = await runAll(args, root, pgSchemas, () => signalled.yes);
  } finally {
    cleanUp();
    await dropPg();
  }
  if (signalled.yes) return; // onSignal exits once the schemas are dropped
  const cpus = os.cpus();
  const header =
    `dihya-logs bench: ${int(args.events)} events per scenario, node ${process.version}, ` +
    `${cpus.length} CPU(s) ${cpus[0]?.model.trim() ?? ''}, ${os.platform()} ${os.release()}`;
  process.stdout.write(`\n${header}\n\n${renderReport(args, results)}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim(),
    args: { ...args, only: [...args.only] },
    checks: checks(results),
    results: Object.fromEntries(
      [...results].map(([id, r]) => [id, r instanceof Error ? { error: r.message } : r]),
    ),
  };
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(
    `\nresults written to ${path.relative(process.cwd(), RESULTS_DIR)}/latest.json\n`,
  );
  if ([...results.values()].some((r) => r instanceof Error)) process.exitCode = 1;
}

await main();
