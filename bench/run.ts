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
import type { ScenarioResult, WorkerTask } from './result.js';
import { int } from './table.js';

interface Run {
  /** Key in the results: `<group>-<who>`. */
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly scenario: string;
  readonly batch?: number;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
// build/bench/run.js -> <project>/bench/results
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function plan(args: BenchArgs): Run[] {
  const run = (id: string, title: string, scenario: string, batch?: number): Run => ({
    id,
    group: id.split('-')[0] ?? id,
    title,
    scenario,
    ...(batch === undefined ? {} : { batch }),
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

async function runAll(args: BenchArgs, root: string): Promise<Map<string, ScenarioResult | Error>> {
  const results = new Map<string, ScenarioResult | Error>();
  for (const run of plan(args)) {
    const dir = path.join(root, run.id);
    mkdirSync(dir);
    const source = results.get('buffered-lib');
    const task: WorkerTask = {
      scenario: run.scenario,
      events:
        run.id === 'index' ? args.indexEvents : run.id === 'gdpr' ? args.gdprEvents : args.events,
      dir,
      batch: run.batch ?? args.batch,
      writers: args.writers,
      ...(run.id === 'verify' && source !== undefined && !(source instanceof Error)
        ? { logsDir: String(source.extra?.logsDir), publicKey: String(source.extra?.publicKey) }
        : {}),
    };
    process.stderr.write(`bench: ${run.title} ...`);
    const result = await runWorker(task).catch((err: unknown) =>
      err instanceof Error ? err : new Error(String(err)),
    );
    process.stderr.write(
      result instanceof Error
        ? ` failed: ${result.message}\n`
        : ` ${Math.round(result.eventsPerSec)} events/s\n`,
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
  const cleanUp = (): void => rmSync(root, { recursive: true, force: true });
  const onSignal = (): void => {
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results: Map<string, ScenarioResult | Error>;
  try {
    results = await runAll(args, root);
  } finally {
    cleanUp();
  }
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
