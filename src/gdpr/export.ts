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
import { coreOf } from '../log/core.js';
import { RecordReader } from '../query/read.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogLayout, readMeta, readSegmentBook, readSigningKey } from '../store/file/index.js';
import { BundleWriter, createBundleDir } from './bundle.js';
import { Consultations } from './consultations.js';
import { exportFromStore } from './export-db.js';
import {
  completeExport,
  ExportTally,
  newExportId,
  type ExportOptions,
  type ExportReport,
} from './export-finish.js';
import { receiptBuilderFor } from './receipts.js';

export {
  MANIFEST_DOMAIN,
  isBundleFileName,
  verifyBundle,
  type BundleCheck,
  type ExportFormat,
  type ExportManifest,
} from './bundle.js';
export type { ExportOptions, ExportReport } from './export-finish.js';

const PAGE = 5000;

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
  // A database store answers itself: no index, no files (export-db.ts).
  if (logs.people !== undefined) return exportFromStore(logs, logs.people, options);
  const layout = new LogLayout(logs.dir);
  const meta = readMeta(layout);
  const requestId = newExportId();
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
    const tally = new ExportTally(out, only, meta.log_id, consultations);
    await exportRecords({ db, rows, reader }, tally, (n) => options.onProgress?.(n));
    out.close();
    // Reads that returned the person's records among others' (a broad filter): their audit
    // records name whom they returned.
    await consultations.addReads({ db, reader }, pseudonyms);
    return await completeExport({
      logs,
      options,
      requestId,
      root: layout.dir,
      bundle,
      out,
      found: tally.found(),
      consultations,
      knownIds: options.ids.filter((id) => keystore.find(id) !== undefined),
      unknownIds,
      receipts: receiptBuilderFor(logs, layout, db, channelKeys),
      publicKey: meta.public_key,
      privateKey: readSigningKey(layout, meta, masterKey),
    });
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

/**
 * Every record the rows select, page by page, read back and handed to the tally (revealed for
 * the person when it checks out, as stored when it does not).
 */
async function exportRecords(
  from: { db: IndexDb; rows: RowSelection | undefined; reader: RecordReader },
  tally: ExportTally,
  onProgress: (records: number) => void,
): Promise<void> {
  const { db, rows, reader } = from;
  let after: Hit | undefined;
  while (rows !== undefined) {
    const hits = selectHits(db, rows, 'asc', PAGE, after);
    if (hits.length === 0) break;
    after = hits[hits.length - 1];
    for (const r of await reader.read(hits))
      tally.add({ ...r.hit, status: r.status, record: r.record, file: r.file });
    onProgress(tally.count);
  }
}
