import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openLogCore } from '../../src/log/open.js';
import { eraseSubject } from '../../src/gdpr/erase.js';
import { exportSubject } from '../../src/gdpr/export.js';
import { IndexDb } from '../../src/search/index-db.js';
import { catchUp } from '../../src/search/indexer.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { writeVariedLog } from '../gen-log.js';
import { round2, type Measured, type WorkerTask } from '../result.js';

const SMALL = 10_000;
const PEOPLE = 5;

/**
 * GDPR requests at two sizes of log: 10,000 events and `task.events` (1 million by default),
 * written as in the index scenario (10,000 actors) and indexed first. At each size, for 5 people
 * one after the other: the time of an export (everything of the person, read back, decrypted,
 * written and signed) and of an erasure (key destroyed, keystore compacted, index rows and
 * export bundles removed). Retention duties are off here, so each erasure is carried out now.
 * The channels are rotated first (the log's clock was 30 days behind): no seal runs meanwhile.
 * The erasure time must not grow with the size of the log.
 */
export async function gdprScenario(task: WorkerTask): Promise<Measured> {
  const figures: Record<string, number> = {};
  let records = 0;
  let ms = 0;
  for (const [label, n] of [
    ['small', SMALL],
    ['large', task.events],
  ] as const) {
    const dir = path.join(task.dir, label, 'logs');
    const masterKey = randomBytes(32);
    const { logId } = await writeVariedLog(dir, masterKey, n);
    const layout = new LogLayout(dir);
    const db = IndexDb.open(layout, logId);
    await catchUp(layout, logId, db);
    db.close();
    const logs = await openLogCore({
      dir,
      masterKey,
      handleExit: false,
      settings: {
        index: { live: false },
        gdpr: { retention_duty: { audit: null, security: null } },
      },
    });
    // The log was written over 30 days in the past: the first event now would rotate and seal
    // every channel in the background, during the timed requests. Do it before.
    await logs.lifecycle.rotate();
    const exportMs: number[] = [];
    const eraseMs: number[] = [];
    let exported = 0;
    try {
      for (let k = 0; k < PEOPLE; k++) {
        const id = `user-${1000 + k * 7}`;
        let t0 = performance.now();
        const report = await exportSubject({ logs, masterKey, ids: [id], requestedBy: 'bench' });
        exportMs.push(performance.now() - t0);
        exported += report.records;
        t0 = performance.now();
        const erased = await eraseSubject({
          logs,
          ids: [id],
          reason: 'bench',
          requestedBy: 'bench',
        });
        eraseMs.push(performance.now() - t0);
        if (erased.status !== 'done' || erased.now.keys !== 1)
          throw new Error(`erasure of ${id}: ${erased.status}`);
      }
    } finally {
      await logs.close();
    }
    exportMs.sort((a, b) => a - b);
    eraseMs.sort((a, b) => a - b);
    figures[`${label}Events`] = n;
    figures[`${label}ExportMs`] = round2(exportMs[Math.floor(PEOPLE / 2)] ?? 0);
    figures[`${label}EraseMs`] = round2(eraseMs[Math.floor(PEOPLE / 2)] ?? 0);
    figures[`${label}RecordsPerPerson`] = Math.round(exported / PEOPLE);
    if (label === 'large') {
      records = n;
      ms = exportMs[Math.floor(PEOPLE / 2)] ?? 0;
    }
  }
  figures.eraseGrowth =
    Math.round(((figures.largeEraseMs ?? 0) / Math.max(0.01, figures.smallEraseMs ?? 0)) * 100) /
    100;
  return { events: records, ms, extra: figures };
}
