import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Keystore } from '../crypto/keystore.js';
import { LogsError } from '../errors.js';
import {
  catchUp,
  IndexDb,
  selectHits,
  subjectRows,
  type Hit,
  type RowSelection,
} from '../search/index.js';
import { coreOf, type LogCore } from '../log/core.js';
import type { Logs } from '../log/logs.js';
import { RecordReader } from '../query/read.js';
import { reveal } from '../pipeline/reveal.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogLayout, readMeta, readSegmentBook, readSigningKey } from '../store/file/index.js';
import { fsyncDir } from '../util/fs.js';
import { BundleWriter, createBundleDir, signedManifest, type ExportFormat } from './bundle.js';
import { Consultations } from './consultations.js';
import { RECEIPTS_INDEX, receiptBuilderFor, writeExportReceipts } from './receipts.js';
import { exportSummary, summaryText, type ExportCounts } from './summary.js';

export {
  MANIFEST_DOMAIN,
  isBundleFileName,
  verifyBundle,
  type BundleCheck,
  type ExportFormat,
  type ExportManifest,
} from './bundle.js';

export interface ExportOptions {
  /** The open logs: the export is recorded through them as an `audit` event. */
  readonly logs: Logs | LogCore;
  readonly masterKey: Buffer;
  /** The person's ids (a user id, an e-mail...): one person, known under each of them. */
  readonly ids: readonly string[];
  /** `csv` adds records.csv beside records.json. */
  readonly format?: ExportFormat;
  /** Why (recorded in the audit event; classified like any event). */
  readonly reason?: string;
  /** Who asked for it (the audit event's actor). */
  readonly requestedBy: string;
  readonly onProgress?: (records: number) => void;
}

export interface ExportReport {
  /** Generated, never taken from input. */
  readonly requestId: string;
  /** The bundle's directory, relative to the logs directory. */
  readonly dir: string;
  readonly records: number;
  readonly perChannel: Readonly<Record<string, number>>;
  /** Ids the keystore does not know (never logged, or erased). */
  readonly unknownIds: number;
  /** Records that failed their hash check when read back (exported as stored, listed). */
  readonly damaged: number;
  /**
   * Receipts in receipts/ (docs/gdpr.md): records proven, and records listed in receipts.json
   * as unproven with the reason.
   */
  readonly receipts: { readonly proven: number; readonly unproven: number };
  /** The bundle's files; the receipts are counted, not listed. */
  readonly files: readonly string[];
}

const PAGE = 5000;
const CONSULTATION_EVENTS = /^(?:gdpr\.|log\.read)/;

/**
 * A GDPR access / portability export (Art. 15, 20): every record of one person across every
 * channel, active and archived, found through the index and read back from the segments, with
 * that person's values decrypted and everyone else's left as placeholders, written to
 * `export/<request-id>/` with a summary, the list of who consulted their data, and a signed
 * manifest. The request is an `audit` event (request id, counts; never the personal data).
 */
