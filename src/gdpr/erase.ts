import { LogsError } from '../errors.js';
import { RESERVED_EVENT_PREFIX } from '../event/record.js';
import {
  catchUp,
  countSubjectRows,
  deleteSubjectRows,
  subjectRows,
  subjectRowsIn,
  withIndex,
  type IndexDb,
  type KeptRows,
} from '../search/index.js';
import { coreOf, type LogCore } from '../log/core.js';
import { LogLayout } from '../store/file/index.js';
import { eraseDueFromStore, eraseFromStore } from './erase-db.js';
import {
  DAY_MS,
  decide,
  dueErasures,
  eraseReport,
  exportsIn,
  newErasureId,
  recordDueErasure,
  recordErasure,
  removeExport,
  type Duty,
  type EraseOptions,
  type EraseReport,
} from './erase-shared.js';
import { erasureReceipt } from './receipts.js';
import { listRequests } from './requests.js';
import type { ChannelKeyring } from '../crypto/body-cipher.js';

export { EXPORT_DIR_NAME, type Duty, type EraseOptions, type EraseReport } from './erase-shared.js';

/** The GDPR request events: their rows stay, they are the register and hold no personal value. */
const REQUEST_EVENTS = `${RESERVED_EVENT_PREFIX}*`;

/**
 * GDPR erasure (Art. 17) by crypto-shredding: the person's key and pseudonym mapping are
 * destroyed, so every record about them, in every file, archive and backup, becomes anonymous
 * and unreadable while the chain still verifies. The cost does not depend on how much was
 * logged. Earlier export bundles of the person are deleted and their rows leave the index.
 *
 * When a channel under a retention duty (`gdpr.retention_duty`) holds records of the person
 * that are younger than its minimum retention, the key must live until the duty ends: the
 * erasure is scheduled for then (`eraseDue`), and what can go now goes now.
 */
export async function eraseSubject(options: EraseOptions): Promise<EraseReport> {
  const logs = coreOf(options.logs);
  if (options.ids.length === 0) throw new LogsError('USAGE', 'erase: give at least one --subject');
  if (options.reason.trim() === '') throw new LogsError('USAGE', 'erase: give a --reason');
  // A database store answers itself: no index, no files (erase-db.ts).
  if (logs.people !== undefined) return eraseFromStore(logs, logs.people, options);
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun === true;
  const layout = new LogLayout(logs.dir);
  const requestId = newErasureId(now);
  const found = options.ids.flatMap((id) => {
    const pseudonym = logs.keys.pseudonymOf(id);
    return pseudonym === undefined ? [] : [{ id, pseudonym }];
  });
  const known = found.map((f) => f.id);
  const pseudonyms = [...new Set(found.map((f) => f.pseudonym))];
  return withIndex(layout, logs.logId, async (db) => {
    await catchUp(layout, logs.logId, db, { channelKeys: logs.keys.channelKeyring() });
    const rows = subjectRows(db, pseudonyms, logs.config.classification.personTypes);
    const duties: Duty[] = [];
    for (const [channel, duty] of Object.entries(logs.config.gdpr.retentionDuty)) {
      const cfg = logs.config.channels[channel];
      if (cfg === undefined || rows === undefined) continue;
      // The requests' own events do not hold an erasure back.
      const held = subjectRowsIn(db, rows, channel, REQUEST_EVENTS);
      if (held === undefined || held.records === 0 || held.newestMs === null) continue;
      const until = held.newestMs + cfg.retention.minDays * DAY_MS;
      if (until > now)
        duties.push({
          channel,
          basis: duty.basis,
          records: held.records,
          until: new Date(until).toISOString(),
        });
    }
    const { status, dueAt } = decide(pseudonyms, duties);
    const exports = await exportsOf(layout, logs.logId, db, pseudonyms, logs.keys.channelKeyring());
    const plan = { requestId, status, pseudonyms, dueAt, duties, known, exports };
    if (dryRun || status === 'nothing') {
      const indexRows = countSubjectRows(db, rows, kept(status === 'done' ? [] : duties));
      return eraseReport(plan, options, { keys: 0, indexRows, exports });
    }
    const ack = await recordErasure(logs, options, plan);
    // The key first: it is what makes every copy of the records unreadable. Then the index and
    // the bundles; a bundle that cannot be removed is reported, never a reason to stop.
    const keys = status === 'done' ? await logs.keys.destroySubjectKeys(ack, pseudonyms) : 0;
    const indexRows = deleteSubjectRows(db, rows, kept(status === 'done' ? [] : duties));
    const removed = exports.filter((dir) => removeExport(layout, dir, logs));
    // Last: the receipt proves the record, not the person's data, so it needs no key, and
    // nothing it could fail on holds the erasure back.
    const proof = await erasureReceipt(logs, layout, db, ack.seq);
    return eraseReport(
      plan,
      options,
      { keys, indexRows, exports: removed },
      { seq: ack.seq, ...proof },
    );
  });
}

/** Carry out scheduled erasures whose duties have ended. Returns the request ids done. */
export async function eraseDue(logs: LogCore, now: number = Date.now()): Promise<string[]> {
  if (logs.people !== undefined) return eraseDueFromStore(logs, logs.people, now);
  const layout = new LogLayout(logs.dir);
  return withIndex(layout, logs.logId, async (db) => {
    const done: string[] = [];
    const requests = await listRequests(
      layout,
      logs.logId,
      db,
      undefined,
      logs.keys.channelKeyring(),
    );
    for (const r of dueErasures(requests, now)) {
      const ack = await recordDueErasure(logs, r);
      const rows = subjectRows(db, r.pseudonyms, logs.config.classification.personTypes);
      deleteSubjectRows(db, rows, kept([]));
      await logs.keys.destroySubjectKeys(ack, r.pseudonyms);
      done.push(r.requestId);
    }
    return done;
  });
}

/** Export bundles of these people, from the register (directories that still exist). */
async function exportsOf(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  pseudonyms: readonly string[],
  channelKeys: ChannelKeyring,
): Promise<string[]> {
  if (pseudonyms.length === 0) return [];
  const requests = await listRequests(layout, logId, db, undefined, channelKeys);
  return exportsIn(layout, requests, pseudonyms);
}

/** What an erasure leaves of the person's rows: the register, and the channels under a duty. */
function kept(duties: readonly Duty[]): KeptRows {
  return { events: REQUEST_EVENTS, channels: duties.map((d) => d.channel) };
}
