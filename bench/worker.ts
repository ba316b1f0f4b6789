/**
 * One scenario in a process of its own, so its peak RSS is its own and its garbage, timers and
 * dirty pages do not disturb the next. Usage: `node build/bench/worker.js '<WorkerTask JSON>'`;
 * prints one ScenarioResult as JSON on stdout.
 */
import type { Measured, ScenarioResult, WorkerTask } from './result.js';
import { rate } from './result.js';
import { libBuffered } from './scenarios/lib-buffered.js';
import { libDurable } from './scenarios/lib-durable.js';
import { pinoBuffered } from './scenarios/pino-buffered.js';
import { verify } from './scenarios/verify.js';
import { libPipeline, pinoRedact } from './scenarios/pipeline.js';
import { seal } from './scenarios/seal.js';
import { indexScenario } from './scenarios/index.js';
import { gdprScenario } from './scenarios/gdpr.js';
import { serviceLib, servicePeer } from './scenarios/service.js';
import { witnessScenario } from './scenarios/witness.js';
import { pgIngest } from './scenarios/pg-ingest.js';
import { fileLatency, pgLatency } from './scenarios/pg-latency.js';
import { pgQuery } from './scenarios/pg-query.js';

const SCENARIOS: Readonly<Record<string, (task: WorkerTask) => Promise<Measured>>> = {
  'lib-buffered': libBuffered,
  'pino-buffered': pinoBuffered,
  'lib-durable': libDurable,
  verify,
  'lib-pipeline': libPipeline,
  'pino-redact': pinoRedact,
  seal,
  index: indexScenario,
  gdpr: gdprScenario,
  'service-lib': serviceLib,
  'service-peer': servicePeer,
  witness: witnessScenario,
  'pg-ingest': pgIngest,
  'pg-latency': pgLatency,
  'file-latency': fileLatency,
  'pg-query': pgQuery,
};

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;
  const run = SCENARIOS[task.scenario];
  if (run === undefined) throw new Error(`unknown scenario ${JSON.stringify(task.scenario)}`);
  const measured = await run(task);
  const result: ScenarioResult = {
    scenario: task.scenario,
    ...measured,
    eventsPerSec: rate(measured.events, measured.ms),
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
