import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
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
import type { Logs } from '../log/logs.js';
import { LogLayout } from '../store/file/index.js';
import { erasureReceipt } from './receipts.js';
import { listRequests } from './requests.js';
import type { ChannelKeyring } from '../crypto/body-cipher.js';

const DAY_MS = 86_400_000;
export const EXPORT_DIR_NAME = /^exp-\d{8}-[\da-f]{16}$/;
/** The GDPR request events: their rows stay, they are the register and hold no personal value. */
const REQUEST_EVENTS = `${RESERVED_EVENT_PREFIX}*`;

export interface EraseOptions {
  /** The open logs: the request is recorded through them, and they hold the keystore. */
  readonly logs: Logs | LogCore;
  /** The person's ids (one person, known under each). */
  readonly ids: readonly string[];
  readonly reason: string;
  readonly requestedBy: string;
  /** Say what would happen; change nothing. */
  readonly dryRun?: boolean;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now?: number;
}

/** A channel that keeps the person's data for now, and why. */
export interface Duty {
  readonly channel: string;
  readonly basis: string;
  readonly records: number;
  /** When its newest record of the person reaches the channel's minimum retention. */
  readonly until: string;
}

export interface EraseReport {
  readonly requestId: string;
  /** done: erased now; scheduled: erased when the duties end; nothing: nobody to erase. */
  readonly status: 'done' | 'scheduled' | 'nothing';
  readonly dryRun: boolean;
  /** For `scheduled`: when the key is destroyed. */
  readonly dueAt: string | undefined;
  readonly duties: readonly Duty[];
  /** What was done now. */
  readonly now: {
    readonly keys: number;
    readonly indexRows: number;
    readonly exports: readonly string[];
  };
  /** Ids given that the keystore does not know (never logged, or already erased). */
  readonly unknownIds: number;
  /** The `gdpr.erasure` record written (none for a dry run or nobody to erase). */
  readonly recorded: { readonly channel: 'audit'; readonly seq: number } | undefined;
  /**
   * The receipt of that record (c2sp.org/tlog-proof text, docs/receipts.md): it proves with the
   * log's public key alone that the request is in the audit trail. Never holds personal data.
   */
  readonly receipt: string | undefined;
  /** Why there is no receipt although the record was written (the erasure is done all the same). */
  readonly receiptError: string | undefined;
}

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
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun === true;
  const layout = new LogLayout(logs.dir);
  const requestId = `era-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(8).toString('hex')}`;
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
    const status: EraseReport['status'] =
      pseudonyms.length === 0 ? 'nothing' : duties.length > 0 ? 'scheduled' : 'done';
    const dueAt =
      status === 'scheduled'
        ? new Date(Math.max(...duties.map((d) => Date.parse(d.until)))).toISOString()
        : undefined;
    const exports = await exportsOf(layout, logs.logId, db, pseudonyms, logs.keys.channelKeyring());
    const report = (
      keys: number,
      indexRows: number,
      deleted: string[],
      proof?: { seq: number; receipt?: string; error?: string },
    ): EraseReport => ({
      requestId,
      status,
      dryRun,
      dueAt,
      duties,
      now: { keys, indexRows, exports: deleted },
      unknownIds: options.ids.length - known.length,
      recorded: proof === undefined ? undefined : { channel: 'audit', seq: proof.seq },
      receipt: proof?.receipt,
      receiptError: proof?.error,
    });
    if (dryRun || status === 'nothing')
      return report(0, countSubjectRows(db, rows, kept(status === 'done' ? [] : duties)), exports);

    // The request is recorded before anything is destroyed: its subject still resolves to the
    // person's pseudonym (after, it would make a new one), and no erasure goes unrecorded.
    const first = known[0];
    const ack = await logs.recorders.recordRequest({
      event: 'gdpr.erasure',
      actor: options.requestedBy,
      ...(first === undefined ? {} : { subject: first }),
      outcome: 'success',
      msg: `GDPR erasure ${requestId}: ${status}`,
      data: {
        request_id: requestId,
        kind: 'erasure',
        status,
        reason: options.reason,
        pseudonyms,
        ...(dueAt === undefined ? {} : { due_at: dueAt }),
        duties: duties.map((d) => ({
          channel: d.channel,
          basis: d.basis,
          until: d.until,
          records: d.records,
        })),
        exports_deleted: exports.length,
      },
    });
    // The key first: it is what makes every copy of the records unreadable. Then the index and
    // the bundles; a bundle that cannot be removed is reported, never a reason to stop.
    const keys = status === 'done' ? logs.keys.destroySubjectKeys(ack, pseudonyms) : 0;
    const indexRows = deleteSubjectRows(db, rows, kept(status === 'done' ? [] : duties));
    const removed = exports.filter((dir) => removeExport(layout, dir, logs));
    // Last: the receipt proves the record, not the person's data, so it needs no key, and
    // nothing it could fail on holds the erasure back.
    const proof = await erasureReceipt(logs, layout, db, ack.seq);
    return report(keys, indexRows, removed, { seq: ack.seq, ...proof });
  });
}

/** Carry out scheduled erasures whose duties have ended. Returns the request ids done. */
export async function eraseDue(logs: LogCore, now: number = Date.now()): Promise<string[]> {
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
    for (const r of requests) {
      if (r.kind !== 'erasure' || r.status !== 'scheduled' || r.dueAt === undefined) continue;
      if (Date.parse(r.dueAt) > now) continue;
      const ack = await logs.recorders.recordRequest({
        event: 'gdpr.erasure',
        actor: 'dihya-logs',
        outcome: 'success',
        msg: `GDPR erasure ${r.requestId}: done (retention duty ended)`,
        data: {
          request_id: r.requestId,
          kind: 'erasure',
          status: 'done',
          pseudonyms: [...r.pseudonyms],
        },
      });
      const rows = subjectRows(db, r.pseudonyms, logs.config.classification.personTypes);
      deleteSubjectRows(db, rows, kept([]));
      logs.keys.destroySubjectKeys(ack, r.pseudonyms);
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
  return requests
    .filter((r) => r.kind === 'export' && r.pseudonyms.some((p) => pseudonyms.includes(p)))
    .map((r) => r.requestId)
    .filter((id) => EXPORT_DIR_NAME.test(id) && existsSync(path.join(layout.exportDir, id)));
}

/** Delete an export bundle, only ever a directory directly under export/. */
function removeExport(layout: LogLayout, requestId: string, logs: LogCore): boolean {
  if (!EXPORT_DIR_NAME.test(requestId)) return false;
  try {
    const root = realpathSync(layout.exportDir);
    const dir = realpathSync(path.join(root, requestId));
    if (path.dirname(dir) !== root)
      throw new LogsError('IO_ERROR', `export/${requestId} leads outside the export directory`);
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch (err) {
    logs.reportError(
      new LogsError('IO_ERROR', `erasure: export/${requestId} was not removed; remove it by hand`, {
        cause: err,
      }),
    );
    return false;
  }
}

/** What an erasure leaves of the person's rows: the register, and the channels under a duty. */
function kept(duties: readonly Duty[]): KeptRows {
  return { events: REQUEST_EVENTS, channels: duties.map((d) => d.channel) };
}
