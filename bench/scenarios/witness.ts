import path from 'node:path';
import { eventPool } from '../event.js';
import { round2, type Measured, type WorkerTask } from '../result.js';
import { BATCH, batchBodies, batched } from './service.js';

const ROUNDS = 2;

/**
 * The cost of witnessing: the service's batched ingest (as `9 service` loads it) with no witness
 * and with two (tlog-witness servers in a process of their own, as on another machine, on the
 * same two cores; quorum 2; the default interval of 5 s, and a last round at close), interleaved
 * ROUNDS times, a fresh server each run. `events` and `ms` are those of the witnessed runs;
 * the ratio is their rate over the unwitnessed runs' rate.
 */
export async function witnessScenario(task: WorkerTask): Promise<Measured> {
  const bodies = batchBodies(eventPool());
  const totals = { none: { events: 0, ms: 0 }, two: { events: 0, ms: 0 } };
  let witnessed = 0;
  let records = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of ['none', 'two'] as const) {
      const b = await batched(
        `batched ingest, ${which === 'none' ? 'no witness' : 'two witnesses'}`,
        path.join(task.dir, `${which}-${round}`),
        false,
        '/v1/events',
        bodies,
        which === 'two' ? ['--witnesses', '2'] : [],
      );
      totals[which].events += b.timed.ok * BATCH;
      totals[which].ms += b.timed.seconds * 1000;
      if (which === 'two') {
        witnessed += b.summary.witnessed ?? 0;
        records += b.summary.records;
      }
    }
  }
  const rate = (t: { events: number; ms: number }): number => (t.events * 1000) / t.ms;
  if (witnessed === 0) throw new Error('the witnessed runs had nothing cosigned');
  return {
    events: totals.two.events,
    ms: totals.two.ms,
    extra: {
      noWitnessRate: Math.round(rate(totals.none)),
      twoWitnessRate: Math.round(rate(totals.two)),
      ratio: round2(rate(totals.two) / rate(totals.none)),
      rounds: ROUNDS,
      witnessedShare: round2(witnessed / Math.max(1, records)),
    },
  };
}
