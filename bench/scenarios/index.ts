import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Keystore } from '../../src/crypto/keystore.js';
import { IndexDb } from '../../src/search/index-db.js';
import { rebuild } from '../../src/search/indexer.js';
import { consistencyProofFromIndex, inclusionProofFromIndex } from '../../src/search/proofs.js';
import type { QueryFilter } from '../../src/query/filter.js';
import { runQuery } from '../../src/query/query.js';
import { search } from '../../src/query/search.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { ACTORS, APP_EVENTS, DAY_MS, DAYS, lcg, START, WORDS, writeVariedLog } from '../gen-log.js';
import { round2, type Measured, type WorkerTask } from '../result.js';

const RUNS = 40;
const LIMIT = 100;

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function timed(samples: number[], fn: () => unknown): unknown {
  const t0 = performance.now();
  const r = fn();
  samples.push(performance.now() - t0);
  return r;
}

async function timedAsync(samples: number[], fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await fn();
  samples.push(performance.now() - t0);
}

/**
 * The query index at scale: write `task.events` varied events (10 million by default) spread
 * over 30 days into app, api and audit (10,000 actors, 21 event types, messages from a small
 * vocabulary; one message in 500 says "zanzibar"), then time a full index build, then 40 runs of
 * each query: by actor (the newest 100 records of one person, found through the keystore), by
 * event type over one day, by text (a rare word), and by a common word (one message in eight). Each query is timed twice: the index lookup alone, and
 * the whole query as `dihya-logs query` runs it (each record read back from its segment,
 * archives included, and checked against its chain hash). Beside it, in the same run, what a
 * user would do without an index: `zcat -f` every file through `grep -F zanzibar`.
 */
export async function indexScenario(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  const n = task.events;
  const { logId, writeMs } = await writeVariedLog(dir, masterKey, n);

  const layout = new LogLayout(dir);
  const db = IndexDb.open(layout, logId);
  const buildStarted = performance.now();
  const report = await rebuild(layout, logId, db);
  const buildMs = performance.now() - buildStarted;
  if (report.records < n) throw new Error(`indexed ${report.records} of ${n} records`);

  const keystore = Keystore.openReadOnly(layout.subjectsFile, masterKey, logId);
  const q = lcg(7);
  const byActor = (): QueryFilter => {
    const pseudonym = keystore.find(`user-${Math.floor(q() * ACTORS)}`)?.pseudonym;
    if (pseudonym === undefined) throw new Error('an actor is missing from the keystore');
    return { actors: [pseudonym] };
  };
  const byEventDay = (): QueryFilter => {
    const day = START + Math.floor(q() * DAYS) * DAY_MS;
    const event = APP_EVENTS[Math.floor(q() * APP_EVENTS.length)] ?? '';
    return { events: [event], sinceMs: day, untilMs: day + DAY_MS };
  };
  const byText = (): QueryFilter => ({ text: q() < 0.5 ? 'zanzibar' : 'zanzibar student' });
  // A word in about one message in eight: every match is sorted by time.
  const byCommonWord = (): QueryFilter => ({
    text: WORDS[15 + Math.floor(q() * 5)] ?? 'student',
  });
  const figures: Record<string, number> = {};
  let damaged = 0;
  for (const [name, make] of [
    ['actor', byActor],
    ['eventDay', byEventDay],
    ['text', byText],
    ['textCommon', byCommonWord],
  ] as const) {
    const lookup: number[] = [];
    const full: number[] = [];
    let found = 0;
    for (let i = 0; i < RUNS; i++) {
      const filter = make();
      timed(lookup, () => search(db, filter, { limit: LIMIT }));
      await timedAsync(full, async () => {
        const r = await runQuery(layout, logId, db, { filter, limit: LIMIT, catchUp: false });
        found += r.records.length;
        damaged += r.damaged.length;
      });
    }
    lookup.sort((a, b) => a - b);
    full.sort((a, b) => a - b);
    figures[`${name}LookupP50`] = round2(pct(lookup, 0.5));
    figures[`${name}LookupP95`] = round2(pct(lookup, 0.95));
    figures[`${name}P50`] = round2(pct(full, 0.5));
    figures[`${name}P95`] = round2(pct(full, 0.95));
    figures[`${name}Found`] = Math.round(found / RUNS);
  }
  // Proofs (issue 7) in the channel with the most records, at its full size: an inclusion
  // proof of a random record, and the consistency proof from the tree at that record.
  const largest = db.states().reduce((a, b) => (b.indexedSeq > a.indexedSeq ? b : a));
  const inclusion: number[] = [];
  const consistency: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const seq = 1 + Math.floor(q() * largest.indexedSeq);
    timed(inclusion, () => inclusionProofFromIndex(db, largest.channel, seq, largest.indexedSeq));
    timed(consistency, () =>
      consistencyProofFromIndex(db, largest.channel, seq, largest.indexedSeq),
    );
  }
  inclusion.sort((a, b) => a - b);
  consistency.sort((a, b) => a - b);
  figures.proofSize = largest.indexedSeq;
  figures.inclusionP50 = round2(pct(inclusion, 0.5));
  figures.inclusionP95 = round2(pct(inclusion, 0.95));
  figures.consistencyP50 = round2(pct(consistency, 0.5));
  figures.consistencyP95 = round2(pct(consistency, 0.95));
  keystore.close();
  db.close();

  // Without an index: decompress and grep everything, as a user of plain files would.
  let grepMs = 0;
  try {
    const t0 = performance.now();
    execFileSync(
      'sh',
      [
        '-c',
        'find . -name "*.log*" -type f | xargs zcat -f | grep -F zanzibar | tail -n 100 > /dev/null',
      ],
      {
        cwd: dir,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    grepMs = performance.now() - t0;
  } catch {
    // no sh, zcat or grep here: no comparison
  }
  return {
    events: report.records,
    ms: buildMs,
    extra: {
      ...figures,
      writeEventsPerSec: Math.round((n * 1000) / writeMs),
      buildEventsPerSec: Math.round((report.records * 1000) / buildMs),
      zgrepMs: Math.round(grepMs),
      damaged,
    },
  };
}