export async function exportSubject(options: ExportOptions): Promise<ExportReport> {
  const { masterKey } = options;
  const logs = coreOf(options.logs);
  if (options.ids.length === 0) throw new LogsError('USAGE', 'export: give at least one --subject');
  const layout = new LogLayout(logs.dir);
  const meta = readMeta(layout);
  const requestId = `exp-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(8).toString('hex')}`;
  const keystore = Keystore.openReadOnly(layout.subjectsFile, masterKey, meta.log_id);
  const db = IndexDb.open(layout, meta.log_id);
  const bundle = createBundleDir(layout, requestId);
  try {
    const { pseudonyms, only, unknownIds } = personKeys(keystore, options.ids);
    // Encrypted channels are opened (and indexed) with their keys: their records are the
    // person's too. The flush signs a checkpoint of what is written, so every record found
    // can have its receipt.
    const channelKeys = keystore.channelKeyring();
    await logs.flush();
    await catchUp(layout, meta.log_id, db, { channelKeys });
    const reader = new RecordReader(
      layout,
      meta.log_id,
      readSegmentBook(layout, meta.log_id),
      channelKeys,
    );
    const rows = subjectRows(db, pseudonyms, logs.config.classification.personTypes);
    const out = new BundleWriter(bundle.dir, options.format ?? 'json');
    const consultations = new Consultations(keystore);
    const found = await exportRecords(
      { db, rows, reader, logId: meta.log_id },
      out,
      only,
      consultations,
      (n) => options.onProgress?.(n),
    );
    out.close();
    // Reads that returned the person's records among others' (a broad filter): their audit
    // records name whom they returned.
    await consultations.addReads({ db, reader }, pseudonyms);
    const consulted = consultations.list();
    const summary = exportSummary(
      requestId,
      options.ids.filter((id) => keystore.find(id) !== undefined),
      { ...found, consulted },
      logs.config.channels,
    );
    bundle.write('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
    bundle.write('summary.txt', summaryText(summary));
    bundle.write('consulted.json', `${JSON.stringify(consulted, null, 2)}\n`);
    const receipts = await writeExportReceipts(
      receiptBuilderFor(logs, layout, db, channelKeys),
      bundle.dir,
      found.exported,
    );
    const files = [...out.files, 'summary.json', 'summary.txt', 'consulted.json'];
    const manifest = signedManifest(
      bundle.dir,
      [...files, ...receipts.files],
      requestId,
      meta.log_id,
      meta.public_key,
      readSigningKey(layout, meta, masterKey),
    );
    bundle.write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDir(bundle.dir);
    const report: ExportReport = {
      requestId,
      dir: path.relative(layout.dir, bundle.dir),
      records: found.records,
      perChannel: found.perChannel,
      unknownIds,
      damaged: found.damaged,
      receipts: { proven: receipts.proven, unproven: receipts.unproven },
      files: [...files, RECEIPTS_INDEX, 'manifest.json'],
    };
    await recordExport(logs, options, requestId, found);
    return report;
  } finally {
    db.close();
    keystore.close();
  }
}

/**
 * The person's pseudonyms and keys, from each id the keystore knows: nothing else is
 * decryptable in this export.
 */
function personKeys(
  keystore: Keystore,
  ids: readonly string[],
): { pseudonyms: string[]; only: SubjectLookup; unknownIds: number } {
  const mine = new Map<string, { id: string; key: Buffer }>();
  let unknownIds = 0;
  for (const id of ids) {
    const entry = keystore.find(id);
    if (entry === undefined) unknownIds += 1;
    else mine.set(entry.pseudonym, { id, key: entry.key });
  }
  const only: SubjectLookup = {
    keyOf: (p) => mine.get(p)?.key,
    idOf: (p) => mine.get(p)?.id,
  };
  return { pseudonyms: [...mine.keys()], only, unknownIds };
}

/** The records exported and counted (consultations are gathered beside them). */
interface Found extends Omit<ExportCounts, 'consulted'> {
  readonly exported: Array<{ channel: string; seq: number }>;
}

/**
 * Every record the rows select, page by page, read back and written to the bundle: with the
 * person's values revealed when it checks out, as stored when it does not (counted as damaged).
 */
async function exportRecords(
  from: { db: IndexDb; rows: RowSelection | undefined; reader: RecordReader; logId: string },
  out: BundleWriter,
  only: SubjectLookup,
  consultations: Consultations,
  onProgress: (records: number) => void,
): Promise<Found> {
  const { db, rows, reader, logId } = from;
  const perChannel: Record<string, number> = {};
  const perEvent: Record<string, number> = {};
  const exported: Array<{ channel: string; seq: number }> = [];
  let records = 0;
  let damaged = 0;
  let first: string | undefined;
  let last: string | undefined;
  let after: Hit | undefined;
  while (rows !== undefined) {
    const hits = selectHits(db, rows, 'asc', PAGE, after);
    if (hits.length === 0) break;
    after = hits[hits.length - 1];
    for (const r of await reader.read(hits)) {
      if (r.record === undefined) {
        damaged += 1;
        continue;
      }
      const ok = r.status === 'ok' || r.status === 'unverified';
      if (!ok) damaged += 1;
      const record = ok ? reveal(r.record, only, logId).record : r.record;
      out.add({ channel: r.hit.channel, seq: r.hit.seq, status: r.status, record, file: r.file });
      exported.push({ channel: r.hit.channel, seq: r.hit.seq });
      records += 1;
      perChannel[r.hit.channel] = (perChannel[r.hit.channel] ?? 0) + 1;
      const event = typeof record.event === 'string' ? record.event : '?';
      perEvent[event] = (perEvent[event] ?? 0) + 1;
      const ts = typeof record.ts === 'string' ? record.ts : undefined;
      first ??= ts;
      last = ts ?? last;
      if (r.hit.channel === 'audit' && CONSULTATION_EVENTS.test(event))
        consultations.addOwn(r.hit.seq, record);
    }
    onProgress(records);
  }
  return { records, damaged, first, last, perChannel, perEvent, exported };
}

/** The request, as an `audit` event: its id and counts, never the personal data. */
async function recordExport(
  logs: LogCore,
  options: ExportOptions,
  requestId: string,
  found: Found,
): Promise<void> {
  await logs.recorders.recordRequest({
    event: 'gdpr.export',
    actor: options.requestedBy,
    ...(options.ids[0] === undefined ? {} : { subject: options.ids[0] }),
    outcome: 'success',
    msg: `GDPR export ${requestId}: ${found.records} record(s)`,
    data: {
      request_id: requestId,
      kind: 'export',
      records: found.records,
      channels: found.perChannel,
      format: options.format ?? 'json',
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    },
  });
}
