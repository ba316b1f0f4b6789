/**
 * Erasure of a person on a database store (PostgreSQL): as on the file store (erase.ts), the
 * request is recorded in `audit` before anything is destroyed, then every key row the person
 * has (all the rows of the keyed lookup of each id) is deleted, in one statement whose cost
 * does not depend on how much was logged about them. Their records stay where they are,
 * anonymous and unreadable, and the chain still verifies. There is no index to clean.
 */
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import type { LogCore } from '../log/core.js';
import { LogLayout } from '../store/file/index.js';
import type { StorePeople } from '../store/store.js';
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
import { listRequestsFromStore, REQUEST_EVENT_TYPES } from './requests.js';

/**
 * No receipt from a database store yet (see export-db.ts): the erasure is done all the same,
 * and its record is in the audit trail that `dihya-logs verify` checks.
 */
const NO_RECEIPT =
  'the PostgreSQL store makes no receipts yet: the gdpr.erasure record is in the audit trail (dihya-logs verify checks it)';

/** eraseSubject() on a database store: see erase.ts for what is done and recorded. */
export async function eraseFromStore(
  logs: LogCore,
  people: StorePeople,
  options: EraseOptions,
): Promise<EraseReport> {
  const now = options.now ?? Date.now();
  const requestId = newErasureId(now);
  // What this instance has written is committed first: no key row of the person is on its way.
  await logs.flush();
  const keys = await people.keysOf(options.ids);
  const known = options.ids.filter((id) => keys.some((k) => k.id === id));
  const pseudonyms = [...new Set(keys.map((k) => k.pseudonym))];
  const duties = await dutiesOf(logs, people, pseudonyms, now);
  const { status, dueAt } = decide(pseudonyms, duties);
  const layout = new LogLayout(logs.dir);
  const ring = logs.keys.channelKeyring();
  const exports =
    pseudonyms.length === 0
      ? []
      : exportsIn(layout, await listRequestsFromStore(people, ring), pseudonyms);
  const plan = { requestId, status, pseudonyms, dueAt, duties, known, exports };
  if (options.dryRun === true || status === 'nothing')
    return eraseReport(plan, options, { keys: 0, indexRows: 0, exports });
  const ack = await recordErasure(logs, options, plan);
  // The keys first: they are what makes every copy of the records unreadable. Then the
  // bundles this instance holds; one that cannot be removed is reported, never a reason to stop.
  const destroyed = status === 'done' ? await logs.keys.destroySubjectKeys(ack, pseudonyms) : 0;
  const removed = exports.filter((dir) => removeExport(layout, dir, logs));
  return eraseReport(
    plan,
    options,
    { keys: destroyed, indexRows: 0, exports: removed },
    { seq: ack.seq, error: NO_RECEIPT },
  );
}

/** eraseDue() on a database store: the register read through the store. */
export async function eraseDueFromStore(
  logs: LogCore,
  people: StorePeople,
  now: number,
): Promise<string[]> {
  const done: string[] = [];
  const ring: ChannelKeyring = logs.keys.channelKeyring();
  for (const r of dueErasures(await listRequestsFromStore(people, ring), now)) {
    const ack = await recordDueErasure(logs, r);
    await logs.keys.destroySubjectKeys(ack, r.pseudonyms);
    done.push(r.requestId);
  }
  return done;
}

/**
 * The channels under a retention duty that hold records of the person younger than the duty
 * (the requests' own events do not count): the erasure waits for the last to end.
 */
async function dutiesOf(
  logs: LogCore,
  people: StorePeople,
  pseudonyms: readonly string[],
  now: number,
): Promise<Duty[]> {
  const duties: Duty[] = [];
  if (pseudonyms.length === 0) return duties;
  for (const [channel, duty] of Object.entries(logs.config.gdpr.retentionDuty)) {
    const cfg = logs.config.channels[channel];
    if (cfg === undefined) continue;
    const held = await people.held(channel, pseudonyms, REQUEST_EVENT_TYPES);
    if (held.records === 0 || held.newestMs === null) continue;
    const until = held.newestMs + cfg.retention.minDays * DAY_MS;
    if (until > now)
      duties.push({
        channel,
        basis: duty.basis,
        records: held.records,
        until: new Date(until).toISOString(),
      });
  }
  return duties;
}
